"""The settings an ASGI application composes itself, refused by ``install()`` and ``ErrorMiddleware``.

On Flask and Django a setting turns a piece on for every request; on an ASGI
application the pieces are middleware and dependencies the app places itself, in
the order it chooses (CORS outside a 429, authentication before the keys that
depend on the user). A setting read nowhere would protect nothing, so each is
refused when the app is built, with the line to write instead.
"""

from __future__ import annotations

from backendkit._settings import Settings
from backendkit.errors import ConfigurationError

COMPOSED = {
    "rate_limits": (
        "app.add_middleware(RateLimitMiddleware, limits=...) (from backendkit.asgi.ratelimit, or "
        "backendkit.fastapi.ratelimit), or limit routes with Depends(limit(...)) on FastAPI"
    ),
    "auth": (
        "on Starlette Middleware(AuthenticationMiddleware, backend=JWTBackend(verifier)) with "
        "backendkit.starlette.auth.require; on FastAPI Depends(Auth(verifier).require()) (backendkit.fastapi.auth)"
    ),
    "idempotency": (
        "on Starlette app.add_middleware(IdempotencyMiddleware, idempotency=...) (backendkit.asgi.idempotency); "
        "on FastAPI IdempotentRoutes(app, idempotency) and dependencies=[keys.depends()] "
        "(backendkit.fastapi.idempotency)"
    ),
}
"""The settings an ASGI app composes itself, and what to write instead."""


def refuse_composed(settings: Settings) -> None:
    """Raise :class:`ConfigurationError` for the first setting of :data:`COMPOSED` that is set."""
    for name, instead in COMPOSED.items():
        if getattr(settings, name) is not None:
            raise ConfigurationError(
                f"{name} is a setting of the Flask and Django adapters; an ASGI app adds the piece itself, "
                f"where it belongs in its middleware: {instead}"
            )
