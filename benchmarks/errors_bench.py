"""What the error envelope costs per request, next to each framework's own error handling.

Each request is dispatched in-process through the framework's real entry point
(the ASGI callable for FastAPI, the WSGI callable for Flask and Django), so the
figures isolate framework + middleware cost from network noise. Variants are
interleaved round by round; the best and median of the rounds are reported in
microseconds per request, with the ratio to the framework without backendkit.

    python benchmarks/errors_bench.py [--requests 2000] [--rounds 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks._harness.http import ASGIDriver, WSGIDriver, http_scope, wsgi_environ
from benchmarks._harness.measure import Runner, measure_fixed
from benchmarks._harness.run import Run, parse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks._django_settings")

CASES = {  # name: (method, path, body)
    "200": ("GET", "/items/1", b""),
    "404": ("GET", "/nowhere", b""),
    "422": ("POST", "/items", b'{"name": ""}'),
    "500": ("GET", "/boom", b""),
}


# --- FastAPI ----------------------------------------------------------------------------------------------
def fastapi_app(with_backendkit: bool, extra_middleware: int) -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    class Item(BaseModel):
        name: str = Field(min_length=1)

    app = FastAPI()
    if with_backendkit:
        from backendkit.fastapi import install

        install(app)

    class Passthrough:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    for _ in range(extra_middleware):
        app.add_middleware(Passthrough)

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bench")

    return app


def asgi_runner(app: Any, method: str, path: str, body: bytes) -> Runner:
    scope = http_scope(method, path, [(b"host", b"bench"), (b"content-type", b"application/json")])
    # Plain FastAPI re-raises 500s after answering.
    return ASGIDriver(app, scope, body=body, tolerate=(RuntimeError,)).run


# --- Flask and Django (WSGI) ------------------------------------------------------------------------------
def flask_app(with_backendkit: bool) -> Any:
    from flask import Flask, jsonify, request
    from pydantic import BaseModel, Field, ValidationError

    class Item(BaseModel):
        name: str = Field(min_length=1)

    app = Flask("bench")
    if with_backendkit:
        from backendkit.flask import BackendKit, parse_json

        BackendKit(app)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Any:
        return jsonify(id=item_id)

    @app.post("/items")
    def create() -> Any:
        if with_backendkit:
            return jsonify(parse_json(Item).model_dump())
        try:  # what a Flask app without backendkit writes by hand
            return jsonify(Item.model_validate(request.get_json()).model_dump())
        except ValidationError as exc:
            return jsonify(errors=exc.errors(include_input=False, include_url=False)), 422

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bench")

    return app


def django_handler(with_backendkit: bool) -> Any:
    import logging

    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    logging.getLogger("django.request").disabled = True
    middleware = ["backendkit.django.ErrorMiddleware"] if with_backendkit else []
    urlconf = "benchmarks._django_urls" if with_backendkit else "benchmarks._django_urls_plain"

    class Handler(WSGIHandler):
        # Django reads ROOT_URLCONF on every request, not when the handler is built: each handler
        # names its own URLconf per request (before, the plain handler served backendkit's URLs).
        def get_response(self, request: Any) -> Any:
            request.urlconf = urlconf
            return super().get_response(request)

    with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF=urlconf):
        handler = Handler()
        handler.load_middleware()
    return handler


def wsgi_runner(app: Any, method: str, path: str, body: bytes) -> Runner:
    environ = wsgi_environ(method, path, CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    return WSGIDriver(app, environ, body=body).run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parse(parser, quick={"requests": 50, "rounds": 2})

    import logging

    logging.disable(logging.CRITICAL)  # the 500 case would otherwise log a traceback per request
    import django

    django.setup()

    Run(("backendkit", "fastapi", "starlette", "flask", "django", "pydantic")).header(
        f"{args.requests} requests x {args.rounds} rounds, interleaved; microseconds per request"
    )
    print(f"{'framework':<28}{'case':<6}{'without':>10}{'with':>10}{'ratio':>8}   (best; median)")

    variants: list[tuple[str, Callable[[bool], Any], Callable[..., Runner]]] = [
        ("fastapi", lambda bk: fastapi_app(bk, 0), asgi_runner),
        ("fastapi + 3 middleware", lambda bk: fastapi_app(bk, 3), asgi_runner),
        ("flask", flask_app, wsgi_runner),
        ("django", django_handler, wsgi_runner),
    ]
    for label, build, runner in variants:
        apps = {False: build(False), True: build(True)}
        for case, (method, path, body) in CASES.items():
            runners = {str(bk): runner(app, method, path, body) for bk, app in apps.items()}
            samples = measure_fixed(runners, args.requests, args.rounds, warmup=max(50, args.requests // 20))
            best = {k: min(v) for k, v in samples.items()}
            median = {k: statistics.median(v) for k, v in samples.items()}
            print(
                f"{label:<28}{case:<6}{best['False']:>10.1f}{best['True']:>10.1f}{best['True'] / best['False']:>8.2f}"
                f"   ({median['False']:.1f}; {median['True']:.1f})"
            )


if __name__ == "__main__":
    main()
