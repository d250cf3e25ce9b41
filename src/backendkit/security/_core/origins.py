"""Origins as browsers serialize them, normalised, and the patterns an application allows.

An origin is compared after normalising it (lower-case scheme and host, no
default port), never by substring or suffix: ``https://example.com.evil.test``
and ``https://evilexample.com`` are not ``https://example.com`` nor one of its
subdomains. ``null`` and origins that are not HTTP(S) are allowed only when the
application names them exactly.

Example:
    >>> matcher = OriginMatcher(["https://app.example.com", "https://*.example.org"])
    >>> matcher.allows("https://APP.example.com:443"), matcher.allows("https://a.example.org")
    (True, True)
    >>> matcher.allows("https://example.org"), matcher.allows("https://a.b.example.org")
    (False, False)
    >>> matcher.allows("https://example.org.evil.test"), matcher.allows("null")
    (False, False)
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from backendkit.errors import ConfigurationError

MAX_ORIGIN_LENGTH = 512
"""An ``Origin`` longer than this is no origin (a DNS name is at most 253 characters)."""

DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_IPV6 = re.compile(r"\[[0-9a-f:.]{2,45}\]\Z")
_OPAQUE_HOST = re.compile(r"[a-z0-9._~-]{1,253}\Z")  # the host of an origin that is not HTTP(S) (an extension id)


def normalize_origin(text: str) -> str | None:
    """The canonical ``scheme://host[:port]`` of an ``Origin`` value, or ``None`` when it is not one.

    ``null`` stays ``null``. An HTTP(S) origin keeps a port only when it is not
    the scheme's default. A path, a query, credentials, a trailing slash,
    whitespace or anything outside ASCII make it no origin.

    Example:
        >>> normalize_origin("HTTPS://Example.COM:443"), normalize_origin("http://127.0.0.1:8080")
        ('https://example.com', 'http://127.0.0.1:8080')
        >>> normalize_origin("https://example.com/"), normalize_origin("https://user@example.com")
        (None, None)
    """
    if not text or len(text) > MAX_ORIGIN_LENGTH or not text.isascii() or not text.isprintable():
        return None
    if text == "null":
        return "null"
    scheme, sep, authority = text.partition("://")
    scheme = scheme.lower()
    if not sep or not _SCHEME.match(scheme) or not authority:
        return None
    authority = authority.lower()
    if scheme not in DEFAULT_PORTS:
        return f"{scheme}://{authority}" if _OPAQUE_HOST.match(authority) else None
    host, port = _split_port(authority)
    if host is None or not _valid_host(host):
        return None
    if host.startswith("["):  # as browsers write it: [0:0::1] is [::1]
        try:
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _split_port(authority: str) -> tuple[str | None, int | None]:
    """Host and port of ``host[:port]`` (a bracketed IPv6 host keeps its brackets); ``(None, None)`` if bad."""
    if authority.startswith("["):
        end = authority.find("]")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            return None, None
        digits = rest[1:] if rest else None
    else:
        host, colon, digits_or_empty = authority.partition(":")
        digits = digits_or_empty if colon else None
    if digits is None:
        return host, None
    if not digits.isdigit() or not digits.isascii() or len(digits) > 5 or not 0 < int(digits) <= 65535:
        return None, None
    return host, int(digits)


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        return bool(_IPV6.match(host))
    if len(host) > 253:
        return False
    return all(_LABEL.match(label) for label in host.split("."))


@dataclass(frozen=True)
class OriginPattern:
    """Origins whose host is a subdomain of ``suffix``: one label deep, or any depth with ``deep``."""

    scheme: str
    suffix: str
    port: int | None
    deep: bool

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        """Whether a normalised origin's parts fall under this pattern."""
        if scheme != self.scheme or port != self.port or not host.endswith("." + self.suffix):
            return False
        sub = host[: -len(self.suffix) - 1]
        return self.deep or "." not in sub


def parse_pattern(text: str) -> str | OriginPattern:
    """An allowed-origin setting: an exact origin (normalised) or a pattern; ``ConfigurationError`` if neither.

    ``https://*.example.com`` matches one subdomain label (``a.example.com``);
    ``https://**.example.com`` any number of them (``a.b.example.com`` too).
    Neither matches ``https://example.com`` itself: list it as well.
    """
    if not isinstance(text, str):
        raise ConfigurationError(f"an allowed origin is a string, not {text!r}")
    star = text.find("://*.")
    deep = text.find("://**.")
    if star < 0 and deep < 0:
        origin = normalize_origin(text)
        if origin is None:
            raise ConfigurationError(
                f"{text!r} is not an origin: write scheme://host[:port], with no path and no trailing slash"
            )
        return origin
    wildcard = "**." if deep >= 0 else "*."
    concrete = normalize_origin(text.replace("://" + wildcard, "://x.", 1))
    if concrete is None or concrete == "null" or concrete.split("://", 1)[0] not in DEFAULT_PORTS:
        raise ConfigurationError(f"{text!r} is not an origin pattern: write https://*.example.com[:port]")
    scheme, authority = concrete.split("://", 1)
    host, port = _split_port(authority)
    assert host is not None
    suffix = host[2:]
    if suffix.count(".") < 1 or suffix.startswith("["):
        raise ConfigurationError(f"{text!r} is too broad: a wildcard stands for a subdomain of a registered domain")
    if suffix.rsplit(".", 1)[1].isdigit():  # "https://*.0.0.1" would match 127.0.0.1, 10.0.0.1...
        raise ConfigurationError(f"{text!r}: an IP address has no subdomains; list the addresses")
    return OriginPattern(scheme, suffix, port, wildcard == "**.")


class OriginMatcher:
    """The origins an application allows: exact ones, subdomain patterns, or ``*`` for any."""

    __slots__ = ("any", "exact", "patterns")

    def __init__(self, allowed: Iterable[str]) -> None:
        if isinstance(allowed, str):
            raise ConfigurationError("allowed origins are a list of strings, not one string")
        self.any = False
        exact: set[str] = set()
        patterns: list[OriginPattern] = []
        for item in allowed:
            if item == "*":
                self.any = True
                continue
            parsed = parse_pattern(item)
            if isinstance(parsed, OriginPattern):
                patterns.append(parsed)
            else:
                exact.add(parsed)
        self.exact = frozenset(exact)
        self.patterns = tuple(patterns)

    def allows(self, origin: str) -> bool:
        """Whether the ``Origin`` value ``origin`` is allowed (``*`` allows any origin but ``null``)."""
        normal = origin if origin in self.exact else normalize_origin(origin)  # (the exact spelling is the common case)
        if normal is None:
            return False
        if normal in self.exact:
            return True
        if normal == "null":
            return False
        scheme, authority = normal.split("://", 1)
        if scheme not in DEFAULT_PORTS:
            return False
        if self.any:
            return True
        host, port = _split_port(authority)
        return host is not None and any(p.matches(scheme, host, port) for p in self.patterns)
