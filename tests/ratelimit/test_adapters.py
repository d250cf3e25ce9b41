"""Rate limits over HTTP, the same checks on FastAPI, Flask and Django (sync and async views)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest

from backendkit.errors import ConfigurationError
from backendkit.proxies import TrustedProxies
from backendkit.ratelimit import (
    AsyncRedisStore,
    DecisionEvent,
    Limit,
    MemoryStore,
    RedisStore,
    RequestInfo,
    SlidingWindow,
    TokenBucket,
    by_header,
    by_user,
)
from tests.ratelimit.apps import FLAVOURS, client
from tests.support.net import free_port
from tests.support.redis import RedisServer

pytestmark = pytest.mark.parametrize("flavour", FLAVOURS)


def test_allowed_responses_carry_the_headers_and_the_sixth_is_refused(flavour: str) -> None:
    with client(flavour, route=Limit(SlidingWindow("5/minute", name="m"))) as get:
        for remaining in (4, 3, 2, 1, 0):
            reply = get("/r")
            assert reply.status == 200
            assert reply.headers["ratelimit-policy"] == '"m";q=5;w=60'
            assert re.fullmatch(rf'"m";r={remaining};t=\d+', reply.headers["ratelimit"])
            assert "retry-after" not in reply.headers
            assert "x-ratelimit-limit" not in reply.headers
        refused = get("/r")
    assert refused.status == 429
    assert refused.body["error"]["code"] == "RATE_LIMITED"
    wait = int(refused.headers["retry-after"])
    assert refused.body["error"]["details"] == {"retry_after": wait, "policy": "m"}
    assert refused.headers["ratelimit-policy"] == '"m";q=5;w=60'
    assert refused.headers["ratelimit"].startswith('"m";r=0;t=')


def test_each_route_has_its_own_bucket_unless_a_scope_is_named(flavour: str) -> None:
    with client(flavour, route=Limit("2/minute")) as get:
        assert [get("/r").status for _ in range(3)] == [200, 200, 429]
        assert get("/other").status == 200
    with client(flavour, route=Limit("2/minute", scope="shared")) as get:
        assert [get(path).status for path in ("/r", "/other", "/r")] == [200, 200, 429]


def test_errors_after_an_allowed_check_keep_the_headers(flavour: str) -> None:
    with client(flavour, route=Limit("3/minute")) as get:
        reply = get("/boom")
    assert reply.status == 500
    assert reply.body["error"]["code"] == "INTERNAL_ERROR"
    assert reply.headers["ratelimit"].startswith('"3-per-60s";r=2;')


def test_legacy_headers_on_request(flavour: str) -> None:
    with client(flavour, route=Limit(TokenBucket("1/second", burst=3), legacy_headers=True)) as get:
        reply = get("/r")
    assert (reply.headers["x-ratelimit-limit"], reply.headers["x-ratelimit-remaining"]) == ("3", "2")
    assert reply.headers["x-ratelimit-reset"] == "1"


def test_application_wide_and_route_limits_report_together(flavour: str) -> None:
    with client(flavour, route=Limit("3/minute"), default=Limit(SlidingWindow("10/hour", name="app"))) as get:
        reply = get("/r")
        free = get("/free")
    assert reply.headers["ratelimit-policy"] == '"app";q=10;w=3600, "3-per-60s";q=3;w=60'
    assert re.fullmatch(r'"app";r=9;t=\d+, "3-per-60s";r=2;t=\d+', reply.headers["ratelimit"])
    assert free.headers["ratelimit-policy"] == '"app";q=10;w=3600'
    assert free.headers["ratelimit"].startswith('"app";r=8;')


def test_application_wide_refusal(flavour: str) -> None:
    with client(flavour, default=Limit("2/minute")) as get:
        statuses = [get(path).status for path in ("/r", "/free", "/other")]
        refused = get("/r")
    assert statuses == [200, 200, 429]
    assert refused.body["error"]["code"] == "RATE_LIMITED"
    assert refused.headers["ratelimit"].startswith('"2-per-60s";r=0;')


def test_a_refusal_lists_the_limits_in_the_order_an_allowed_response_does(flavour: str) -> None:
    # The order in which they were checked: the application's, then the route's. A refusal
    # once listed its own first.
    with client(flavour, route=Limit("1/minute"), default=Limit(SlidingWindow("10/hour", name="app"))) as get:
        allowed = get("/r")
        refused = get("/r")
    assert (allowed.status, refused.status) == (200, 429)
    assert allowed.headers["ratelimit-policy"] == '"app";q=10;w=3600, "1-per-60s";q=1;w=60'
    assert refused.headers["ratelimit-policy"] == allowed.headers["ratelimit-policy"]
    assert re.fullmatch(r'"app";r=8;t=\d+, "1-per-60s";r=0;t=\d+', refused.headers["ratelimit"])
    assert refused.headers["retry-after"] == str(refused.body["error"]["details"]["retry_after"])


def test_shadow_mode_lets_everything_through_and_counts(flavour: str, caplog: pytest.LogCaptureFixture) -> None:
    events: list[DecisionEvent] = []
    shadow = Limit("2/minute", shadow=True, on_decision=events.append)
    with caplog.at_level(logging.INFO, logger="backendkit.ratelimit"), client(flavour, route=shadow) as get:
        replies = [get("/r") for _ in range(4)]
    assert [r.status for r in replies] == [200] * 4
    assert all("ratelimit" not in r.headers for r in replies)  # a dark launch changes nothing on the wire
    assert shadow.shadow_refusals == 2
    assert [e.decision.allowed for e in events] == [True, True, False, False]
    assert all(e.shadow and e.path == "/r" and e.method == "GET" for e in events)
    assert len([r for r in caplog.records if "would refuse" in r.getMessage()]) == 2


def test_the_hook_sees_every_decision_and_its_failures_are_only_logged(
    flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def hook(event: DecisionEvent) -> None:
        seen.append(event.key)
        raise RuntimeError("metrics backend down")

    with client(flavour, route=Limit("5/minute", on_decision=hook)) as get:
        assert get("/r").status == 200
    assert seen == ["/r|ip:192.0.2.10"]
    assert any("on_decision" in r.getMessage() for r in caplog.records)


def test_exempt_requests_and_keyless_requests_are_not_counted(flavour: str) -> None:
    exempt = Limit("1/minute", exempt_when=lambda r: r.header("x-internal") == ["yes"])
    with client(flavour, route=exempt) as get:
        assert [get("/r", {"X-Internal": "yes"}).status for _ in range(3)] == [200] * 3
        assert "ratelimit" not in get("/r", {"X-Internal": "yes"}).headers
        assert [get("/r").status for _ in range(2)] == [200, 429]
    keyless = Limit("1/minute", key=lambda r: None)
    with client(flavour, route=keyless) as get:
        assert [get("/r").status for _ in range(3)] == [200] * 3


def test_cost_per_request(flavour: str) -> None:
    costly = Limit("10/minute", cost=lambda r: 4 if r.path == "/r" else 1)
    with client(flavour, route=costly) as get:
        assert get("/r").headers["ratelimit"].startswith('"10-per-60s";r=6;')
        assert get("/r").headers["ratelimit"].startswith('"10-per-60s";r=2;')
        assert get("/r").status == 429  # 4 more do not fit; nothing is consumed
        assert get("/other").status == 200  # its own bucket, cost 1


def test_api_keys_are_hashed_and_count_apart(flavour: str) -> None:
    events: list[DecisionEvent] = []
    keyed = Limit("1/minute", key=by_header("X-API-Key"), on_decision=events.append)
    with client(flavour, route=keyed) as get:
        assert get("/r", {"X-API-Key": "alpha-secret"}).status == 200
        assert get("/r", {"X-API-Key": "alpha-secret"}).status == 429
        assert get("/r", {"X-API-Key": "beta-secret"}).status == 200
        assert get("/r").status == 200  # no key: by client address
    assert not any("secret" in e.key for e in events)
    assert events[-1].key == "/r|ip:192.0.2.10"


@pytest.mark.parametrize(
    "hostile",
    [
        {"X-Forwarded-For": "not-an-ip, 198.51.100.1"},
        {"X-Forwarded-For": "\x00\x01, ::::"},
        {"Forwarded": 'for="[2001:db8::1', "X-Forwarded-For": "1.2.3.4"},
        {"Forwarded": "for=unknown;proto=http, for=_hidden"},
        {"X-Forwarded-For": ", , ,"},
        {"X-Forwarded-For": "9" * 5000},
    ],
)
def test_hostile_forwarding_headers_never_fail_and_never_move_the_key(flavour: str, hostile: dict[str, str]) -> None:
    # The app trusts no proxy: what the client writes is ignored.
    keys: list[str] = []
    with client(flavour, route=Limit("5/minute", on_decision=lambda e: keys.append(e.key))) as get:
        assert get("/r", hostile).status == 200
    assert keys == ["/r|ip:192.0.2.10"]


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_key(flavour: str) -> None:
    keys: list[str] = []
    proxied = Limit("5/minute", on_decision=lambda e: keys.append(e.key))
    with client(flavour, route=proxied, trusted_proxies=["192.0.2.0/24"]) as get:
        get("/r", {"X-Forwarded-For": "203.0.113.9, 192.0.2.77"})  # client, then an inner trusted hop
        get("/r", {"Forwarded": 'for="[2001:db8:1:2::5]:4711"'})  # not the header the proxy sets: ignored
        get("/r", {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=198.51.100.1"})
        get("/r", {"X-Forwarded-For": "garbage"})  # not an address: the peer is used
    assert keys == ["/r|ip:203.0.113.9", "/r|ip:192.0.2.10", "/r|ip:203.0.113.9", "/r|ip:192.0.2.10"]


def test_a_proxy_that_sets_forwarded_is_read_instead(flavour: str) -> None:
    keys: list[str] = []
    trusted = TrustedProxies(["192.0.2.0/24"], header="Forwarded")
    limit = Limit("5/minute", on_decision=lambda e: keys.append(e.key))
    with client(flavour, route=limit, trusted_proxies=trusted) as get:
        get("/r", {"Forwarded": 'for="[2001:db8:1:2::5]:4711"'})
        get("/r", {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=198.51.100.1"})
    assert keys == ["/r|ip:2001:db8:1:2::/64", "/r|ip:198.51.100.1"]


def test_the_app_wide_limits_and_the_user_fallback_use_the_same_client(flavour: str) -> None:
    keys: list[str] = []
    app_wide = Limit("5/minute", key=by_user(), on_decision=lambda e: keys.append(e.key))
    route = Limit("5/minute", key=by_header("X-API-Key"), on_decision=lambda e: keys.append(e.key))
    with client(flavour, route=route, default=app_wide, trusted_proxies=1) as get:
        get("/r", {"X-Forwarded-For": "198.51.100.3, 203.0.113.4"})  # one proxy: the last hop
    assert keys == ["*|ip:203.0.113.4", "/r|ip:203.0.113.4"]


def _dead_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def _store_for(flavour: str, url: str) -> Any:
    return AsyncRedisStore(url) if flavour in ("fastapi", "django-async") else RedisStore(url)


def test_a_dead_redis_fails_open_by_default_and_closed_on_request(flavour: str) -> None:
    open_limit = Limit("1/minute", store=_store_for(flavour, _dead_redis_url()))
    with client(flavour, route=open_limit) as get:
        replies = [get("/r") for _ in range(3)]
    assert [r.status for r in replies] == [200] * 3
    closed = Limit("1/minute", store=_store_for(flavour, _dead_redis_url()), on_store_error="closed")
    with client(flavour, route=closed) as get:
        refused = get("/r")
    assert refused.status == 429
    assert refused.body["error"]["code"] == "RATE_LIMITED"
    assert refused.headers["retry-after"] == "1"
    memory = Limit("1/minute", store=_store_for(flavour, _dead_redis_url()), fallback=MemoryStore())
    with client(flavour, route=memory) as get:
        assert [get("/r").status for _ in range(2)] == [200, 429]


def test_a_real_redis_behind_every_framework(flavour: str, redis_server: RedisServer) -> None:
    store = _store_for(flavour, redis_server.url)
    with client(flavour, route=Limit("3/minute", store=store, prefix=f"http-{flavour}:")) as get:
        assert [get("/r").status for _ in range(4)] == [200, 200, 200, 429]


def test_async_key_functions_where_the_view_is_async(flavour: str) -> None:
    async def key(request: RequestInfo) -> str:
        await asyncio.sleep(0)
        return "everyone"

    rule = Limit("1/minute", key=key)
    if flavour in ("flask", "django-sync"):
        with pytest.raises(ConfigurationError, match="async"):
            rule.check(
                RequestInfo(method="GET", path="/r", peer=None, headers=lambda n: [], native=None), per_route=True
            )
        return
    with client(flavour, route=rule) as get:
        assert [get("/r").status for _ in range(2)] == [200, 429]
