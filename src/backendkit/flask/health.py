"""Health probes for Flask: a blueprint, served synchronously (no event loop per request).

Example:
    >>> from flask import Flask
    >>> from backendkit.flask import BackendKit
    >>> from backendkit.flask.health import health_routes
    >>> from backendkit.health import Health
    >>> app = Flask(__name__)
    >>> extension = BackendKit(app)
    >>> app.register_blueprint(health_routes(Health()))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, Response, request

from backendkit._deprecation import renamed
from backendkit.health import Health
from backendkit.health._mounted import mounted_probe_paths


def _view(health: Health, probe: str) -> Callable[[], Response]:
    def probe_view() -> Response:
        status, headers, body = health.response(health.report(probe), request.query_string.decode("latin-1"))
        return Response(body, status=status, headers=list(headers))

    probe_view.__name__ = f"{probe}_probe"
    return probe_view


def health_routes(
    health: Health, *, paths: Mapping[str, str | None] | None = None, name: str = "backendkit_health"
) -> Blueprint:
    """``/livez``, ``/readyz``, ``/startupz`` and ``/healthz`` (or ``paths``) as a blueprint to register.

    The same verb as ``health_routes`` on FastAPI, Starlette and Django, in Flask's own unit.
    """
    blueprint = Blueprint(name, __name__)
    for probe, path in mounted_probe_paths(paths).items():
        blueprint.add_url_rule(path, endpoint=probe, view_func=_view(health, probe), methods=["GET"])
    return blueprint


__all__ = ["health_routes"]
__getattr__ = renamed(__name__, {"health_blueprint": ("health_routes", health_routes)})
