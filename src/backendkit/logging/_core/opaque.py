"""Opaque credentials in text, known by their shape: API keys (``bk_live_...``), refresh tokens (``bkr_...``). Pure.

The shape is the one ``backendkit.auth._core.opaque`` makes, written down again
here because logging and auth are independent (neither imports the other)::

    <prefix><id>_<secret><check>
    prefix: lower-case words joined and ended by "_"    bk_live_   bkr_
    id:     8 to 32 base62 characters                   public: the store's key
    secret: 43 base62 characters, then 6 check digits   256 bits

What is redacted is everything after the prefix (the public id goes with the
secret: one marker, ``bk_live_[REDACTED]``, says what kind of credential was
there). A key cut short is still redacted while 32 or more characters follow
its id: what a shorter piece leaves out (the check digits and 12 or more
characters of the secret, over 70 bits) cannot be guessed. So is a key with
characters glued to its end. A GitHub token of the same shape
(``github_pat_<22>_<59>``) goes too.

Linear time, following the rules at the top of ``scrub.py``: the pattern searched
for is an underscore and a run of 32 or more base62 characters, which starts
only at an underscore and ends where the run ends (no backtracking; two matches
never share a character); what precedes it (the id, and the end of the prefix's
last word) is checked by looking back at most 34 characters from the match. So
the whole scan reads each character a bounded number of times.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

SHORTEST = len("a_") + 8 + len("_") + 32
"""The shortest text that can hold a credential this module redacts (43 characters)."""
_ID_CHARS = (8, 32)
# An underscore and the run of base62 after it: a key's secret, or its id, or neither.
_TAIL = re.compile(r"_[0-9A-Za-z]{32,}")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")  # of the prefix's words
_BASE62 = re.compile(r"[0-9A-Za-z]+")


def may_hold_credential(text: str) -> bool:
    """Whether ``text`` could hold an opaque credential at all: the cheap check before :func:`secret_spans`."""
    # Two underscores at least (after the prefix, before the secret): a C-speed count before the regex.
    return len(text) >= SHORTEST and text.count("_") >= 2 and _TAIL.search(text) is not None


def secret_spans(text: str) -> Iterator[tuple[int, int]]:
    """The start and end of what to redact of each API key or refresh token in ``text``, in order.

    Example:
        >>> text = "key=bk_test_4bXq9ZtLm2Kp_" + "x" * 49 + " was refused"
        >>> [(start, end, text[start:end].startswith("4bXq9")) for start, end in secret_spans(text)]
        [(12, 74, True)]
    """
    for match in _TAIL.finditer(text):
        start = _id_start(text, match.start())
        if start is not None:
            yield start, match.end()


def _id_start(text: str, under: int) -> int | None:
    """Where the id before the underscore at ``under`` starts, if a credential's id and prefix are there."""
    low, high = _ID_CHARS
    before = text.rfind("_", max(0, under - high - 1), under)
    if before < 1 or not low <= under - before - 1 <= high:
        return None
    if not _BASE62.fullmatch(text, before + 1, under):
        return None
    if text[before - 1] not in _WORD_CHARS:  # the end of the prefix's last word
        return None
    return before + 1


__all__ = ["SHORTEST", "may_hold_credential", "secret_spans"]
