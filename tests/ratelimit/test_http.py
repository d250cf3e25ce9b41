"""Headers, the 429, and client keys behind proxies."""

from __future__ import annotations

import json

import pytest

from backendkit.errors import ErrorHandler
from backendkit.ratelimit import (
    RateLimiter,
    RequestInfo,
    SlidingWindow,
    TokenBucket,
    by_ip,
    ip_key,
    rate_limit_headers,
    secret_key,
    too_many_requests,
)


def refused() -> RateLimiter:
    limiter = RateLimiter([TokenBucket("10/second", burst=20, name="burst"), SlidingWindow("2/hour", name="hourly")])
    limiter.hit("a")
    limiter.hit("a")
    return limiter


def test_ietf_headers_from_an_admitted_check() -> None:
    decision = RateLimiter(SlidingWindow("5/minute", name="minute")).hit("ann")
    headers = dict(rate_limit_headers(decision))
    assert headers["RateLimit-Policy"] == '"minute";q=5;w=60'
    assert headers["RateLimit"].startswith('"minute";r=4;t=')
    assert "Retry-After" not in headers  # on a refusal only
    assert "X-RateLimit-Limit" not in headers


def test_headers_of_a_refusal_with_legacy() -> None:
    decision = refused().hit("a")
    headers = rate_limit_headers(decision, legacy=True)
    names = [name for name, _ in headers]
    assert names == [
        "RateLimit-Policy",
        "RateLimit",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    ]
    values = dict(headers)
    assert values["RateLimit-Policy"] == '"burst";q=20;w=1, "hourly";q=2;w=3600'
    assert (values["X-RateLimit-Limit"], values["X-RateLimit-Remaining"]) == ("2", "0")
    assert decision.retry_after is not None
    assert int(values["Retry-After"]) >= decision.retry_after  # rounded up, never down


def test_the_429_through_the_envelope() -> None:
    decision = refused().hit("a")
    error = too_many_requests(decision)
    response = ErrorHandler().render(error, request_id="r1")
    body = json.loads(response.body)["error"]
    assert (response.status, body["code"]) == (429, "RATE_LIMITED")
    assert body["details"]["policy"] == "hourly"
    assert dict(response.headers)["Retry-After"] == str(body["details"]["retry_after"])


@pytest.mark.parametrize(("name", "rendered"), [('say "hi"', '"say \\"hi\\""'), ("back\\slash", '"back\\\\slash"')])
def test_policy_names_are_valid_structured_field_strings(name: str, rendered: str) -> None:
    decision = RateLimiter(TokenBucket("1/second", name=name)).hit("x")
    assert dict(rate_limit_headers(decision))["RateLimit-Policy"] == f"{rendered};q=1;w=1"


@pytest.mark.parametrize("name", ["per-user-\u2713", "caf\u00e9", "line\nbreak", "", "x" * 65])
def test_a_policy_name_the_headers_cannot_carry_is_refused_at_construction(name: str) -> None:
    # "per-user-\u2713" was sent as "per-user-", and an empty name was accepted.
    with pytest.raises(ValueError, match="policy name"):
        TokenBucket("1/second", name=name)
    with pytest.raises(ValueError, match="policy name"):
        SlidingWindow("1/second", name=name)


def test_by_ip_keys_the_client_address_every_piece_uses() -> None:
    # Trusted proxies are a setting of the app (backendkit.proxies): outside a request, no proxy is
    # trusted and the key is the peer, whatever the forwarding headers say.
    headers = {"x-forwarded-for": ["198.51.100.7"], "forwarded": ["for=192.0.2.66"]}
    info = RequestInfo(method="GET", path="/", peer="10.0.0.2", native=None, headers=lambda n: headers.get(n, []))
    assert (info.client, by_ip()(info)) == ("10.0.0.2", "ip:10.0.0.2")
    assert (
        by_ip(ipv6_prefix=128)(
            RequestInfo(method="GET", path="/", peer="2001:db8::1", native=None, headers=lambda n: [])
        )
        == "ip:2001:db8::1"
    )


def test_keys() -> None:
    assert ip_key("2001:db8:1:2:3:4:5:6") == "ip:2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:2:3:4:5:6", ipv6_prefix=128) == "ip:2001:db8:1:2:3:4:5:6"
    assert ip_key("1.2.3.4") == "ip:1.2.3.4"
    assert ip_key(None) == "ip:unknown"
    key = secret_key("sk_live_secret")
    assert key.startswith("key:")
    assert "sk_live_secret" not in key
    assert secret_key("sk_live_secret") == key
