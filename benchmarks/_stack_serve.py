"""Serve one of stack_bench.py's apps on a real server: ``python -m benchmarks._stack_serve FRAMEWORK VARIANT PORT``.

FastAPI: uvicorn, one worker, uvloop and httptools. Flask: gunicorn, one worker of 4 threads (gthread).
The Redis URL comes from ``STACK_BENCH_REDIS_URL``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

HOST = "127.0.0.1"


def peers_log_config() -> dict[str, Any]:
    """uvicorn's access log as the peers have it: JSON (python-json-logger) with the correlation id, to a sink."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation_id": {"()": "asgi_correlation_id.CorrelationIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(correlation_id)s %(message)s",
            }
        },
        "handlers": {
            "sink": {
                "class": "logging.FileHandler",
                "filename": os.devnull,
                "formatter": "json",
                "filters": ["correlation_id"],
            }
        },
        "loggers": {
            "uvicorn.access": {"handlers": ["sink"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["sink"], "level": "WARNING", "propagate": False},
        },
    }


def serve_fastapi(variant: str, port: int) -> None:
    import uvicorn

    app = getattr(importlib.import_module("benchmarks._stack_fastapi"), f"{variant}_app")()
    peers = variant == "peers"
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=peers,  # backendkit writes its own access line
        log_config=peers_log_config() if peers else None,
        log_level="info" if peers else "warning",
        lifespan="off",
    )


def serve_wsgi(framework: str, variant: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{HOST}:{port}",
                "workers": 1,
                "threads": 4,
                "worker_class": "gthread",
                "loglevel": "warning",
                "accesslog": None,
                "keepalive": 30,
            }
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return getattr(importlib.import_module(f"benchmarks._stack_{framework}"), f"{variant}_app")()

    Server().run()


def main() -> None:
    framework, variant, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if framework == "fastapi":
        serve_fastapi(variant, port)
    else:
        serve_wsgi(framework, variant, port)


if __name__ == "__main__":
    main()
