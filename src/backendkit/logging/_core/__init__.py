"""The pure core of the JSON logs: redaction of keys and of secrets inside text, field
profiles, the access line and the encoders.

Pure: no I/O, no framework, no driver, no clock read (``now`` is an argument). Everything in
this folder is under the pure-core import contract (``backendkit.*._core`` in pyproject.toml).
"""
