"""The tasks API on Django: ``python -m examples.django_app --port 8000`` (served by uvicorn, ASGI)."""
