"""``python -m examples.django_app --port 8000``: the example under uvicorn (ASGI)."""

from __future__ import annotations

import uvicorn

from backendkit.logging import uvicorn_log_config
from examples._serve import parse_args

args = parse_args(__doc__ or "")
# uvicorn's lines as JSON from the first one, its access log off (backendkit writes one line per request);
# once the app is loaded, Django applies settings.LOGGING, with the same formatter. backendkit decides who
# the client is (TRUSTED_PROXIES): uvicorn's own X-Forwarded-For handling is off.
app = "examples.django_app.asgi:application"
uvicorn.run(app, host=args.host, port=args.port, log_config=uvicorn_log_config("INFO"), proxy_headers=False)
