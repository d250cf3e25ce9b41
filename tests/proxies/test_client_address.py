"""The one function that says who the client is: cases, then properties over generated chains and hostile text."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.proxies import MAX_HOPS, TrustedProxies, client_address, parse_address

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NETWORKS = TrustedProxies(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # untrusted peer: headers ignored
        ("10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.5"], "1.2.3.4"),  # only trusted hops are skipped
        ("10.0.0.2", ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # repeated header lines, in order
        ("10.0.0.2", ["10.1.1.1"], "10.1.1.1"),  # all trusted: the request started inside, at the first hop
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["not-an-ip, 1.2.3.4"], "1.2.3.4"),  # what lies beyond the client is never read
        ("10.0.0.2", ["1.2.3.4, garbage"], "10.0.0.2"),  # a bad hop ends the walk: the peer
        ("10.0.0.2", ["1.2.3.4, 10.0.0.7, unknown"], "10.0.0.2"),
        ("10.0.0.2", ["1.2.3.4, , 10.0.0.7"], "1.2.3.4"),  # an empty list member is no hop
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.0.0.3", ["1.2.3.4"], "1.2.3.4"),  # v4-mapped peer
        ("10.0.0.2", ["::ffff:198.51.100.1"], "198.51.100.1"),  # v4-mapped hop, read as IPv4
        ("10.0.0.2", ["[2001:db8::1]:4711"], "2001:db8::1"),  # brackets and a port
        ("10.0.0.2", ["198.51.100.1:8080"], "198.51.100.1"),  # a port (Azure's gateways add one)
        ("10.0.0.2", ['"198.51.100.1"'], "198.51.100.1"),
        ("10.0.0.2", ["2001:DB8::1"], "2001:db8::1"),  # one spelling per address
        ("10.0.0.2", ["[2001:db8::1]x"], "10.0.0.2"),
        ("10.0.0.2", ["[2001:db8::1"], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.1:http"], "10.0.0.2"),
        ("10.0.0.2", ["9" * 5000], "10.0.0.2"),
        (None, ["1.2.3.4"], None),
        ("testclient", ["1.2.3.4"], "testclient"),  # no address: nothing to trust
    ],
)
def test_x_forwarded_for_behind_trusted_networks(peer: str | None, xff: list[str], expected: str | None) -> None:
    assert client_address(peer, xff, NETWORKS) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (['for="[2001:db8::1]:4711";proto=https, for=10.0.0.9'], "2001:db8::1"),
        (["for=192.0.2.60:8080"], "192.0.2.60"),
        (['for="192.0.2.60:8080"'], "192.0.2.60"),
        (["FOR=192.0.2.61;by=10.0.0.1"], "192.0.2.61"),
        ([" for = 192.0.2.62 ; proto=http "], "192.0.2.62"),
        (["for=unknown"], "10.0.0.2"),  # RFC 7239 lets a proxy hide the client: the walk ends at the peer
        (["for=_hidden, for=10.0.0.9"], "10.0.0.2"),  # an obfuscated identifier
        (["proto=https"], "10.0.0.2"),  # an element without for= says nothing about the client
        (["for=192.0.2.1;for=192.0.2.2"], "10.0.0.2"),  # two for= in one element: malformed
        (['host="a;for=192.0.2.9"'], "10.0.0.2"),  # a for= inside another parameter's quoted value
        (['for="192.0.2.1'], "10.0.0.2"),  # an unclosed quote
        (['for=192.0.2.1;host="x', "for=192.0.2.3"], "192.0.2.3"),  # the nearest element is whole
    ],
)
def test_forwarded_behind_trusted_networks(forwarded: list[str], expected: str) -> None:
    trusted = TrustedProxies(["10.0.0.0/8"], header="Forwarded")
    assert client_address("10.0.0.2", forwarded, trusted) == expected


@pytest.mark.parametrize(
    ("hops", "xff", "expected"),
    [
        (1, ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # one proxy: the last hop it wrote
        (2, ["6.6.6.6, 1.2.3.4, 10.9.9.9"], "1.2.3.4"),
        (2, ["1.2.3.4"], "1.2.3.4"),  # fewer hops than proxies: the leftmost, still written by one of them
        (2, [], "203.0.113.1"),
        (2, ["1.2.3.4, garbage, 10.9.9.9"], "203.0.113.1"),
        (1, ["garbage"], "203.0.113.1"),
    ],
)
def test_a_number_of_hops_whatever_the_peer(hops: int, xff: list[str], expected: str) -> None:
    assert client_address("203.0.113.1", xff, TrustedProxies(hops=hops)) == expected


def test_nothing_trusted_reads_no_header() -> None:
    for trusted in (TrustedProxies(), TrustedProxies.from_setting(None), TrustedProxies.from_setting(0)):
        assert client_address("10.0.0.2", ["1.2.3.4"], trusted) == "10.0.0.2"
        assert client_address("::ffff:10.0.0.2", [], trusted) == "::ffff:10.0.0.2"  # as the server gave it


def test_a_chain_longer_than_max_hops_ends_at_the_peer() -> None:
    inside = ", ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(MAX_HOPS))
    assert client_address("10.0.0.2", [inside], NETWORKS) == "10.0.0.1"  # MAX_HOPS trusted hops: the first
    assert client_address("10.0.0.2", [f"198.51.100.1, {inside}"], NETWORKS) == "10.0.0.2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, TrustedProxies()),
        ([], TrustedProxies()),
        ("", TrustedProxies()),
        (0, TrustedProxies()),
        (["10.0.0.0/8", "::1"], TrustedProxies(["10.0.0.0/8", "::1"])),
        ("10.0.0.0/8, ::1", TrustedProxies(["10.0.0.0/8", "::1"])),
        ({"::1", "10.0.0.0/8"}, TrustedProxies(["10.0.0.0/8", "::1"])),
        (2, TrustedProxies(hops=2)),
        (TrustedProxies(hops=1, header="Forwarded"), TrustedProxies(hops=1, header="forwarded")),
    ],
)
def test_the_setting_in_its_forms(value: object, expected: TrustedProxies) -> None:
    assert TrustedProxies.from_setting(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "TRUSTED_PROXIES is a list"),
        ("*", "would let any client name itself"),
        (["10.0.0.0/33"], "not '10.0.0.0/33'"),
        (["proxy.internal"], "not 'proxy.internal'"),
        ([10], "TRUSTED_PROXIES is a list"),
        (-1, "hops is a number of proxies"),
        (MAX_HOPS + 1, "hops is a number of proxies"),
        ({"networks": ["10.0.0.0/8"]}, "TRUSTED_PROXIES is a list"),
    ],
)
def test_a_bad_setting_is_a_value_error(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrustedProxies.from_setting(value)


def test_networks_and_hops_are_exclusive_and_the_header_is_one_of_two() -> None:
    with pytest.raises(ValueError, match="not both"):
        TrustedProxies(["10.0.0.0/8"], hops=1)
    with pytest.raises(ValueError, match="forwarding header"):
        TrustedProxies(hops=1, header="X-Real-IP")


def test_a_huge_header_costs_no_more_than_the_hops_it_walks() -> None:
    # A client behind a trusted proxy sends 4 MB of hops; only the nearest are read.
    huge = ", ".join(["198.51.100.1"] * 300_000) + ", 192.0.2.7"
    started = time.perf_counter()
    for _ in range(100):
        assert client_address("10.0.0.2", [huge], NETWORKS) == "192.0.2.7"
    assert time.perf_counter() - started < 2.0  # about 1 ms in all here; splitting it first took seconds


# Properties: chains built from known hops, so the answer is known without parsing.

TRUSTED_POOL = ["10.0.0.0/8", "fd00::/8", "192.0.2.0/24", "127.0.0.1", "::1"]
addresses = st.one_of(
    st.ip_addresses(network="10.0.0.0/8"),
    st.ip_addresses(network="fd00::/8"),
    st.ip_addresses(network="192.0.2.0/24"),
    st.sampled_from([ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]),
    st.ip_addresses(network="10.0.0.0/8").map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}")),  # v4-mapped
    st.ip_addresses(),
)
# Never an address, in any spelling: no digits, no colon, no comma (a comma would make two hops).
GARBAGE_CHARS = st.characters(blacklist_characters=",:0123456789", blacklist_categories=["Cs"])
garbage = st.one_of(
    st.sampled_from(["unknown", "_hidden", '"[', "[", "]", "[x]", '"', "for=", "for=unknown", "a;b", "\x00"]),
    st.text(GARBAGE_CHARS, min_size=1, max_size=12).filter(str.strip),
)


def normal(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@st.composite
def xff_hop(draw: st.DrawFn, address: Address) -> str:
    text = str(address)
    if address.version == 6:
        forms = [text, text.upper(), f"[{text}]", f"[{text}]:{draw(st.integers(1, 65535))}", f'"{text}"']
    else:
        forms = [text, f"{text}:{draw(st.integers(1, 65535))}", f'"{text}"']
    return f"{draw(st.sampled_from(['', ' ', '  ']))}{draw(st.sampled_from(forms))}"


@st.composite
def forwarded_hop(draw: st.DrawFn, address: Address) -> str:
    text = str(address)
    port = draw(st.integers(1, 65535))
    if address.version == 6:
        node = draw(st.sampled_from([f'"[{text}]"', f'"[{text}]:{port}"']))
    else:
        node = draw(st.sampled_from([text, f"{text}:{port}", f'"{text}:{port}"']))
    name = draw(st.sampled_from(["for", "For", "FOR"]))
    before = draw(st.sampled_from(["", "proto=https;", "by=_lb;", 'host="example.com";']))
    after = draw(st.sampled_from(["", ";proto=http", ";by=10.0.0.1"]))
    return f" {before}{name}={node}{after}"


@dataclass
class Case:
    peer: str | None
    peer_address: Address | None
    chain: list[Address | None]  # left to right; None for a hop that is not an address
    values: list[str]
    trusted: TrustedProxies


@st.composite
def cases(draw: st.DrawFn) -> Case:
    header = draw(st.sampled_from(["X-Forwarded-For", "Forwarded"]))
    mode = draw(st.sampled_from(["none", "networks", "hops"]))
    if mode == "networks":
        trusted = TrustedProxies(draw(st.lists(st.sampled_from(TRUSTED_POOL), min_size=1, unique=True)), header=header)
    elif mode == "hops":
        trusted = TrustedProxies(hops=draw(st.integers(1, 4)), header=header)
    else:
        trusted = TrustedProxies(header=header)
    peer_address = draw(st.one_of(st.none(), addresses))
    peer = None if peer_address is None else draw(st.sampled_from([str(peer_address), str(peer_address).upper()]))
    chain = draw(st.lists(st.one_of(addresses, st.none()), max_size=MAX_HOPS + 4))
    render = xff_hop if header == "X-Forwarded-For" else forwarded_hop
    texts = [draw(garbage) if hop is None else draw(render(hop)) for hop in chain]
    cut = sorted(draw(st.lists(st.integers(0, len(texts)), max_size=2)))  # several header lines
    values = [",".join(texts[a:b]) for a, b in zip([0, *cut], [*cut, len(texts)], strict=True)]
    return Case(peer, None if peer_address is None else normal(peer_address), chain, values, trusted)


def trusts(trusted: TrustedProxies, address: Address) -> bool:
    return any(address.version == n.version and address in n for n in trusted.networks)


def expected(case: Case) -> str | None:
    """The rules of backendkit.proxies, over a chain whose hops are known."""
    trusted, peer = case.trusted, case.peer
    nearest_first = [None if hop is None else normal(hop) for hop in reversed(case.chain)]
    if not trusted.enabled:
        return peer
    if trusted.hops:
        walked = nearest_first[: trusted.hops]
        return peer if not walked or None in walked else str(walked[-1])
    if case.peer_address is None or not trusts(trusted, case.peer_address):
        return peer
    for count, hop in enumerate(nearest_first, start=1):
        if count > MAX_HOPS or hop is None:
            return peer
        if not trusts(trusted, hop):
            return str(hop)
    return str(nearest_first[-1]) if nearest_first else peer


@settings(max_examples=400)
@given(cases())
def test_the_client_follows_the_rules(case: Case) -> None:
    assert client_address(case.peer, case.values, case.trusted) == expected(case)


@settings(max_examples=300)
@given(cases())
def test_the_result_is_the_peer_or_a_hop_of_the_header(case: Case) -> None:
    result = client_address(case.peer, case.values, case.trusted)
    hops = {str(normal(hop)) for hop in case.chain if hop is not None}
    assert result == case.peer or result in hops


@settings(max_examples=300)
@given(cases())
def test_an_untrusted_peer_always_wins(case: Case) -> None:
    if case.trusted.hops or (case.peer_address is not None and trusts(case.trusted, case.peer_address)):
        return  # (a number of hops trusts whatever connects: that is what it says)
    assert client_address(case.peer, case.values, case.trusted) == case.peer


trusted_settings = st.one_of(
    st.builds(TrustedProxies),
    st.builds(
        TrustedProxies,
        st.lists(st.sampled_from(TRUSTED_POOL), min_size=1),
        header=st.sampled_from(["X-Forwarded-For", "Forwarded"]),
    ),
    st.builds(
        TrustedProxies,
        hops=st.integers(0, MAX_HOPS),
        header=st.sampled_from(["X-Forwarded-For", "Forwarded"]),
    ),
)
hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from(list('0123456789abcdef.:[]",; =for_-\t')), max_size=300),
    st.lists(
        st.sampled_from(["for=", '"', "[", "]", ":", ",", ";", "::", "1.2.3.4", "[::1]", "\\", "="]), max_size=60
    ).map("".join),
)


@settings(max_examples=500)
@given(st.one_of(st.none(), hostile_text, addresses.map(str)), st.lists(hostile_text, max_size=4), trusted_settings)
def test_never_raises_and_answers_the_peer_or_an_address(
    peer: str | None, values: list[str], trusted: TrustedProxies
) -> None:
    result = client_address(peer, values, trusted)
    assert result == peer or parse_address(result or "") is not None
    if not trusted.hops:
        address = parse_address(peer) if peer else None
        if address is None or not trusted.trusts(address):
            assert result == peer  # an untrusted peer wins, whatever the header holds


@given(st.text(max_size=100))
def test_parse_address_never_raises(text: str) -> None:
    address = parse_address(text)
    assert address is None or str(address) == str(parse_address(str(address)))
