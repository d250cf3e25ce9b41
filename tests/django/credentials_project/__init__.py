"""A small Django project with the admin and ``backendkit.django.credentials``, run in processes of its own.

The test session's own settings model a project without ``django.contrib.auth``; this one
has the admin and everything it needs, as a project that uses the credentials admin has.
"""
