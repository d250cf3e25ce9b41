"""CORS as a policy: which origins may read which responses, and the answer to a preflight. Pure.

A :class:`CORS` is checked when it is built (``*`` with credentials is a
configuration error) and decides, for one request, the headers of the
response (:meth:`CORS.response_headers`) or of its preflight
(:meth:`CORS.preflight`). The adapters add what it returns; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from backendkit.errors import ConfigurationError
from backendkit.security._core.origins import OriginMatcher

Header = tuple[str, str]

DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
"""The methods a preflight may ask for by default (every method a JSON API serves)."""

DEFAULT_HEADERS = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Language",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-Modified-Since",
    "If-None-Match",
    "If-Unmodified-Since",
    "traceparent",
    "tracestate",
    "X-API-Key",
)
"""The request headers a preflight may ask for by default: the ones backendkit reads (the request-id
header is added to them, whatever its name)."""

DEFAULT_EXPOSED = (
    "Deprecation",
    "ETag",
    "Idempotent-Replayed",
    "Last-Modified",
    "Link",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Sunset",
    "WWW-Authenticate",
)
"""The response headers a page may read by default: the ones backendkit sends that a client needs (the
request-id header is added to them)."""

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
MAX_REQUESTED_HEADERS = 64
"""A preflight asking for more headers than this is refused (no API needs as many)."""


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigurationError(f"{what} is a list of names, not one string")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN:
            raise ConfigurationError(f"{what}: {name!r} is not a header or method name")
    return names


@dataclass(frozen=True)
class Preflight:
    """The answer to a preflight: allowed (204 with these headers) or refused, and why."""

    allowed: bool
    headers: tuple[Header, ...]
    reason: str | None = None


@dataclass(frozen=True)
class CORS:
    """Cross-origin resource sharing: which pages, on which origins, may call and read the API.

    Args:
        allow_origins: Exact origins (``"https://app.example.com"``), subdomain patterns
            (``"https://*.example.com"`` for one label, ``"https://**.example.com"`` for any
            depth), ``"null"`` or a non-HTTP(S) origin named exactly, or ``"*"`` for any
            HTTP(S) origin (not with credentials). Compared after normalising case and
            default ports.
        allow_credentials: Let pages send cookies and ``Authorization`` and read the answer
            (``Access-Control-Allow-Credentials: true``); the request's origin is echoed.
        allow_methods: What a preflight may ask for.
        allow_headers: The request headers a preflight may ask for (case-insensitive); ``"*"``
            in the list allows any.
        expose_headers: The response headers a page may read beyond the CORS-safelisted ones.
        max_age: Seconds a browser may keep a preflight's answer (``Access-Control-Max-Age``).
        allow_private_network: Answer Private Network Access preflights
            (``Access-Control-Request-Private-Network``) from allowed origins.

    Raises:
        ConfigurationError: ``*`` with credentials, an origin that is none, a bad name.

    Example:
        >>> cors = CORS(allow_origins=["https://app.example.com"], allow_credentials=True)
        >>> dict(cors.response_headers("https://app.example.com"))["Access-Control-Allow-Origin"]
        'https://app.example.com'
        >>> cors.response_headers("https://evil.test")
        (('Vary', 'Origin'),)
    """

    allow_origins: Iterable[str] = ()
    allow_credentials: bool = False
    allow_methods: Iterable[str] = DEFAULT_METHODS
    allow_headers: Iterable[str] = DEFAULT_HEADERS
    expose_headers: Iterable[str] = DEFAULT_EXPOSED
    max_age: int = 600
    allow_private_network: bool = False
    matcher: OriginMatcher = field(init=False, repr=False, compare=False)
    _methods: frozenset[str] = field(init=False, repr=False, compare=False)
    _headers: frozenset[str] = field(init=False, repr=False, compare=False)
    _any_header: bool = field(init=False, repr=False, compare=False)
    _allowed_tail: tuple[Header, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.allow_origins, str):
            raise ConfigurationError("allow_origins is a list of origins, not one string")
        origins = tuple(self.allow_origins)
        for name in ("allow_credentials", "allow_private_network"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be True or False")
        if self.allow_credentials and "*" in origins:
            raise ConfigurationError(
                "allow_origins=['*'] with allow_credentials=True would let every site act as the signed-in user; "
                "list the origins instead"
            )
        max_age = self.max_age
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ConfigurationError("max_age is a number of seconds (0 or more)")
        methods = tuple(m.upper() for m in _names(self.allow_methods, "allow_methods"))
        headers = tuple(h for h in self.allow_headers) if not isinstance(self.allow_headers, str) else ()
        any_header = "*" in headers
        headers = _names([h for h in headers if h != "*"], "allow_headers")
        if isinstance(self.allow_headers, str):
            raise ConfigurationError("allow_headers is a list of names, not one string")
        exposed = _names(self.expose_headers, "expose_headers")
        set_ = object.__setattr__
        set_(self, "allow_origins", origins)
        set_(self, "allow_methods", methods)
        set_(self, "allow_headers", (*headers, *(("*",) if any_header else ())))
        set_(self, "expose_headers", exposed)
        set_(self, "matcher", OriginMatcher(origins))
        set_(self, "_methods", frozenset(methods))
        set_(self, "_headers", frozenset(h.lower() for h in headers))
        set_(self, "_any_header", any_header)
        tail: list[Header] = []
        if self.allow_credentials:
            tail.append(("Access-Control-Allow-Credentials", "true"))
        if exposed:
            tail.append(("Access-Control-Expose-Headers", ", ".join(exposed)))
        set_(self, "_allowed_tail", tuple(tail))

    def with_headers(self, *, allow: Iterable[str] = (), expose: Iterable[str] = ()) -> CORS:
        """This policy with more allowed request headers and exposed response headers (the request-id header)."""
        allowed = list(self.allow_headers)
        exposed = list(self.expose_headers)
        allowed += [h for h in allow if h.lower() not in {a.lower() for a in allowed}]
        exposed += [h for h in expose if h.lower() not in {e.lower() for e in exposed}]
        return CORS(
            allow_origins=self.allow_origins,
            allow_credentials=self.allow_credentials,
            allow_methods=self.allow_methods,
            allow_headers=allowed,
            expose_headers=exposed,
            max_age=self.max_age,
            allow_private_network=self.allow_private_network,
        )

    @property
    def star(self) -> bool:
        """Whether an allowed origin is answered ``*`` rather than echoed (``["*"]`` alone, no credentials)."""
        return self.matcher.any and not self.matcher.exact and not self.matcher.patterns

    def response_headers(self, origin: str | None) -> tuple[Header, ...]:
        """The CORS headers of a response to a request from ``origin`` (the ``Origin`` value, or ``None``).

        ``Vary: Origin`` always, ``*`` included: a request without an ``Origin`` (or
        from ``null``) gets no ``Access-Control-Allow-Origin``, so the answer depends
        on the origin whatever the policy, and a cache must keep the variants apart.
        """
        vary: tuple[Header, ...] = (("Vary", "Origin"),)
        if origin is None or not self.matcher.allows(origin):
            return vary
        allowed = "*" if self.star else origin
        return (("Access-Control-Allow-Origin", allowed), *self._allowed_tail, *vary)

    def preflight(
        self,
        origin: str,
        method: str,
        requested_headers: str | None,
        private_network: bool = False,
    ) -> Preflight:
        """The answer to a preflight from ``origin`` for ``method`` with ``requested_headers`` (comma-separated)."""
        vary_names = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        if self.allow_private_network:
            vary_names += ", Access-Control-Request-Private-Network"
        vary = ("Vary", vary_names)
        if not self.matcher.allows(origin):
            return Preflight(False, (vary,), f"the origin {origin[:100]!r} is not allowed")
        if method not in self._methods:
            return Preflight(False, (vary,), f"the method {method[:20]!r} is not allowed")
        requested = [h.strip() for h in (requested_headers or "").split(",") if h.strip()]
        if len(requested) > MAX_REQUESTED_HEADERS:
            return Preflight(False, (vary,), "too many request headers")
        if not all(set(h) <= _TOKEN for h in requested):
            return Preflight(False, (vary,), "a requested header is not a header name")
        if not self._any_header:
            refused = [h for h in requested if h.lower() not in self._headers]
            if refused:
                return Preflight(False, (vary,), f"the request header {refused[0][:40]!r} is not allowed")
        if private_network and not self.allow_private_network:
            return Preflight(False, (vary,), "private network access is not allowed")
        allowed_origin = "*" if self.star else origin
        headers: list[Header] = [("Access-Control-Allow-Origin", allowed_origin)]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        headers.append(("Access-Control-Allow-Methods", ", ".join(self.allow_methods)))
        if requested:  # echoed: a browser ignores "*" in a credentialed preflight
            headers.append(("Access-Control-Allow-Headers", ", ".join(h.lower() for h in requested)))
        headers.append(("Access-Control-Max-Age", str(self.max_age)))
        if private_network:
            headers.append(("Access-Control-Allow-Private-Network", "true"))
        headers.append(vary)
        return Preflight(True, tuple(headers))
