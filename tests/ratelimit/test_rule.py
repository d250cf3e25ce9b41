"""``Limit`` on its own, the ASGI middleware without the rest of backendkit, and configuration errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from backendkit.asgi.ratelimit import RateLimitMiddleware
from backendkit.errors import ConfigurationError
from backendkit.ratelimit import (
    AsyncRedisStore,
    Limit,
    MemoryStore,
    RedisStore,
    RequestInfo,
    TokenBucket,
    limit_list,
)
from backendkit.starlette import install


def info(path: str = "/x") -> RequestInfo:
    return RequestInfo(method="GET", path=path, peer="192.0.2.1", headers=lambda name: [], native=None)


def test_a_string_is_a_sliding_window_and_policies_are_all_or_nothing() -> None:
    rule = Limit([TokenBucket("10/second", burst=2, name="burst"), TokenBucket("3/hour", name="hourly")])
    verdicts = [rule.check(info(), per_route=False) for _ in range(3)]
    assert [v.decision.allowed for v in verdicts if v is not None] == [True, True, False]
    refused = verdicts[2]
    assert refused is not None
    assert refused.error is not None
    assert refused.error.details["policy"] == "burst"
    assert refused.decision.policies[1].remaining == 1  # the refusal consumed nothing from "hourly"
    assert repr(Limit("5/minute")) == "Limit([SlidingWindow('5 per 1 minute')], scope=None, shadow=False)"


def test_store_kinds_are_checked_when_the_limit_is_used() -> None:
    sync_only = Limit("1/second", store=RedisStore("redis://127.0.0.1:1/0"))
    with pytest.raises(ConfigurationError, match="block the event loop"):
        sync_only.require_async_store()
    async_only = Limit("1/second", store=AsyncRedisStore("redis://127.0.0.1:1/0"))
    with pytest.raises(ConfigurationError, match="async only"):
        async_only.require_sync_store()
    both = Limit("1/second", store=MemoryStore())
    assert both.limiter.store is both.async_limiter.store


def test_adapters_refuse_an_async_only_store_in_sync_code_at_start_up() -> None:
    from backendkit.fastapi.ratelimit import limit as fastapi_limit
    from backendkit.flask.ratelimit import limit as flask_limit

    # A sync-only store in async code runs in a worker thread (issue 20, decision 4;
    # tests/adapters/test_store_kinds.py): built without a word.
    fastapi_limit("1/second", store=RedisStore("redis://127.0.0.1:1/0"))
    RateLimitMiddleware(lambda *a: None, Limit("1/second", store=RedisStore("redis://127.0.0.1:1/0")))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        flask_limit("1/second", store=AsyncRedisStore("redis://127.0.0.1:1/0"))


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        ("5/minute", "not rates: write Limit('5/minute')"),
        (["5/minute"], "not rates: write Limit('5/minute')"),
        ({"a": Limit("5/minute")}, "not dict"),
        (42, "not int"),
    ],
)
def test_limits_for_every_request_are_limit_objects(limits: Any, says: str) -> None:
    # The ASGI middleware once made list("5/minute") of a string: an AttributeError on '5'.
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        RateLimitMiddleware(lambda *a: None, limits)  # type: ignore[arg-type]
    assert limit_list(None) == []
    assert limit_list(rule := Limit("1/second")) == [rule]
    assert limit_list([rule, rule]) == [rule, rule]


def test_starlette_and_fastapi_refuse_a_rate_limits_setting_they_would_not_read() -> None:
    # It was accepted and ignored: install(app, rate_limits=Limit("1/minute")) limited nothing.
    from fastapi import FastAPI

    from backendkit.fastapi import install as install_fastapi

    for app, installer in ((Starlette(), install), (FastAPI(), install_fastapi)):
        with pytest.raises(ConfigurationError, match="add_middleware"):
            installer(app, rate_limits=Limit("1/minute"))  # type: ignore[operator]


@pytest.mark.parametrize("cost", [0, -1, 1.5, True, "2"])
def test_a_bad_cost_is_a_clear_error(cost: Any) -> None:
    with pytest.raises(ValueError, match="cost"):
        Limit("5/minute", cost=lambda r: cost).check(info(), per_route=False)


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_the_asgi_middleware_on_its_own_renders_the_default_envelope() -> None:
    app = RateLimitMiddleware(Starlette(routes=[Route("/", hello)]), Limit("1/minute"))
    client = TestClient(app)
    allowed = client.get("/")
    assert allowed.headers["ratelimit-policy"] == '"1-per-60s";q=1;w=60'
    refused = client.get("/")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert json.loads(refused.content)["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 120  # a sliding window of 1: up to two windows


def test_starlette_with_install_renders_the_refusal_in_the_apps_format() -> None:
    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(RateLimitMiddleware, limits=[Limit("1/minute")])
    install(app, error_format="problem")
    client = TestClient(app)
    assert client.get("/").status_code == 200
    refused = client.get("/")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = json.loads(refused.content)
    assert problem["status"] == 429
    assert problem["details"]["retry_after"] == int(refused.headers["retry-after"])
    assert refused.headers["x-request-id"] == problem["request_id"]


def test_websockets_pass_through_the_middleware() -> None:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hi")
        await ws.close()

    app = RateLimitMiddleware(Starlette(routes=[WebSocketRoute("/ws", echo)]), Limit("1/minute"))
    with TestClient(app).websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hi"


def test_the_flask_decorator_runs_async_views_and_honours_an_apps_ensure_sync() -> None:
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.ratelimit import limit as flask_limit

    wrapped: list[str] = []

    class Wrapping(Flask):
        def ensure_sync(self, func: Any) -> Any:
            wrapped.append(getattr(func, "__name__", "?"))
            return super().ensure_sync(func)

    for app_class in (Flask, Wrapping):
        app = app_class(__name__)
        BackendKit(app)

        @app.get("/async")
        @flask_limit("1/minute")
        async def slow() -> dict[str, bool]:
            return {"ok": True}

        @app.get("/sync")
        @flask_limit("1/minute")
        def plain() -> dict[str, bool]:
            return {"ok": True}

        http = app.test_client()
        assert [http.get("/async").status_code, http.get("/async").status_code] == [200, 429]
        assert [http.get("/sync").status_code, http.get("/sync").status_code] == [200, 429]
    # Flask's dispatch passes the decorated view to ensure_sync on both requests; the decorator
    # passes the view itself on the admitted one: an app's own ensure_sync still sees every view.
    assert (wrapped.count("slow"), wrapped.count("plain")) == (3, 3)
