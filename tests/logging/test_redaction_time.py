"""Redaction takes time linear in its input, whatever the input holds.

The access log scrubs the path, the query and the User-Agent of every request, so
text that makes a pattern backtrack lets one client stall a server: scrubbing 16 KB
of ``a`` before ``!token:x`` once took 5 s, and such a path held uvicorn for 10 s
(the path is scrubbed twice). Each case here is 64 KB of adversarial
text, and its scrub is timed against one plain regular-expression pass over the
same text: a linear scrub is a small multiple of that pass (about 25 at worst
here), a quadratic one thousands of times it. The bound leaves room for a noisy
machine, and a case over it is measured again before it fails.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendkit.logging import DEFAULT_KEYS, Redactor

SIZE = 64 * 1024
LIMIT = 200  # times a plain regex pass; quadratic cases ran 1,000 to 100,000 times it
SEPARATORS = ("=", ":", " = ", ": ", '":"', "': '", "%3D")
_PLAIN = re.compile(r"\w+")
REDACTOR = Redactor()


def tile(unit: str, size: int = SIZE) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


def fit(head: str, unit: str, tail: str = "") -> str:
    """``head``, then ``unit`` repeated, then ``tail``: exactly SIZE characters (all of it is scanned)."""
    return head + tile(unit, SIZE - len(head) - len(tail)) + tail


# Each shape builds 64 KB around one secret word and one separator.
SHAPES: dict[str, Callable[[str, str], str]] = {
    "a long run, then the pair": lambda w, s: fit("", "a", "!" + w + s + "x"),
    "the word over and over": lambda w, s: fit("", w, s),
    "pair after pair": lambda w, s: fit("", w + s),
    "pairs with plain keys": lambda w, s: fit("", "a" + s + w + " "),
    "an unclosed quote": lambda w, s: fit(w + s + '"', "b"),
    "white space and no separator": lambda w, s: fit("", w + " " * 50 + "x "),
    "JWT starts with no dots": lambda w, s: fit("", "eyJ", w + s),
    "JWT parts glued to text": lambda w, s: fit("", "xeyJaaaaa.b." + w + s),
    "bearer and white space": lambda w, s: fit("bearer", " ", "!" + w + s),
    "prose after a scheme, over and over": lambda w, s: fit("", "bearer token ", w + s),
    "schemes in a row": lambda w, s: fit("", "Basic ", w + s),
    "a word, then padding": lambda w, s: fit("bearer abc", "=", " " + w + s),
    "a scheme after the key, then white space": lambda w, s: fit(w + s + "Bearer", " ", "x"),
    "schemes after keys": lambda w, s: fit("", w + s + "Bearer "),
    "a scheme and a word before a colon": lambda w, s: fit("", w + s + "Bearer x" + " " * 40 + ":"),
    "percent escapes": lambda w, s: fit("", w + "%3D"),
    "escapes, then the pair": lambda w, s: fit("", "%41", " " + w + s),
    "pydantic inputs with no end": lambda w, s: fit(", input_type=", "input_value=", w + s),
    "pydantic inputs that end": lambda w, s: fit("", "input_value=" + w + s + ", input_type=x "),
    "a URL's user information": lambda w, s: fit("://" + "a" * (SIZE // 2) + ":", "b", w + s),
    "mixed quotes": lambda w, s: fit("", "a=\"x' " + w + s),
    "a dict repr": lambda w, s: fit("", "{'" + w + "'" + s + "'v', "),
}


def _once(func: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    func(text)
    return time.perf_counter() - start


def ratio(text: str, *, tries: int = 1) -> float:
    """The scrub's time over a plain regex pass's, the best of ``tries`` measurements."""
    return min(_once(REDACTOR.scrub, text) / _once(_PLAIN.findall, text) for _ in range(tries))


def assert_linear(text: str) -> None:
    measured = ratio(text)
    if measured > LIMIT:  # a busy machine, or the real thing: measure again
        measured = ratio(text, tries=5)
    assert measured < LIMIT, f"scrub took {measured:.0f} times a plain pass over {text[:40]!r}..."


@pytest.mark.parametrize("word", DEFAULT_KEYS)
def test_every_secret_word_and_separator_scrubs_in_linear_time(word: str) -> None:
    for separator in SEPARATORS:
        for shape in SHAPES.values():
            text = shape(word, separator)
            assert len(text) == SIZE  # scanned whole: the cap is 64 KiB
            assert_linear(text)


def test_the_reported_path_scrubs_in_linear_time() -> None:
    path = "/" + "a" * 16000 + "!token:x"
    assert_linear(tile(path))
    assert REDACTOR.scrub(path).endswith("!token:[REDACTED]")


FRAGMENTS = st.sampled_from(
    [
        *("a", "Z", "0", " ", "\t", "\n", "=", ":", '"', "'", "%", "%3D", "%20", "%2", "+", "&", ";", ".", "-"),
        *("_", "[", "]", "{", "}", "<", ">", "/", "@", "://", "eyJ", "bearer ", "Basic", "input_value="),
        ", input_type=",
        *DEFAULT_KEYS,
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, min_size=1, max_size=30))
def test_any_text_made_of_the_risky_pieces_scrubs_in_linear_time(unit: list[str]) -> None:
    assert_linear(tile("".join(unit)))


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_any_text_at_all_scrubs_in_linear_time(unit: str) -> None:
    assert_linear(tile(unit))


def test_what_is_scanned_is_capped() -> None:
    redactor = Redactor(max_length=100)
    text = "password=" + "x" * 200 + " token=y"
    scrubbed = redactor.scrub(text)
    assert scrubbed == f"password=[REDACTED][{len(text) - 100} more characters]"
    assert "token=y" not in scrubbed
    assert Redactor(max_length=100).scrub("a" * 200) == "a" * 200  # nothing to look for: left whole
    with pytest.raises(ValueError, match="max_length"):
        Redactor(max_length=0)
