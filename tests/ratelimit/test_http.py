"""Headers, the 429, and client keys behind proxies."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import ErrorHandler
from backendkit.ratelimit import (
    RateLimiter,
    RequestInfo,
    SlidingWindow,
    TokenBucket,
    by_ip,
    client_ip,
    ip_key,
    parse_networks,
    rate_limit_headers,
    secret_key,
    too_many_requests,
)
from backendkit.ratelimit._keys import FORWARDING_HEADERS


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


TRUSTED = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # untrusted peer: headers ignored
        ("10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.5"], "1.2.3.4"),  # only trusted hops are skipped
        ("10.0.0.2", ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # repeated headers, in order
        ("10.0.0.2", ["10.1.1.1"], "10.1.1.1"),  # all trusted: the first hop
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["not-an-ip, 1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["1.2.3.4, garbage"], "10.0.0.2"),  # a bad hop ends the walk
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.0.0.3", ["1.2.3.4"], "1.2.3.4"),  # v4-mapped peer
        (None, ["1.2.3.4"], None),
    ],
)
def test_client_ip_from_x_forwarded_for(peer: str | None, xff: list[str], expected: str | None) -> None:
    assert client_ip(peer, trusted_proxies=TRUSTED, values=xff) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (['for="[2001:db8::1]:4711";proto=https, for=10.0.0.9'], "2001:db8::1"),
        (["for=192.0.2.60:8080"], "192.0.2.60"),
        (["FOR=192.0.2.61;by=10.0.0.1"], "192.0.2.61"),
        (["for=unknown"], "10.0.0.2"),
        (["proto=https"], "10.0.0.2"),
    ],
)
def test_client_ip_from_forwarded(forwarded: list[str], expected: str) -> None:
    assert client_ip("10.0.0.2", trusted_proxies=TRUSTED, values=forwarded, header="Forwarded") == expected


def test_only_the_configured_forwarding_header_is_read() -> None:
    # nginx appends the client to X-Forwarded-For and passes the client's own Forwarded through:
    # reading Forwarded first let a client pick its own key.
    headers = {"x-forwarded-for": ["198.51.100.7"], "forwarded": ["for=192.0.2.66"]}
    info = RequestInfo(method="GET", path="/", peer="10.0.0.2", native=None, headers=lambda n: headers.get(n, []))
    assert by_ip(["10.0.0.0/8"])(info) == "ip:198.51.100.7"
    assert by_ip(["10.0.0.0/8"], header="X-Forwarded-For")(info) == "ip:198.51.100.7"
    assert by_ip(["10.0.0.0/8"], header="forwarded")(info) == "ip:192.0.2.66"
    with pytest.raises(ValueError, match="forwarding header"):
        by_ip(["10.0.0.0/8"], header="X-Real-IP")


@given(
    st.lists(st.text(max_size=20), max_size=5),
    st.ip_addresses(v=4).filter(lambda a: not a.is_private),
    st.sampled_from(FORWARDING_HEADERS),
)
def test_an_untrusted_peer_cannot_be_moved_by_headers(
    values: list[str], peer: ipaddress.IPv4Address, header: str
) -> None:
    assert client_ip(str(peer), trusted_proxies=TRUSTED, values=values, header=header) == str(peer)


def test_keys() -> None:
    assert ip_key("2001:db8:1:2:3:4:5:6") == "ip:2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:2:3:4:5:6", ipv6_prefix=128) == "ip:2001:db8:1:2:3:4:5:6"
    assert ip_key("1.2.3.4") == "ip:1.2.3.4"
    assert ip_key(None) == "ip:unknown"
    key = secret_key("sk_live_secret")
    assert key.startswith("key:")
    assert "sk_live_secret" not in key
    assert secret_key("sk_live_secret") == key
