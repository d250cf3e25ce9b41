"""Who a request counts against: the client's address behind trusted proxies, or a header. Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_FORWARDED_FOR = re.compile(r'(?i)(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]+)')


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Trusted proxies as networks: ``"10.0.0.0/8"``, ``"127.0.0.1"``, ``"::1"``."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _address(text: str) -> Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # "192.0.2.60:4711"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_chain(x_forwarded_for: Sequence[str] = (), forwarded: Sequence[str] = ()) -> list[str]:
    """The hops a request claims, nearest last: from ``Forwarded`` (RFC 7239) if present, else ``X-Forwarded-For``."""
    if forwarded:
        return [
            m.group(1) for value in forwarded for element in value.split(",") for m in _FORWARDED_FOR.finditer(element)
        ]
    return [hop for value in x_forwarded_for for hop in value.split(",") if hop.strip()]


def client_ip(
    peer: str | None,
    *,
    trusted_proxies: Sequence[Network] = (),
    x_forwarded_for: Sequence[str] = (),
    forwarded: Sequence[str] = (),
) -> str | None:
    """The client's address: the socket peer, unless the peer is a trusted proxy.

    Then the forwarding headers are read right to left, skipping trusted hops
    only; the first hop that is not a trusted proxy is the client. A hop that is
    not an address ends the walk: the nearest trusted proxy's view is not
    trusted further, and the peer is used. Nothing a client writes can move the
    key unless every proxy on the way is trusted.
    """
    address = _address(peer) if peer else None
    if address is None:
        return peer
    if not _trusted(address, trusted_proxies):
        return str(address)
    nearest = address
    for hop in reversed(forwarded_chain(x_forwarded_for, forwarded)):
        hop_address = _address(hop)
        if hop_address is None:
            return str(address)
        if not _trusted(hop_address, trusted_proxies):
            return str(hop_address)
        nearest = hop_address
    return str(nearest)  # every hop trusted: the request started inside, at the first hop


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def ip_key(ip: str | None, *, ipv6_prefix: int = 64) -> str:
    """The rate-limit key of an address; IPv6 grouped by ``/ipv6_prefix`` (a client owns a /64, not one address)."""
    address = _address(ip) if ip else None
    if address is None:
        return f"ip:{ip or 'unknown'}"
    if isinstance(address, ipaddress.IPv6Address) and ipv6_prefix < 128:
        return f"ip:{ipaddress.IPv6Network((address, ipv6_prefix), strict=False)}"
    return f"ip:{address}"


def secret_key(value: str, *, kind: str = "key") -> str:
    """The rate-limit key of a credential (an API key): hashed, so it is never stored or logged as is."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:32]}"
