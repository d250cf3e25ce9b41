"""Who a request counts against: the client's address (decided once per request), the user, or a header. Pure."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from backendkit.context import client_ip_or, request_facts_var
from backendkit.proxies import parse_address


def ip_key(ip: str | None, *, ipv6_prefix: int = 64) -> str:
    """The rate-limit key of an address; IPv6 grouped by ``/ipv6_prefix`` (a client owns a /64, not one address)."""
    return _ip_key(ip, ipv6_prefix)


@functools.lru_cache(maxsize=8192)  # parsing an address costs more than the rest of a memory check
def _ip_key(ip: str | None, ipv6_prefix: int) -> str:
    address = parse_address(ip) if ip else None
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

    The client's address is :attr:`client`: the peer, or behind the proxies the
    ``TRUSTED_PROXIES`` setting names, the client they forwarded.
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
    def client(self) -> str | None:
        """The client's address, as every piece sees it (:func:`backendkit.context.get_client_ip`).

        Decided once per request by the adapter from the ``TRUSTED_PROXIES``
        setting; the socket peer when no adapter has started the request.
        """
        return client_ip_or(self.peer)

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


def by_ip(*, ipv6_prefix: int = 64) -> Callable[[RequestInfo], str]:
    """Key requests by the client's address (:attr:`RequestInfo.client`); IPv6 by its ``/ipv6_prefix`` network.

    The address is the socket peer, or behind the proxies the application's
    ``TRUSTED_PROXIES`` setting names, the client they forwarded: the same
    address the idempotency scope and the logs use. (Trusted proxies were once
    an argument of this function; they are a setting now, so that every piece
    agrees on who the client is.)

    Args:
        ipv6_prefix: IPv6 clients are keyed by their network of this size.

    Example:
        >>> info = RequestInfo(
        ...     method="GET", path="/", peer="10.0.0.2", native=None,
        ...     headers=lambda name: {"x-forwarded-for": ["198.51.100.7"]}.get(name, []),
        ... )
        >>> by_ip()(info)  # outside a request no proxy is trusted: the peer
        'ip:10.0.0.2'
    """

    def key(request: RequestInfo) -> str:
        return ip_key(request.client, ipv6_prefix=ipv6_prefix)

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
