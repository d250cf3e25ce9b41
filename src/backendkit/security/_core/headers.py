"""Security headers for a JSON API, and for the routes that serve HTML. Pure.

:class:`SecurityHeaders` holds the values; :meth:`SecurityHeaders.for_response`
says which go on one response, given what the adapter knows about it (HTML or
not, over HTTPS or not, sent with credentials or not) and what the route asked
for itself. A header the response already carries is the route's own choice and
is never replaced (the adapters check that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backendkit.errors import ConfigurationError
from backendkit.security._core.csp import API_POLICY, CSP
from backendkit.security._core.setting import built

Header = tuple[str, str]

DEFAULT_PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)

# The headers a route can change or remove, by the keyword SecurityHeaders takes for each.
FIELDS = {
    "content_type_options": "X-Content-Type-Options",
    "referrer_policy": "Referrer-Policy",
    "content_security_policy": "Content-Security-Policy",
    "content_security_policy_report_only": "Content-Security-Policy-Report-Only",
    "cross_origin_opener_policy": "Cross-Origin-Opener-Policy",
    "cross_origin_resource_policy": "Cross-Origin-Resource-Policy",
    "permissions_policy": "Permissions-Policy",
    "frame_options": "X-Frame-Options",
    "strict_transport_security": "Strict-Transport-Security",
    "cache_control": "Cache-Control",
}


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isprintable() or not value.isascii() or not value.strip():
        raise ConfigurationError(f"{name} is a header value (printable ASCII) or None, not {value!r}")
    return value


def _policy(name: str, value: object) -> CSP | None:
    if value is None or isinstance(value, CSP):
        return value
    if isinstance(value, str):
        raise ConfigurationError(f"{name} is a CSP(...) (backendkit.security.CSP) or None, not a string")
    if isinstance(value, Mapping):
        return CSP(value)
    raise ConfigurationError(f"{name} is a CSP(...) or None, not {value!r}")


@dataclass(frozen=True)
class SecurityHeaders:
    """The security headers on every response, each one changeable, or removable with ``None``.

    Args:
        content_type_options: ``X-Content-Type-Options``.
        referrer_policy: ``Referrer-Policy``.
        content_security_policy: The CSP of responses that are not HTML (a :class:`CSP`).
        html_policy: The CSP of ``text/html`` responses (none by default: an application's
            pages, FastAPI's ``/docs`` or Django's admin, load scripts that a policy written
            for them must allow; :data:`~backendkit.security.HTML_POLICY` is a strict start).
            :data:`CSP.NONCE` in it is the request's nonce, which templates read
            (``csp_nonce``); a response that carries one gets ``Cache-Control: no-store``
            (unless it sets its own), so that no cache hands one nonce to every visitor.
        html_report_only: A second policy for HTML responses, sent as
            ``Content-Security-Policy-Report-Only`` beside the enforced one: try a stricter
            policy before enforcing it.
        cross_origin_opener_policy: ``Cross-Origin-Opener-Policy``.
        cross_origin_resource_policy: ``Cross-Origin-Resource-Policy`` (it does not restrict
            CORS reads, only pages embedding the response without CORS).
        permissions_policy: ``Permissions-Policy``.
        frame_options: ``X-Frame-Options``, for browsers without ``frame-ancestors``.
        strict_transport_security: ``Strict-Transport-Security``, sent only on requests
            that came over HTTPS, directly or through a trusted proxy.
        no_store_when_authenticated: ``Cache-Control: no-store`` on a response to a request
            with credentials (an ``Authorization`` or an ``X-API-Key`` header), unless the
            response sets its own ``Cache-Control``.
        report_path: Where browsers send CSP violation reports (``POST``); it is added to
            the HTML policies as ``report-uri``. ``None``: no endpoint.
        report_max_bytes: The largest report body taken (413 above it).
        reports_per_minute: Violations logged from one client address per minute, per
            process (each body spends one, each violation past its first one more; 429 when
            none is left: a page stuck in a loop cannot flood the log).

    Raises:
        ConfigurationError: A value that is no header value.
    """

    content_type_options: str | None = "nosniff"
    referrer_policy: str | None = "no-referrer"
    content_security_policy: CSP | None = API_POLICY
    html_policy: CSP | None = None
    html_report_only: CSP | None = None
    cross_origin_opener_policy: str | None = "same-origin"
    cross_origin_resource_policy: str | None = "same-origin"
    permissions_policy: str | None = DEFAULT_PERMISSIONS
    frame_options: str | None = "DENY"
    strict_transport_security: str | None = "max-age=31536000; includeSubDomains"
    no_store_when_authenticated: bool = True
    report_path: str | None = None
    report_max_bytes: int = 16_384
    reports_per_minute: int = 30
    _common: tuple[Header, ...] = field(init=False, repr=False, compare=False)
    _api: tuple[Header, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in FIELDS:
            if name.startswith("content_security_policy") or name == "cache_control":
                continue
            _text(name, getattr(self, name))
        set_ = object.__setattr__
        set_(self, "content_security_policy", _policy("content_security_policy", self.content_security_policy))
        report = self.report_path
        if report is not None and (not isinstance(report, str) or not report.startswith("/") or " " in report):
            raise ConfigurationError(f"report_path is a path starting with '/', or None, not {report!r}")
        for name in ("html_policy", "html_report_only"):
            policy = _policy(name, getattr(self, name))
            set_(self, name, policy.with_report(report) if policy is not None and report else policy)
        for name in ("report_max_bytes", "reports_per_minute"):
            number = getattr(self, name)
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ConfigurationError(f"{name} must be a whole number, at least 1")
        if not isinstance(self.no_store_when_authenticated, bool):
            raise ConfigurationError("no_store_when_authenticated must be True or False")
        common = [
            (FIELDS[name], value)
            for name in (
                "content_type_options",
                "referrer_policy",
                "cross_origin_opener_policy",
                "cross_origin_resource_policy",
                "permissions_policy",
                "frame_options",
            )
            if (value := getattr(self, name)) is not None
        ]
        set_(self, "_common", tuple(common))
        api = self.content_security_policy
        set_(self, "_api", (*common, *((("Content-Security-Policy", api.render(None)),) if api else ())))

    @classmethod
    def from_setting(cls, value: Any) -> SecurityHeaders | None:
        """The ``SECURITY_HEADERS`` setting: ``True`` (the defaults), ``None``/``False`` (none), a mapping or one."""
        if value is True:
            return cls()
        if value is None or value is False:
            return None
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return built(cls, value, "SECURITY_HEADERS")
        raise ConfigurationError(f"SECURITY_HEADERS is True, None, a mapping or a SecurityHeaders, not {value!r}")

    @property
    def html_uses_nonce(self) -> bool:
        """Whether HTML responses need a nonce."""
        return any(p is not None and p.uses_nonce for p in (self.html_policy, self.html_report_only))

    def for_response(
        self,
        *,
        html: bool,
        https: bool,
        authenticated: bool,
        nonce: str | None = None,
        overrides: Mapping[str, str | CSP | None] | None = None,
    ) -> tuple[Header, ...] | list[Header]:
        """The headers for one response (the adapter adds those the response does not carry already).

        ``overrides`` are the route's changes (:func:`route_overrides`): header names
        mapped to a value (a :class:`CSP` is rendered with ``nonce``), or to ``None``
        to send none. ``Strict-Transport-Security`` is never sent over plain HTTP,
        a route's own value included.
        """
        if not html and not https and not authenticated and not overrides:
            return self._api  # the common case, built once
        headers = list(self._common if html else self._api)
        if html:
            for name, policy in (
                ("Content-Security-Policy", self.html_policy),
                ("Content-Security-Policy-Report-Only", self.html_report_only),
            ):
                if policy is not None:
                    headers.append((name, policy.render(nonce)))
        if https and self.strict_transport_security is not None:
            headers.append(("Strict-Transport-Security", self.strict_transport_security))
        if authenticated and self.no_store_when_authenticated:
            headers.append(("Cache-Control", "no-store"))
        if overrides:
            lowered = {
                name.lower(): value.render(nonce if html else None) if isinstance(value, CSP) else value
                for name, value in overrides.items()
                if https or name.lower() != "strict-transport-security"
            }
            changed = [(n, lowered.get(n.lower(), v)) for n, v in headers]
            headers = [(n, v) for n, v in changed if v is not None]
            present = {n.lower() for n, _ in changed}
            for name in overrides:
                value = lowered.get(name.lower())
                if value is not None and name.lower() not in present:
                    headers.append((name, value))
        # A page with a nonce is one visitor's: a cache would hand the same nonce to every visitor.
        nonced = nonce is not None and html and _carries(headers, f"'nonce-{nonce}'")
        if nonced and "cache-control" not in {n.lower() for n, _ in headers} | _names(overrides):
            headers.append(("Cache-Control", "no-store"))
        return headers


def overrides_use_nonce(overrides: Mapping[str, str | CSP | None] | None) -> bool:
    """Whether a route's changes hold a policy with :data:`CSP.NONCE` (its HTML responses need a nonce)."""
    if not overrides:
        return False
    return any(isinstance(value, CSP) and value.uses_nonce for value in overrides.values())


def _carries(headers: list[Header], source: str) -> bool:
    """Whether a Content-Security-Policy among ``headers`` names ``source``."""
    return any(n.startswith("Content-Security-Policy") and source in v for n, v in headers)


def _names(overrides: Mapping[str, object] | None) -> set[str]:
    return {name.lower() for name in overrides} if overrides else set()


def route_overrides(**changes: str | CSP | None) -> dict[str, str | CSP | None]:
    """A route's changes by keyword (``frame_options=None``, ``referrer_policy="same-origin"``) as header names.

    A policy (``content_security_policy=CSP(...)``) is kept as one, so that
    :data:`CSP.NONCE` in it becomes the request's nonce on an HTML response.

    Raises:
        ConfigurationError: An unknown keyword or a value that is no header value.
    """
    out: dict[str, str | CSP | None] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise ConfigurationError(f"{name!r} is not a security header; known: {sorted(FIELDS)}")
        out[FIELDS[name]] = value if isinstance(value, CSP) else _text(name, value)
    return out
