"""Which API version a request asked for: a URL prefix, a header, or the media type's ``version`` parameter.

One :class:`Versioning` is the setting; :meth:`Versioning.resolve` reads the one
source it names and answers the version, or raises :class:`UnknownVersion` listing
the supported ones (404 for a path, whose URL then names nothing; 400 otherwise).
A version may carry a :class:`Deprecation`: its responses then say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from backendkit.http._core.deprecation import Deprecation

Source = Literal["path", "header", "media_type"]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class UnknownVersion(ValueError):
    """The request named a version that is not served (or named none where one is required)."""

    def __init__(self, message: str, *, status: int, supported: tuple[str, ...], asked: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.supported = supported
        self.asked = asked


def _params(media_range: str) -> dict[str, str]:
    """The parameters of one media range, names lower-cased, quoted values unquoted; junk skipped."""
    out: dict[str, str] = {}
    for part in _split(media_range, ";")[1:]:
        name, sep, value = part.partition("=")
        name, value = name.strip(" \t").lower(), value.strip(" \t")
        if not sep or _TOKEN.fullmatch(name) is None:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out.setdefault(name, value)
    return out


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quoted-strings (a ``,`` or ``;`` inside quotes splits nothing)."""
    parts, start, quoted, escaped = [], 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _split_ranges(accept: str) -> list[str]:
    """``Accept``'s media ranges: commas inside a quoted parameter do not split."""
    return [r for r in _split(accept, ",") if r.strip(" \t")]


@dataclass(frozen=True)
class Versioning:
    """The versions an API serves and where a request names one.

    Args:
        versions: The served versions, oldest first; a mapping gives each its
            :class:`Deprecation` (or None).
        source: ``"path"`` (``/v2/tasks``: the segment ``v2``), ``"header"``
            (``API-Version: 2``) or ``"media_type"`` (``Accept: application/json; version=2``).
        default: The version of a request that names none (header and media type;
            the newest by default). A path without a version segment is unversioned.
        header: The header of the ``"header"`` source.

    Example:
        >>> v = Versioning(["1", "2"], source="header")
        >>> v.resolve(header="1"), v.resolve(header=None)
        ('1', '2')
        >>> Versioning(["1", "2"], source="media_type").resolve(accept="application/json; version=1")
        '1'
    """

    versions: Sequence[str] | Mapping[str, Deprecation | None]
    source: Source = "path"
    default: str | None = None
    header: str = "API-Version"

    def __post_init__(self) -> None:
        names = tuple(self.versions)
        if not names:
            raise ValueError("Versioning needs at least one version")
        for name in names:
            if _NAME.fullmatch(name) is None:
                raise ValueError(f"a version is 1-32 letters, digits, '.', '_' or '-': {name!r}")
        if self.source not in ("path", "header", "media_type"):
            raise ValueError(f"source is 'path', 'header' or 'media_type', not {self.source!r}")
        if self.default is not None and self.default not in names:
            raise ValueError(f"the default version {self.default!r} is not one of {list(names)}")
        if _TOKEN.fullmatch(self.header) is None:
            raise ValueError(f"not a header name: {self.header!r}")

    @property
    def supported(self) -> tuple[str, ...]:
        """The served versions, in the order given."""
        return tuple(self.versions)

    def deprecation(self, version: str | None) -> Deprecation | None:
        """The deprecation of ``version``, if it has one."""
        if version is None or not isinstance(self.versions, Mapping):
            return None
        return self.versions.get(version)

    @property
    def vary(self) -> str | None:
        """The request header a response's content depends on (for ``Vary``); a path needs none."""
        return {"path": None, "header": self.header, "media_type": "Accept"}[self.source]

    def _unknown(self, asked: str, status: int) -> UnknownVersion:
        shown = asked if len(asked) <= 40 else asked[:40] + "..."
        listed = ", ".join(self.supported)
        return UnknownVersion(
            f"API version {shown!r} is not served; supported versions: {listed}.",
            status=status,
            supported=self.supported,
            asked=shown,
        )

    def from_path(self, path: str) -> str | None:
        """The version of ``/v2/...``'s first segment; None when it names no version (an unversioned route).

        A first segment shaped like a version (``v`` and a digit) that is not served raises (404).
        """
        segment = path.lstrip("/").split("/", 1)[0]
        if len(segment) < 2 or segment[0] != "v" or not segment[1].isdigit():
            return None
        name = segment[1:]
        if name in self.versions:
            return name
        raise self._unknown(name, 404)

    def resolve(self, *, path: str = "/", header: str | None = None, accept: str | None = None) -> str | None:
        """The version a request asked for, from this setting's source (see the class)."""
        if self.source == "path":
            return self.from_path(path)
        asked: str | None
        if self.source == "header":
            asked = None if header is None else header.strip(" \t")
        else:
            asked = None
            for media_range in _split_ranges(accept or ""):
                asked = _params(media_range).get("version")
                if asked is not None:
                    break
        if asked is None or asked == "":
            return self.default if self.default is not None else self.supported[-1]
        if asked in self.versions:
            return asked
        raise self._unknown(asked, 400)
