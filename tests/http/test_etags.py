"""Entity tags: the list grammar of If-Match / If-None-Match, both comparisons, the version tags."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.http import ANY, ETag, format_tags, parse_tags, version_of

# etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3): anything visible but the double quote, and Latin-1's top half.
ETAGC = st.characters(codec="latin-1").filter(lambda c: c == "\x21" or "\x23" <= c <= "\x7e" or c >= "\x80")
OPAQUE = st.text(ETAGC, max_size=20)
TAGS = st.builds(ETag, OPAQUE, st.booleans())
OWS = st.text(" \t", max_size=3)


@given(st.lists(TAGS, min_size=1, max_size=8))
def test_a_formatted_list_parses_back_to_itself(tags: list[ETag]) -> None:
    assert parse_tags(format_tags(tuple(tags))) == tuple(tags)


@given(st.lists(st.tuples(TAGS, OWS, OWS, st.integers(0, 2)), min_size=1, max_size=6), OWS, OWS)
def test_whitespace_and_empty_elements_between_tags_change_nothing(
    parts: list[tuple[ETag, str, str, int]], lead: str, trail: str
) -> None:
    # RFC 9110 §5.6.1: a recipient accepts empty list elements and optional whitespace around commas.
    text = lead + ",".join(f"{before}{tag}{after}" + "," * extra for tag, before, after, extra in parts) + trail
    assert parse_tags(text) == tuple(tag for tag, *_ in parts)


@given(st.text(max_size=200))
def test_parse_tags_never_raises_and_answers_a_list_any_or_none(text: str) -> None:
    parsed = parse_tags(text)
    assert parsed is None or parsed == ANY or (isinstance(parsed, tuple) and len(parsed) >= 1)
    if isinstance(parsed, tuple):
        assert all(isinstance(tag, ETag) for tag in parsed)


@given(st.text(alphabet='W/" ,*\ta\x00\u0100', max_size=80))
def test_parse_tags_on_the_grammar_s_own_characters_never_raises(text: str) -> None:
    parsed = parse_tags(text)
    if isinstance(parsed, tuple):
        assert parse_tags(format_tags(parsed)) == parsed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"a"', (ETag("a"),)),
        ('W/"a"', (ETag("a", weak=True),)),
        ('""', (ETag(""),)),
        ('"a,b", W/"c"', (ETag("a,b"), ETag("c", weak=True))),
        (' , "a" ,, "b" , ', (ETag("a"), ETag("b"))),
        ("*", ANY),
        (" \t* ", ANY),
        ('"\xe9t\xe9"', (ETag("\xe9t\xe9"),)),
        ("", None),
        (" , ,", None),
        ("abc", None),
        ('w/"a"', None),  # W/ is case-sensitive
        ('W/ "a"', None),
        ('"a', None),
        ('"a" "b"', None),
        ('"a""b"', None),
        ('"a" x', None),
        ('*, "a"', None),
        ('"a", *', None),
        ('"a b"', None),
        ('"a\x00"', None),
        ('"\u0100"', None),
        ("**", None),
    ],
)
def test_parse_tags_cases(value: str, expected: object) -> None:
    assert parse_tags(value) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        '"' * 200_000,
        'W/"' * 100_000,
        ", " * 150_000,
        '"a",' * 75_000,
        '"' + "a" * 300_000,
        "W/" * 150_000,
    ],
)
def test_parse_tags_is_linear_on_long_hostile_input(hostile: str) -> None:
    # One scan of 300 kB takes milliseconds; a quadratic one would take minutes. Compare with 1/10th of it.
    small = hostile[: len(hostile) // 10]
    started = time.perf_counter()
    parse_tags(small)
    small_took = time.perf_counter() - started
    started = time.perf_counter()
    parse_tags(hostile)
    took = time.perf_counter() - started
    assert took < max(1.0, 40 * small_took)


@given(OPAQUE, OPAQUE, st.booleans(), st.booleans())
def test_the_two_comparisons_follow_rfc_9110_table(a: str, b: str, weak_a: bool, weak_b: bool) -> None:
    x, y = ETag(a, weak_a), ETag(b, weak_b)
    assert x.matches_weakly(y) == (a == b) == y.matches_weakly(x)
    assert x.matches_strongly(y) == (a == b and not weak_a and not weak_b) == y.matches_strongly(x)
    if x.matches_strongly(y):
        assert x.matches_weakly(y)


def test_rfc_9110_comparison_examples() -> None:
    # RFC 9110 §8.8.3.2's table.
    w1, w2, s1 = ETag("1", weak=True), ETag("2", weak=True), ETag("1")
    assert (w1.matches_strongly(w1), w1.matches_weakly(w1)) == (False, True)
    assert (w1.matches_strongly(w2), w1.matches_weakly(w2)) == (False, False)
    assert (w1.matches_strongly(s1), w1.matches_weakly(s1)) == (False, True)
    assert (s1.matches_strongly(s1), s1.matches_weakly(s1)) == (True, True)


@pytest.mark.parametrize("bad", ['a"b', "a b", "a\tb", "\x00", "\x7f", "\u0100", "\u2028"])
def test_an_etag_refuses_what_cannot_go_between_quotes(bad: str) -> None:
    with pytest.raises(ValueError, match="entity tag"):
        ETag(bad)


@given(st.binary(max_size=512))
def test_a_body_s_tag_is_strong_22_characters_and_parses_back(body: bytes) -> None:
    tag = ETag.of(body)
    assert not tag.weak
    assert len(tag.opaque) == 22
    assert tag == ETag.of(bytes(body))
    assert parse_tags(str(tag)) == (tag,)


def test_different_bodies_get_different_tags() -> None:
    assert len({ETag.of(str(i).encode()) for i in range(1000)}) == 1000


@given(st.one_of(st.integers(min_value=0), st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)))
def test_version_of_reads_what_for_version_wrote(version: int | str) -> None:
    tag = ETag.for_version(version)
    assert str(tag) == f'"v{version}"'
    assert version_of(parse_tags(str(tag))) == str(version)


@pytest.mark.parametrize("value", ["*", 'W/"v3"', '"v3", "v4"', '"3"', '"v"', '"x3"', '""'])
def test_version_of_is_none_for_anything_but_one_strong_version_tag(value: str) -> None:
    assert version_of(parse_tags(value)) is None


def test_version_of_none_is_none() -> None:
    assert version_of(None) is None
