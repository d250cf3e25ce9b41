"""A Content-Security-Policy builder with a per-request nonce. Pure: the nonce is passed in.

Example:
    >>> policy = CSP(default_src=["'self'"], script_src=["'self'", CSP.NONCE], object_src=["'none'"])
    >>> policy.render("abc123")
    "default-src 'self'; script-src 'self' 'nonce-abc123'; object-src 'none'"
    >>> policy.uses_nonce, CSP(default_src=["'none'"]).render(None)
    (True, "default-src 'none'")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from backendkit.errors import ConfigurationError

_NONCE = "'nonce'"
_BAD = frozenset(';,"')  # they would end the source, the directive or the header's list


def _is_source(source: object) -> bool:
    """A source is one printable ASCII word (no space, tab or control character) without ``;``, ``,`` or ``"``."""
    return (
        isinstance(source, str)
        and source.isascii()
        and source.isprintable()
        and bool(source)
        and " " not in source
        and not _BAD & set(source)
    )


class CSP:
    """A Content-Security-Policy, directive by directive.

    Directives are keyword arguments with ``_`` for ``-`` (``script_src``,
    ``frame_ancestors``), or a mapping; each takes a list of sources (an empty
    list for a directive without sources, such as ``upgrade_insecure_requests``).
    :data:`CSP.NONCE` in a list stands for this request's nonce.

    Raises:
        ConfigurationError: A directive or source that would break the header.
    """

    NONCE = _NONCE
    """Write it among a directive's sources; each response gets ``'nonce-<its nonce>'`` there."""

    __slots__ = ("_parts", "directives", "uses_nonce")

    def __init__(self, directives: Mapping[str, Iterable[str]] | None = None, **named: Iterable[str]) -> None:
        merged = {**(directives or {}), **{k.replace("_", "-"): v for k, v in named.items()}}
        parsed: dict[str, tuple[str, ...]] = {}
        for name, sources in merged.items():
            if not isinstance(name, str) or not name or not name.isascii():
                raise ConfigurationError(f"{name!r} is not a CSP directive name")
            name = name.lower()
            if not all(c.isalnum() or c == "-" for c in name):
                raise ConfigurationError(f"{name!r} is not a CSP directive name")
            if isinstance(sources, str) or not isinstance(sources, Iterable):
                raise ConfigurationError(f"the sources of {name} are a list of strings, not {sources!r}")
            items = tuple(sources)
            for source in items:
                if not _is_source(source):
                    raise ConfigurationError(f"{source!r} is not a CSP source (in {name})")
            parsed[name] = items
        if not parsed:
            raise ConfigurationError("a CSP needs at least one directive")
        self.directives = parsed
        text = "; ".join(" ".join((name, *sources)) for name, sources in parsed.items())
        self._parts = text.split(_NONCE)
        self.uses_nonce = len(self._parts) > 1

    def render(self, nonce: str | None) -> str:
        """The header value with ``nonce`` in place of :data:`NONCE` (``'none'``-safe: no nonce, no source)."""
        if not self.uses_nonce:
            return self._parts[0]
        if nonce is None:  # no nonce this time: drop the placeholder (a source list may not stay empty)
            return " ".join("".join(self._parts).split()).replace(" ;", ";")
        return f"'nonce-{nonce}'".join(self._parts)

    def with_report(self, uri: str) -> CSP:
        """This policy with ``report-uri`` pointing at ``uri`` (unless it names one already)."""
        if "report-uri" in self.directives:
            return self
        return CSP({**self.directives, "report-uri": [uri]})

    def __repr__(self) -> str:
        return f"CSP({self.directives!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CSP) and other.directives == self.directives

    def __hash__(self) -> int:
        return hash(tuple(self.directives.items()))


API_POLICY = CSP(default_src=["'none'"], frame_ancestors=["'none'"])
"""What an API response (JSON, no document) needs: nothing may load, nothing may frame it."""

HTML_POLICY = CSP(
    default_src=["'self'"],
    script_src=[CSP.NONCE, "'strict-dynamic'"],
    style_src=["'self'", CSP.NONCE],
    img_src=["'self'", "data:"],
    object_src=["'none'"],
    base_uri=["'none'"],
    form_action=["'self'"],
    frame_ancestors=["'none'"],
)
"""The default for HTML responses: scripts only with this response's nonce (and what they load)."""
