"""``python -m examples.django_app --port 8000``: the example under uvicorn (ASGI)."""

from __future__ import annotations

import uvicorn

from examples._serve import parse_args

args = parse_args(__doc__ or "")
# Logging is set up by Django from settings.LOGGING; uvicorn's config would replace it. backendkit
# decides who the client is (TRUSTED_PROXIES): uvicorn's own X-Forwarded-For handling is off.
uvicorn.run(
    "examples.django_app.asgi:application",
    host=args.host,
    port=args.port,
    log_config=None,
    access_log=False,
    proxy_headers=False,
)
