"""A ``Limit`` is checked when it is built: a wrong argument is a ConfigurationError then, never a 500 later."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from backendkit.asgi.ratelimit import RateLimitMiddleware
from backendkit.errors import ConfigurationError
from backendkit.ratelimit import AsyncRedisStore, Limit, RedisStore, RequestInfo, TokenBucket


async def async_key(request: RequestInfo) -> str:
    await asyncio.sleep(0)
    return "everyone"


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"cost": 0}, "cost"),
        ({"cost": -1}, "cost"),
        ({"cost": True}, "cost"),
        ({"cost": False}, "cost"),
        ({"cost": 1.5}, "cost"),
        ({"cost": "2"}, "cost"),
        ({"cost": None}, "cost"),
        ({"policies": "ten per fortnight"}, "ten per fortnight"),
        ({"policies": "0/second"}, "0/second"),
        ({"policies": []}, "policies"),
        ({"policies": ["5/minute"]}, "policies"),
        ({"policies": 42}, "policies"),
        ({"policies": None}, "policies"),
        ({"key": "ip"}, "key"),
        ({"exempt_when": True}, "exempt_when"),
        ({"on_decision": "print"}, "on_decision"),
        ({"scope": 7}, "scope"),
        ({"prefix": None}, "prefix"),
        ({"shadow": "yes"}, "shadow"),
        ({"shadow": 1}, "shadow"),
        ({"legacy_headers": "no"}, "legacy_headers"),
        ({"store": object()}, "store"),
        ({"store": "redis://127.0.0.1:6379/0"}, "store"),
        ({"exempt_paths": "/livez"}, "exempt_paths"),  # it was taken letter by letter
        ({"exempt_paths": 42}, "exempt_paths"),
        ({"exempt_paths": ["livez"]}, "exempt path"),
        ({"exempt_paths": [None]}, "exempt path"),
    ],
)
def test_each_bad_argument_is_refused_when_the_limit_is_built(arguments: dict[str, Any], says: str) -> None:
    options = {"policies": "5/minute", **arguments}
    policies = options.pop("policies")
    with pytest.raises(ConfigurationError, match=says):
        Limit(policies, **options)


def test_good_arguments_are_taken_as_given() -> None:
    rule = Limit(
        (TokenBucket("10/second"),),
        key=lambda r: "k",
        cost=lambda r: 2,
        scope="api",
        exempt_when=lambda r: False,
        exempt_paths=("/livez",),
        shadow=True,
        on_decision=print,
        prefix="",
        legacy_headers=True,
    )
    assert rule.exempt_paths == frozenset({"/livez"})
    assert Limit("5/minute", cost=3).cost == 3


def test_an_async_function_with_a_store_async_code_cannot_await_is_refused_when_built() -> None:
    # Sync views cannot await the key, and async code cannot use the store: no view could ever check it.
    with pytest.raises(ConfigurationError, match="async"):
        Limit("1/minute", key=async_key, store=RedisStore("redis://127.0.0.1:1/0"))
    Limit("1/minute", key=async_key, store=AsyncRedisStore("redis://127.0.0.1:1/0"))  # async code can


def test_an_async_key_on_a_sync_view_is_refused_at_set_up_and_the_app_serves_on() -> None:
    # It was accepted, and every request to the view was a 500 (a ConfigurationError per request).
    from flask import Flask

    from backendkit.flask import BackendKit
    from backendkit.flask.ratelimit import limit as flask_limit

    app = Flask(__name__)
    BackendKit(app)
    with pytest.raises(ConfigurationError, match="async"):
        flask_limit(Limit("1/minute", key=async_key))

    @app.get("/r")
    @flask_limit(Limit("2/minute", key=lambda r: "everyone"))
    def limited() -> dict[str, bool]:
        return {"ok": True}

    http = app.test_client()
    assert [http.get("/r").status_code for _ in range(4)] == [200, 200, 429, 429]


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_a_cost_of_zero_is_refused_when_built_and_requests_after_see_no_500() -> None:
    # Limit(cost=0) was accepted, and every request it checked was a 500 (a ValueError per request).
    with pytest.raises(ConfigurationError, match="cost"):
        RateLimitMiddleware(Starlette(routes=[Route("/", hello)]), Limit("3/minute", cost=0))
    app = RateLimitMiddleware(Starlette(routes=[Route("/", hello)]), Limit("3/minute", cost=1))
    with TestClient(app) as client:
        assert [client.get("/").status_code for _ in range(5)] == [200, 200, 200, 429, 429]


def test_an_async_key_behind_the_asgi_middleware_is_awaited() -> None:
    app = RateLimitMiddleware(Starlette(routes=[Route("/", hello)]), Limit("1/minute", key=async_key))
    with TestClient(app) as client:
        assert [client.get("/").status_code for _ in range(2)] == [200, 429]


def test_a_plain_function_that_returns_a_coroutine_in_sync_code_is_a_type_error_not_a_configuration_error() -> None:
    # Not knowable when built (the function is not async def): a programming error of the function.
    rule = Limit("1/minute", key=lambda r: async_key(r))
    request = RequestInfo(method="GET", path="/r", peer=None, headers=lambda name: [], native=None)
    with pytest.raises(TypeError, match="awaitable"):
        rule.check(request, per_route=True)
    assert asyncio.run(rule.acheck(request, per_route=True)) is not None  # async code awaits it
