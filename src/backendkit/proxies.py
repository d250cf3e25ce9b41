"""Who the client is: the socket peer, or behind trusted proxies the address they forwarded. Pure.

One setting, ``TRUSTED_PROXIES``, says which proxies may name the client, and
:func:`client_address` is the one function that reads it. Every adapter calls
it once per request; the rate-limit keys, the idempotency scope, the log lines
and :func:`backendkit.context.get_client_ip` all read its answer.

The rules:

- Nothing configured (the default): the client is the socket peer, and no
  forwarding header is read.
- ``TrustedProxies(["10.0.0.0/8", "127.0.0.1"])``: when the peer is one of these
  networks, the forwarding header is read right to left, skipping trusted hops;
  the first hop that is not trusted is the client. When every hop is trusted,
  the request started inside, at the leftmost hop.
- ``TrustedProxies(hops=2)``: exactly two proxies stand in front of the
  application, whatever their addresses; the client is the second hop from the
  right (or the leftmost one, when fewer are there).
- Exactly one header is read: ``X-Forwarded-For`` by default, or RFC 7239
  ``Forwarded`` (its ``for=`` parameter) when the proxies write that one.
- A hop that is not an address (``unknown``, an obfuscated ``_name``, garbage),
  or a chain longer than :data:`MAX_HOPS`, ends the walk: the client is then
  the peer. Nothing a client writes can name another client unless every
  proxy on its way is trusted.

Example:
    >>> from backendkit.proxies import TrustedProxies, client_address
    >>> client_address("10.0.0.2", ["198.51.100.7, 10.0.0.9"], TrustedProxies(["10.0.0.0/8"]))
    '198.51.100.7'
    >>> client_address("203.0.113.5", ["198.51.100.7"], TrustedProxies(["10.0.0.0/8"]))  # not a proxy of ours
    '203.0.113.5'
    >>> client_address("10.0.0.2", ["198.51.100.7"], TrustedProxies())  # nothing trusted: the peer
    '10.0.0.2'
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded")
"""The forwarding headers that can name the client: one of them, the one your proxies write."""

MAX_HOPS = 32
"""The most hops read from a forwarding header; a longer walk ends at the peer."""

_MAX_ADDRESS_LENGTH = 64  # '"[ffff:...:ffff%zone]:65535"' with room to spare; anything longer is no address
_MAX_ELEMENT_LENGTH = 1024  # one Forwarded element: for, by, host and proto
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;"\s]*)\s*(?:;|$)')
_PORT = re.compile(r"[0-9]{1,5}")


class TrustedProxies:
    """Which proxies in front of the application may say who the client is.

    Args:
        networks: The proxies' addresses or networks (``"10.0.0.0/8"``,
            ``"127.0.0.1"``, ``"::1"``): the forwarding header is read only when
            the socket peer is one of them, and only their hops are skipped.
        hops: Or the number of proxies every request passes through, whatever
            their addresses (a load balancer whose address changes, a Unix
            socket). Give ``networks`` or ``hops``, not both.
        header: The one forwarding header those proxies write:
            ``"X-Forwarded-For"`` (the default) or ``"Forwarded"`` (RFC 7239).
            The other one is never read: a proxy passes through the headers it
            does not set, so reading it would let a client choose its address.

    Raises:
        ValueError: A network that is not one, a count below zero, both forms
            at once, or another header.

    Example:
        >>> TrustedProxies(["10.0.0.0/8"]).enabled, TrustedProxies().enabled
        (True, False)
        >>> TrustedProxies(hops=1, header="Forwarded")
        TrustedProxies(hops=1, header='forwarded')
    """

    __slots__ = ("header", "hops", "networks")

    def __init__(self, networks: Iterable[str] = (), *, hops: int = 0, header: str = "X-Forwarded-For") -> None:
        if isinstance(networks, str):
            networks = [part for part in networks.split(",") if part.strip()]
        self.networks: tuple[Network, ...] = tuple(_network(value) for value in networks)
        if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= MAX_HOPS:
            raise ValueError(f"hops is a number of proxies, 0 to {MAX_HOPS}, not {hops!r}")
        if hops and self.networks:
            raise ValueError("trust proxies by their networks or by their number (hops), not both")
        self.hops = hops
        lowered = header.lower() if isinstance(header, str) else header
        if lowered not in FORWARDING_HEADERS:
            raise ValueError(f"the forwarding header is 'X-Forwarded-For' or 'Forwarded', not {header!r}")
        self.header: str = lowered

    @classmethod
    def from_setting(cls, value: object) -> TrustedProxies:
        """The ``TRUSTED_PROXIES`` setting as an object.

        ``None``, ``0`` or an empty list: none. A list of networks (or one string
        of them, comma-separated): those. A number: that many hops. A
        :class:`TrustedProxies`: itself. Anything else is a ``ValueError``.
        """
        if isinstance(value, TrustedProxies):
            return value
        if value is None:
            return cls()
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(hops=value)
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
            return cls(sorted(value) if isinstance(value, (set, frozenset)) else value)
        raise ValueError(
            "TRUSTED_PROXIES is a list of proxy addresses or networks, a number of hops, "
            f"a TrustedProxies or None, not {value!r}"
        )

    @property
    def enabled(self) -> bool:
        """Whether any proxy is trusted (when not, forwarding headers are never read)."""
        return bool(self.networks or self.hops)

    def trusts(self, address: Address) -> bool:
        """Whether ``address`` is one of the trusted networks (always false when trusting by hops)."""
        return any(address.version == net.version and address in net for net in self.networks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrustedProxies):
            return NotImplemented
        return (self.networks, self.hops, self.header) == (other.networks, other.hops, other.header)

    def __hash__(self) -> int:
        return hash((self.networks, self.hops, self.header))

    def __repr__(self) -> str:
        if self.hops:
            return f"TrustedProxies(hops={self.hops}, header={self.header!r})"
        return f"TrustedProxies({[str(n) for n in self.networks]!r}, header={self.header!r})"


def _network(value: str) -> Network:
    if not isinstance(value, str):
        raise ValueError(f"a trusted proxy is an address or a network, not {value!r}")
    text = value.strip()
    if text == "*":
        raise ValueError("'*' would let any client name itself; trust your proxies by address, or by hops=N")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"a trusted proxy is an address or a network, not {value!r}") from None


def parse_address(text: str) -> Address | None:
    """An address as servers and proxies write it, or ``None`` for anything else.

    Accepts ``192.0.2.1``, ``192.0.2.1:8080``, ``2001:db8::1``, ``[2001:db8::1]``,
    ``[2001:db8::1]:8080`` and each of them in double quotes (``Forwarded``'s
    quoted strings); an IPv4-mapped IPv6 address is read as the IPv4 address.

    Example:
        >>> parse_address('"[2001:db8::1]:4711"'), parse_address("unknown")
        (IPv6Address('2001:db8::1'), None)
    """
    if len(text) > _MAX_ADDRESS_LENGTH:
        return None
    return _parse_address(text)


@functools.lru_cache(maxsize=4096)  # 3.8 us a parse, 0.1 us a hit: a trusted request reads two or three
def _parse_address(text: str) -> Address | None:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if text.startswith("["):
        close = text.find("]")
        rest = text[close + 1 :] if close > 0 else "?"
        if rest and not (rest[0] == ":" and _PORT.fullmatch(rest[1:])):
            return None
        text = text[1:close]
    elif text.count(":") == 1:  # "192.0.2.60:4711"
        text, port = text.split(":")
        if not _PORT.fullmatch(port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str | None, values: Sequence[str], trusted: TrustedProxies) -> str | None:
    """The client's address: the socket peer, unless trusted proxies forwarded another.

    Args:
        peer: The socket peer's address as the server reports it (``REMOTE_ADDR``,
            the ASGI ``client``), or ``None``.
        values: The lines of the one forwarding header ``trusted.header`` names,
            in the order they came (one line is enough: servers join them with ``,``).
        trusted: The ``TRUSTED_PROXIES`` setting.

    Returns:
        The peer, as given, or a hop of the header, normalised (no port, no
        brackets, an IPv4-mapped address as IPv4). Never raises.
    """
    if not trusted.enabled:
        return peer
    if trusted.hops:
        found = _nth_hop(values, trusted)
        return peer if found is None else str(found)
    address = parse_address(peer) if peer else None
    if address is None or not trusted.trusts(address):
        return peer
    nearest: Address | None = None
    for hop in _hops(values, trusted.header):
        if hop is None:  # not an address: the trusted proxies' word ends here
            return peer
        if not trusted.trusts(hop):
            return str(hop)
        nearest = hop
    return peer if nearest is None else str(nearest)  # every hop trusted: the first one sent it


def _nth_hop(values: Sequence[str], trusted: TrustedProxies) -> Address | None:
    found: Address | None = None
    for count, hop in enumerate(_hops(values, trusted.header), start=1):
        if hop is None:
            return None
        found = hop
        if count == trusted.hops:
            break
    return found  # fewer hops than proxies: the leftmost was still written by one of them


def _hops(values: Sequence[str], header: str) -> Iterator[Address | None]:
    """The header's hops, nearest first, as addresses (``None`` for one that is not); then ``None`` past MAX_HOPS."""
    walked = 0
    for value in reversed(values):
        for segment in _segments_from_right(value):
            if not segment.strip():
                continue  # "a, , b": an empty list member is no hop (RFC 9110 lists allow them)
            walked += 1
            if walked > MAX_HOPS:
                yield None
                return
            yield parse_address(segment) if header == "x-forwarded-for" else _forwarded_for(segment)


def _segments_from_right(value: str) -> Iterator[str]:
    # Right to left, without splitting the whole value: only the hops walked are read.
    end = len(value)
    while True:
        start = value.rfind(",", 0, end)
        yield value[start + 1 : end]
        if start < 0:
            return
        end = start


def _forwarded_for(element: str) -> Address | None:
    """The ``for=`` of one ``Forwarded`` element; ``None`` when it has not exactly one, or is malformed."""
    found = _parameter(element, "for")
    return parse_address(found[0]) if found is not None and len(found) == 1 else None


def _parameter(element: str, name: str) -> list[str] | None:
    """The values of parameter ``name`` in one ``Forwarded`` element, as written; ``None`` when malformed."""
    if len(element) > _MAX_ELEMENT_LENGTH:
        return None
    found: list[str] = []
    position, end = 0, len(element.rstrip())
    while position < end:
        pair = _PAIR.match(element, position)
        if pair is None or pair.end() == position:
            return None
        if pair.group(1).lower() == name:
            found.append(pair.group(2))
        position = pair.end()
    return found


def forwarded_https(
    peer: str | None, value: str | None, trusted: TrustedProxies, forwarded: Sequence[str] = ()
) -> bool:
    """Whether the trusted proxy the client reached says it came over HTTPS.

    ``value`` is the header the proxies write the scheme in: ``X-Forwarded-Proto``
    when the forwarding header is ``X-Forwarded-For`` (whose lines are
    ``forwarded``), ``Forwarded`` (its ``proto=``) when it is that one. The scheme
    read is the one of the hop :func:`client_address` takes the client from: a CDN
    that took the client's HTTPS in front of a load balancer on plain HTTP says
    ``https, http``, and the client's connection was the first. With no
    ``X-Forwarded-For`` lines, the nearest proxy's entry; with fewer
    ``X-Forwarded-Proto`` entries than hops (a proxy that overwrites it), the
    leftmost. Nothing is read unless the peer is a trusted proxy.

    Example:
        >>> forwarded_https("10.0.0.2", "http, https", TrustedProxies(["10.0.0.0/8"]))
        True
        >>> forwarded_https("10.0.0.2", "https, http", TrustedProxies(["10.0.0.0/8"]), ["203.0.113.9, 10.0.0.7"])
        True
        >>> forwarded_https("203.0.113.5", "https", TrustedProxies(["10.0.0.0/8"]))
        False
    """
    if not value or not trusted.enabled or len(value) > _MAX_ELEMENT_LENGTH * MAX_HOPS:
        return False
    if trusted.header == "forwarded":
        position = _client_position(peer, (value,), trusted)
    elif forwarded:
        position = _client_position(peer, forwarded, trusted)
    else:
        position = 1 if trusted.hops or _is_trusted(peer, trusted) else 0
    if position == 0 and (trusted.hops or _is_trusted(peer, trusted)):
        position = 1  # the hops name no client (an element without for=): the nearest proxy's word
    if position == 0:
        return False
    entries = [entry.strip() for entry in value.split(",")]
    entry = entries[-position] if position <= len(entries) else entries[0]
    if trusted.header == "x-forwarded-for":
        return entry.lower() == "https"
    return _forwarded_proto(entry) == ["https"]


def _is_trusted(peer: str | None, trusted: TrustedProxies) -> bool:
    address = _parse_address(peer) if peer else None
    return address is not None and trusted.trusts(address)


def _client_position(peer: str | None, values: Sequence[str], trusted: TrustedProxies) -> int:
    """Which hop from the right :func:`client_address` takes the client from (0: the peer itself)."""
    position = 0
    if trusted.hops:
        for position, hop in enumerate(_hops(values, trusted.header), start=1):
            if hop is None:
                return 0
            if position == trusted.hops:
                break
        return position
    if not _is_trusted(peer, trusted):
        return 0
    for walked, hop in enumerate(_hops(values, trusted.header), start=1):
        if hop is None:
            return 0
        position = walked
        if not trusted.trusts(hop):
            break
    return position


def _forwarded_proto(element: str) -> list[str] | None:
    """The ``proto=`` values of one ``Forwarded`` element, read as ``for=`` is (``None``: malformed)."""
    found = _parameter(element, "proto")
    return None if found is None else [value.strip('"').lower() for value in found]


__all__ = ["FORWARDING_HEADERS", "MAX_HOPS", "TrustedProxies", "client_address", "forwarded_https", "parse_address"]
