"""Whether a request came over HTTPS through a trusted proxy: only the nearest proxy's word counts."""

from __future__ import annotations

import pytest

from backendkit.proxies import MAX_HOPS, TrustedProxies, forwarded_https

NETWORKS = TrustedProxies(["10.0.0.0/8", "::1"])
FORWARDED = TrustedProxies(["10.0.0.0/8"], header="Forwarded")


@pytest.mark.parametrize(
    ("value", "https"),
    [
        ("https", True),
        ("HTTPS", True),
        (" https ", True),
        ("http, https", True),
        ("https,https", True),
        ("https, http", False),  # the client wrote "https"; our proxy says http
        ("http", False),
        ("https, ", False),
        ("wss", False),
        ("", False),
        (None, False),
        ("https" + ", https" * MAX_HOPS * 300, False),  # far too long: not read
    ],
)
def test_x_forwarded_proto_rightmost_only(value: str | None, https: bool) -> None:
    assert forwarded_https("10.0.0.2", value, NETWORKS) is https


@pytest.mark.parametrize(
    ("value", "https"),
    [
        ("for=198.51.100.7;proto=https", True),
        ('for="[2001:db8::1]";proto="https"', True),
        ("proto=HTTPS;host=app.example.com", True),
        ("for=198.51.100.7;proto=http, for=10.0.0.9;proto=https", True),
        ("for=198.51.100.7;proto=https, for=10.0.0.9;proto=http", False),
        ("for=198.51.100.7;proto=https, for=10.0.0.9", False),  # our proxy named no scheme
        ("for=198.51.100.7", False),
        ("proto=https;;", False),
        ("proto=https;garbage", False),
        ("for=1.2.3.4;garbage;proto=https", False),
        ("proto=http;proto=https", False),
        ("proto=https;proto=https", False),
        ("proto=https garbage", False),
        ("https", False),
        ("proto=" + "s" * 5000, False),
    ],
)
def test_forwarded_proto_of_the_rightmost_element(value: str, https: bool) -> None:
    assert forwarded_https("10.0.0.2", value, FORWARDED) is https


@pytest.mark.parametrize("peer", ["203.0.113.5", "11.0.0.1", None, "not-an-address", "testclient"])
def test_an_untrusted_peer_is_not_listened_to(peer: str | None) -> None:
    assert not forwarded_https(peer, "https", NETWORKS)
    assert not forwarded_https(peer, "proto=https", FORWARDED)


def test_nothing_trusted_nothing_read() -> None:
    assert not forwarded_https("10.0.0.2", "https", TrustedProxies())
    assert not forwarded_https("127.0.0.1", "proto=https", TrustedProxies(header="Forwarded"))


def test_an_ipv6_proxy_and_a_peer_with_a_port() -> None:
    assert forwarded_https("::1", "https", NETWORKS)
    assert forwarded_https("10.1.2.3:5555", "https", NETWORKS)


def test_hops_mode_listens_to_whatever_peer_sent_it() -> None:
    hops = TrustedProxies(hops=1)
    assert forwarded_https("203.0.113.5", "https", hops)
    assert forwarded_https(None, "https", hops)
    assert not forwarded_https("203.0.113.5", "https, http", hops)
    assert forwarded_https("203.0.113.5", "for=1.2.3.4;proto=https", TrustedProxies(hops=2, header="Forwarded"))


def test_the_forwarding_header_choice_decides_the_scheme_header_read() -> None:
    # A Forwarded setup does not read an X-Forwarded-Proto-shaped value, and the other way round.
    assert not forwarded_https("10.0.0.2", "https", FORWARDED)
    assert not forwarded_https("10.0.0.2", "proto=https", NETWORKS)
