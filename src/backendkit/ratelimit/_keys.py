"""Who a request counts against: the client's address behind trusted proxies, or a header. Pure."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from backendkit.context import request_facts_var

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


FORWARDING_HEADERS = ("x-forwarded-for", "forwarded")
"""The forwarding headers a key can read: one of them, the one your proxies set."""


def forwarding_header(name: str) -> str:
    """``name`` as one of :data:`FORWARDING_HEADERS`, lower-cased; anything else is a ``ValueError``."""
    lowered = name.lower() if isinstance(name, str) else name
    if lowered not in FORWARDING_HEADERS:
        raise ValueError(f"the forwarding header is 'X-Forwarded-For' or 'Forwarded', not {name!r}")
    return str(lowered)


def forwarded_chain(values: Sequence[str], *, header: str = "x-forwarded-for") -> list[str]:
    """The hops that the values of one forwarding header claim, nearest last.

    ``header`` says how to read them: ``X-Forwarded-For`` (comma-separated
    addresses) or ``Forwarded`` (RFC 7239, the ``for=`` of each element).
    """
    if forwarding_header(header) == "forwarded":
        return [
            m.group(1) for value in values for element in value.split(",") for m in _FORWARDED_FOR.finditer(element)
        ]
    return [hop for value in values for hop in value.split(",") if hop.strip()]


def client_ip(
    peer: str | None,
    *,
    trusted_proxies: Sequence[Network] = (),
    values: Sequence[str] = (),
    header: str = "x-forwarded-for",
) -> str | None:
    """The client's address: the socket peer, unless the peer is a trusted proxy.

    Then ``values``, the values of the one forwarding header ``header`` that
    your proxies set, is read right to left, skipping trusted hops only; the
    first hop that is not a trusted proxy is the client. A hop that is not an
    address ends the walk: the nearest trusted proxy's view is not trusted
    further, and the peer is used. Nothing a client writes can move the key
    unless every proxy on the way is trusted. No other forwarding header is
    read: a proxy that appends to ``X-Forwarded-For`` passes a client's own
    ``Forwarded`` through untouched, and reading it would let the client choose
    its key.
    """
    address = _address(peer) if peer else None
    if address is None:
        return peer
    if not _trusted(address, trusted_proxies):
        return str(address)
    nearest = address
    for hop in reversed(forwarded_chain(values, header=header)):
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
    return _ip_key(ip, ipv6_prefix)


@functools.lru_cache(maxsize=8192)  # parsing an address costs more than the rest of a memory check
def _ip_key(ip: str | None, ipv6_prefix: int) -> str:
    address = _address(ip) if ip else None
    if address is None:
        return f"ip:{ip or 'unknown'}"
    if isinstance(address, ipaddress.IPv6Address) and ipv6_prefix < 128:
        return f"ip:{ipaddress.IPv6Network((address, ipv6_prefix), strict=False)}"
    return f"ip:{address}"


def secret_key(value: str, *, kind: str = "key") -> str:
    """The rate-limit key of a credential (an API key): hashed, so it is never stored or logged as is."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:32]}"


class RequestInfo:
    """What key functions, cost functions and exemption predicates see of a request, on every framework.

    The adapters build it; ``native`` is the framework's own request object
    (Starlette's ``Request`` or the ASGI scope, Flask's ``request``, Django's
    ``HttpRequest``) for anything framework-specific.

    Attributes:
        method: The HTTP method.
        path: The request path.
        peer: The socket peer's address (``REMOTE_ADDR``), as the server reports it.
        native: The framework's request object.
    """

    __slots__ = ("_headers", "method", "native", "path", "peer")

    def __init__(
        self, *, method: str, path: str, peer: str | None, headers: Callable[[str], list[str]], native: Any
    ) -> None:
        self.method = method
        self.path = path
        self.peer = peer
        self.native = native
        self._headers = headers

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], *, path: str, native: Any) -> RequestInfo:
        """The view of a WSGI request (Flask's ``request.environ``, Django's ``request.META``)."""

        def header(name: str) -> list[str]:
            key = name.upper().replace("-", "_")
            value = environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key)
            return [] if value is None else [value]

        return cls(
            method=environ.get("REQUEST_METHOD", ""),
            path=path,
            peer=environ.get("REMOTE_ADDR") or None,
            headers=header,
            native=native,
        )

    def header(self, name: str) -> list[str]:
        """Every value of the request header ``name`` (case-insensitive), in order."""
        return self._headers(name)

    @property
    def route(self) -> str | None:
        """The matched route template (``/tasks/{task_id}``), once the router has run."""
        facts = request_facts_var.get()
        return facts.resolved_route() if facts is not None else None

    @property
    def user(self) -> str | None:
        """The authenticated user's id, as the adapter learns it (see :func:`backendkit.context.set_user_id`)."""
        facts = request_facts_var.get()
        return facts.resolved_user_id() if facts is not None else None


KeyFunction = Callable[[RequestInfo], "str | Awaitable[str | None] | None"]


def by_ip(
    trusted_proxies: Iterable[str] = (), *, header: str = "x-forwarded-for", ipv6_prefix: int = 64
) -> Callable[[RequestInfo], str]:
    """Key requests by client address: the socket peer, or behind ``trusted_proxies`` the forwarded client.

    Args:
        trusted_proxies: Networks of the proxies in front of the app (``"10.0.0.0/8"``).
        header: The one forwarding header those proxies set: ``"X-Forwarded-For"``
            (the default, as nginx, uvicorn and werkzeug's ``ProxyFix`` use it) or
            ``"Forwarded"`` (RFC 7239). The other one is never read.
        ipv6_prefix: IPv6 clients are keyed by their network of this size.

    Example:
        >>> info = RequestInfo(
        ...     method="GET", path="/", peer="10.0.0.2", native=None,
        ...     headers=lambda name: {
        ...         "x-forwarded-for": ["198.51.100.7, 10.0.0.9"], "forwarded": ["for=192.0.2.1"]
        ...     }.get(name, []),
        ... )
        >>> by_ip(["10.0.0.0/8"])(info)
        'ip:198.51.100.7'
        >>> by_ip(["10.0.0.0/8"], header="Forwarded")(info)
        'ip:192.0.2.1'
        >>> by_ip()(info)  # no trusted proxy: the headers are ignored
        'ip:10.0.0.2'
    """
    networks = parse_networks(trusted_proxies)
    header = forwarding_header(header)

    def key(request: RequestInfo) -> str:
        if not networks:
            return ip_key(request.peer, ipv6_prefix=ipv6_prefix)
        address = client_ip(request.peer, trusted_proxies=networks, values=request.header(header), header=header)
        return ip_key(address, ipv6_prefix=ipv6_prefix)

    return key


def by_user(fallback: Callable[[RequestInfo], str | None] | None = None) -> Callable[[RequestInfo], str | None]:
    """Key requests by the authenticated user; anonymous requests by ``fallback`` (the client address by default)."""
    other = fallback if fallback is not None else by_ip()

    def key(request: RequestInfo) -> str | None:
        user = request.user
        return f"user:{user}" if user is not None else other(request)

    return key


def by_header(
    name: str, *, fallback: Callable[[RequestInfo], str | None] | None = None
) -> Callable[[RequestInfo], str | None]:
    """Key requests by a header such as an API key, hashed; requests without it by ``fallback`` (client address).

    Example:
        >>> info = RequestInfo(method="GET", path="/", peer="10.0.0.2", native=None, headers=lambda n: ["s3cret"])
        >>> by_header("X-API-Key")(info).startswith("x-api-key:")
        True
    """
    lowered = name.lower()
    other = fallback if fallback is not None else by_ip()

    def key(request: RequestInfo) -> str | None:
        values = request.header(lowered)
        return secret_key(values[0], kind=lowered) if values and values[0] else other(request)

    return key
