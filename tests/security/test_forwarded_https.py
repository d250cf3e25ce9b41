"""Whether a request came over HTTPS through trusted proxies: the word of the proxy the client reached."""

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
        # The client's element (the first untrusted for=) says how the client connected.
        ("for=198.51.100.7;proto=http, for=10.0.0.9;proto=https", False),
        ("for=198.51.100.7;proto=https, for=10.0.0.9;proto=http", True),  # a CDN's TLS, then plain HTTP inside
        ("for=198.51.100.7;proto=https, for=10.0.0.9", True),
        ("for=198.51.100.7, for=10.0.0.9;proto=https", False),  # the client's hop named no scheme
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
def test_forwarded_proto_of_the_clients_element(value: str, https: bool) -> None:
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


@pytest.mark.parametrize(
    ("forwarded", "proto", "https"),
    [
        ("203.0.113.9, 10.0.0.7", "https, http", True),  # the CDN took HTTPS; the balancer inside spoke HTTP
        ("203.0.113.9, 10.0.0.7", "http, https", False),  # the client spoke HTTP to the first proxy
        ("203.0.113.9", "http, https", True),  # one hop: the nearest proxy's entry
        ("203.0.113.9, 10.0.0.7", "https", True),  # one entry for two hops (a proxy overwrote it): that one
        ("10.0.0.8, 10.0.0.7", "https, http", True),  # every hop trusted: the leftmost, as for the address
        ("unknown, 10.0.0.7", "https, https", True),  # the walk ends: the nearest proxy's word
    ],
)
def test_x_forwarded_proto_of_the_hop_the_client_is_read_from(forwarded: str, proto: str, https: bool) -> None:
    assert forwarded_https("10.0.0.2", proto, NETWORKS, [forwarded]) is https


def test_hops_mode_reads_the_scheme_at_the_clients_hop() -> None:
    two = TrustedProxies(hops=2)
    assert forwarded_https("10.0.0.2", "https, http", two, ["203.0.113.9, 10.0.0.7"])
    assert not forwarded_https("10.0.0.2", "http, https", two, ["203.0.113.9, 10.0.0.7"])
    chain = "for=203.0.113.9;proto=https, for=10.0.0.1;proto=http"
    assert forwarded_https("10.0.0.2", chain, TrustedProxies(hops=2, header="Forwarded"))
