"""One page as the client sees it: a JSON body and an RFC 8288 ``Link`` header, from one object."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from backendkit.pagination._core.counts import Total
from backendkit.pagination._core.params import MAX_INDEX
from backendkit.pagination._core.request import PageRequest

T = TypeVar("T")

# The parameters a link replaces; every other query parameter (sort, filters, size) is kept.
_POSITION_PARAMETERS = frozenset({"cursor", "page", "offset"})
_SIZE_PARAMETERS = frozenset({"limit", "per_page"})

# RFC 3986 unreserved characters stay as they are; every other byte is percent-encoded.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@functools.lru_cache(maxsize=8)
def _escapes(safe: str) -> dict[int, str]:
    """Byte value (as a Latin-1 code point) to its escape, for every byte but the unreserved ones and ``safe``."""
    keep = _UNRESERVED | frozenset(safe.encode("ascii"))
    return {byte: f"%{byte:02X}" for byte in range(256) if byte not in keep}


def quote(text: str, safe: str = "") -> str:
    """Percent-encode ``text`` as UTF-8 for a URL, keeping unreserved characters and ``safe``.

    One ``str.translate`` of the UTF-8 bytes read as Latin-1 (one code point per byte): a link is built
    per page, and a loop over the bytes in Python cost a page of 20 items about a tenth of its time.
    """
    return text.encode("utf-8", "surrogatepass").decode("latin-1").translate(_escapes(safe))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of ``items`` and the way to its neighbours.

    ``next_cursor`` / ``prev_cursor`` are set in cursor mode; in page and offset
    modes the neighbours are numbers, and only of pages that exist: a page past the
    end links back to the last page when the total is exact, and to none otherwise. ``item_cursors``
    holds a cursor per item (resume right after it) when the pagination asks for them.
    """

    items: list[T]
    request: PageRequest
    has_next: bool
    has_prev: bool
    total: Total
    next_cursor: str | None = None
    prev_cursor: str | None = None
    item_cursors: tuple[str, ...] | None = None

    @property
    def total_pages(self) -> int | None:
        """Pages in all, when the total is exact."""
        if self.total.kind != "exact" or self.total.value is None:
            return None
        return max(1, -(-self.total.value // self.request.limit))

    def _next_index(self) -> int | None:
        """The next page's number (page mode) or offset (offset mode), when there is one (``None`` in cursor mode)."""
        if self.request.mode == "cursor" or not self.has_next:
            return None
        here, _, step = self._numbers()
        return here + step if here + step <= MAX_INDEX else None

    def _prev_index(self) -> int | None:
        """The previous page's number (page mode) or offset (offset mode), when it is known to exist.

        That is the page before this one if it holds rows, else (this page is past the
        end) the last page, which only an exact total tells: past the end of a list of
        unknown length there is no previous page to name. ``None`` in cursor mode.
        """
        if self.request.mode == "cursor" or not self.has_prev:
            return None
        here, first, step = self._numbers()
        before = max(first, here - step)
        if self.items or max(0, self.request.offset - self.request.limit) < self._rows_known():
            return before
        return self._last_index()

    def _numbers(self) -> tuple[int, int, int]:
        """This page's number or offset, the first page's, and the step between pages (page and offset modes)."""
        r = self.request
        if r.mode == "page":
            assert r.page is not None
            return r.page, 1, 1
        return r.offset, 0, r.limit

    def _rows_known(self) -> int:
        """How many rows the total says there are at least."""
        if self.total.value is None or self.total.kind == "estimate":
            return 0
        return self.total.value + (1 if self.total.kind == "more_than" else 0)

    def _last_index(self) -> int | None:
        """The last page's number or offset, when the total is exact (and the page can be asked for)."""
        pages = self.total_pages
        if pages is None:
            return None
        _, first, step = self._numbers()
        last = first + (pages - 1) * step
        return last if last <= MAX_INDEX else None

    def metadata(self) -> dict[str, Any]:
        """The ``pagination`` object of the body."""
        r = self.request
        meta: dict[str, Any] = {"mode": r.mode}
        if r.mode == "cursor":
            meta.update(limit=r.limit)
        elif r.mode == "page":
            meta.update(page=r.page, per_page=r.limit)
        else:
            meta.update(offset=r.offset, limit=r.limit)
        meta.update(clamped=r.clamped, sort=r.sort or None, has_more=self.has_next)
        if r.mode == "cursor":
            meta.update(next_cursor=self.next_cursor, prev_cursor=self.prev_cursor)
            if self.item_cursors is not None:
                meta["cursors"] = list(self.item_cursors)
        elif r.mode == "page":
            meta.update(next_page=self._next_index(), prev_page=self._prev_index(), total_pages=self.total_pages)
        else:
            meta.update(next_offset=self._next_index(), prev_offset=self._prev_index())
        meta.update(total=self.total.value, total_kind=self.total.kind)
        return meta

    def body(self, data: Sequence[Any] | None = None) -> dict[str, Any]:
        """``{"data": [...], "pagination": {...}}``; ``data`` defaults to the items (already JSON-ready)."""
        return {"data": list(self.items if data is None else data), "pagination": self.metadata()}

    def links(self) -> dict[str, str]:
        """Relation → URL (path and query) of the neighbouring pages."""
        r = self.request
        out: dict[str, str] = {}
        if r.mode == "cursor":
            if self.next_cursor is not None:
                out["next"] = self._url(("cursor", self.next_cursor))
            if self.prev_cursor is not None:
                out["prev"] = self._url(("cursor", self.prev_cursor))
            return out
        name = "page" if r.mode == "page" else "offset"
        for rel, number in (("next", self._next_index()), ("prev", self._prev_index()), ("first", self._numbers()[1])):
            if number is not None:
                out[rel] = self._url((name, str(number)))
        last = self._last_index()
        if last is not None:
            out["last"] = self._url((name, str(last)))
        return out

    def link_header(self) -> str | None:
        """The RFC 8288 ``Link`` field value, or ``None`` when there is nothing to link."""
        links = self.links()
        if not links:
            return None
        return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())

    def headers(self) -> list[tuple[str, str]]:
        """``Link`` and the ``Access-Control-Expose-Headers`` that lets browsers read it."""
        link = self.link_header()
        if link is None:
            return []
        return [("Link", link), ("Access-Control-Expose-Headers", "Link")]

    def _url(self, position: tuple[str, str]) -> str:
        r = self.request
        pairs: list[tuple[str, str]] = []
        placed = False
        for name, value in r.query:
            if name in _POSITION_PARAMETERS:
                # The new position takes the place of the old one, which keeps links stable to read.
                if not placed:
                    pairs.append(position)
                    placed = True
                continue
            pairs.append((name, str(r.limit) if name in _SIZE_PARAMETERS else value))
        if not placed:
            pairs.append(position)
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
        return f"{quote(r.path, safe='/')}?{query}"
