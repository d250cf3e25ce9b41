"""The commands that serve the examples, as the README and docs/logging.md give them."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.net import Reply, request

PY = sys.executable
APPS = {
    "fastapi": "examples.fastapi_app:app",
    "flask": "examples.flask_app:app",
    "django-wsgi": "examples.django_app.wsgi:application",
    "django-asgi": "examples.django_app.asgi:application",
}


# uvicorn's gunicorn worker, as uvicorn ships it (deprecated there, in favour of the
# uvicorn-worker package's uvicorn_worker.UvicornWorker, which sets up logging the same way).
UVICORN_WORKER = "uvicorn.workers.UvicornWorker"


def python_m(module: str, port: int) -> list[str]:
    """``python -m examples.<app> --port N``: the README's first command."""
    return [PY, "-m", module, "--port", str(port)]


def gunicorn(app: str, port: int, *, worker: str | None = None) -> list[str]:
    """``gunicorn -c examples/gunicorn_conf.py -w 2 [-k worker] app``."""
    args = [PY, "-m", "gunicorn", "-c", "examples/gunicorn_conf.py", "-w", "2", "-b", f"127.0.0.1:{port}"]
    return [*args, *(["-k", worker] if worker else []), app]


def uvicorn_workers(app: str, port: int) -> list[str]:
    """``uvicorn app --workers 2 --log-config examples/uvicorn_log.json``."""
    return [
        PY,
        "-m",
        "uvicorn",
        app,
        "--workers",
        "2",
        "--port",
        str(port),
        "--log-config",
        "examples/uvicorn_log.json",
    ]


def example_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ``BACKENDKIT_EXAMPLE_*`` setting, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKENDKIT_EXAMPLE_")}
    return {**env, **settings}


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; an assertion names the first line that is not one."""
    parsed = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            item = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}\n{text}") from None
        assert isinstance(item, dict), (number, line)
        assert {"timestamp", "level", "logger", "message"} <= set(item), (number, line)
        parsed.append(item)
    return parsed


def at_once(count: int, send: Callable[[], Reply], *, clients: int = 4) -> list[Reply]:
    """``count`` requests from ``clients`` concurrent clients, each on a connection of its own."""
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Callable[[], Reply]:
    return lambda: request(port, "GET", path, headers=headers)


# Two workers sharing one redis-server: server -> (its command for the served app, the example, how it calls it)
MULTI_WORKER: dict[str, tuple[Callable[[str, int], list[str]], str, str]] = {
    "flask-gunicorn": (gunicorn, APPS["flask"], "wsgi"),
    "django-gunicorn": (gunicorn, APPS["django-wsgi"], "wsgi"),
    "fastapi-uvicorn-workers": (uvicorn_workers, APPS["fastapi"], "asgi"),
    "django-uvicorn-workers": (uvicorn_workers, APPS["django-asgi"], "asgi"),
}
