"""Serve one of stack_bench.py's apps on a real server: ``python -m benchmarks._stack_serve FRAMEWORK VARIANT PORT``.

FastAPI: uvicorn, one worker, uvloop and httptools. Flask: gunicorn, one worker of 4 threads (gthread).
The Redis URL comes from ``STACK_BENCH_REDIS_URL``. With ``STACK_BENCH_GC_FREEZE=1`` the objects made while the
app was built are moved out of the collector's reach (``gc.freeze()``), in both variants alike.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import sys
import time
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


class Collections:
    """The collector's runs in this process, by generation, and the longest: what ``STACK_BENCH_GC`` reports."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.longest_ms = [0.0, 0.0, 0.0]
        self.collected = 0
        self._started = 0.0

    def reset(self) -> None:
        """Forget the runs so far (those of the imports and of building the app: the report is of serving)."""
        self.startup = {"runs": self.runs, "collected": self.collected}
        self.runs, self.longest_ms, self.collected = [0, 0, 0], [0.0, 0.0, 0.0], 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.runs[generation] += 1
        self.collected += info["collected"]
        took = (time.perf_counter() - self._started) * 1000
        self.longest_ms[generation] = max(self.longest_ms[generation], took)

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            report = {"runs": self.runs, "longest_ms": self.longest_ms, "collected": self.collected}
            json.dump({**report, "startup": getattr(self, "startup", None)}, out)


def built(framework: str, variant: str) -> Any:
    """The variant's app; with ``STACK_BENCH_GC_FREEZE=1``, what building it made is frozen (``gc.freeze()``)."""
    app = getattr(importlib.import_module(f"benchmarks._stack_{framework}"), f"{variant}_app")()
    if os.environ.get("STACK_BENCH_GC_FREEZE") == "1":
        gc.collect()
        gc.freeze()
    return app


def serve_fastapi(variant: str, port: int) -> None:
    import uvicorn

    app = built("fastapi", variant)
    peers = variant == "peers"
    for hook in gc.callbacks:
        if isinstance(hook, Collections):
            hook.reset()
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
            return built(framework, variant)

    Server().run()


def main() -> None:
    framework, variant, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    report = os.environ.get("STACK_BENCH_GC")  # a file: the collector's runs are written there at the end
    if report and framework == "fastapi":  # (gunicorn's worker is another process)
        collections = Collections()
        gc.callbacks.append(collections)
        atexit.register(collections.write, report)
    if framework == "fastapi":
        serve_fastapi(variant, port)
    else:
        serve_wsgi(framework, variant, port)


if __name__ == "__main__":
    main()
