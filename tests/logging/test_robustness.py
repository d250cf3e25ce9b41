"""The formatter never raises, never drops a line, and writes exactly one line."""

from __future__ import annotations

import json
import logging
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.logging import JSONFormatter
from tests.logging.conftest import make_record


class Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


class Loud:
    def __str__(self) -> str:
        return "Bearer leaked-via-str"


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary(max_size=20)
    | st.builds(Hostile)  # built, not sampled: hypothesis itself would repr a sampled instance
    | st.builds(Loud)
    | st.builds(object)
    | st.complex_numbers(max_magnitude=10)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
    ),
    max_leaves=15,
)
# Keys logging itself refuses in extra= (it raises KeyError before any formatter runs).
_TAKEN = {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime"}
EXTRAS = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in _TAKEN),
    VALUES,
    max_size=5,
)


@settings(max_examples=300)
@given(message=st.text(), extras=EXTRAS)
def test_any_record_gives_one_valid_line(message: str, extras: dict[str, Any]) -> None:
    for engine in ("stdlib", "orjson"):
        text = JSONFormatter(json=engine).format(make_record(message, extra=extras))  # type: ignore[arg-type]
        assert "\n" not in text
        out = json.loads(text)
        assert out["logger"] == "app"
        assert "leaked-via-str" not in text


def test_cycles_and_depth_are_cut() -> None:
    looped: dict[str, Any] = {"name": "loop"}
    looped["self"] = looped
    deep: Any = "bottom"
    for _ in range(50):
        deep = [deep]
    out = json.loads(JSONFormatter().format(make_record(extra={"looped": looped, "deep": deep})))
    assert out["looped"] == {"name": "loop", "self": "[cycle]"}
    assert "[too deep]" in json.dumps(out["deep"])


def test_broken_message_arguments_keep_the_line() -> None:
    out = json.loads(JSONFormatter().format(make_record("%s and %s", args=("only one",))))
    assert out["message"] == "%s and %s"


def test_newlines_cannot_forge_a_second_line() -> None:
    forged = 'ok\n{"level": "critical", "message": "forged"}'
    text = JSONFormatter().format(make_record(forged))
    assert "\n" not in text
    assert json.loads(text)["message"] == forged


def test_a_failing_build_still_writes_a_line() -> None:
    class Exploding(JSONFormatter):
        def line(self, record: logging.LogRecord) -> Any:
            raise RuntimeError("bug in the formatter")

    out = json.loads(Exploding().format(make_record("Bearer abc123 kept?")))
    assert out["message"] == "[REDACTED] kept?"
    assert out["formatter_error"] == "RuntimeError: bug in the formatter"


def test_huge_integers_and_odd_floats() -> None:
    out = json.loads(JSONFormatter().format(make_record(extra={"big": 2**80, "nan": float("nan"), "tiny": 1e-7})))
    assert out == {**out, "big": str(2**80), "nan": "nan", "tiny": 1e-07}


def test_lone_surrogates_are_escaped() -> None:
    text = JSONFormatter().format(make_record("half \ud800 a pair"))
    assert text.isascii()
    assert json.loads(text)["message"] == "half \ud800 a pair"


def test_unicode_line_separators_cannot_split_a_line() -> None:
    for engine in ("stdlib", "orjson"):
        text = JSONFormatter(json=engine).format(make_record("a\u2028b\x85c\u2029d"))  # type: ignore[arg-type]
        assert len(text.splitlines()) == 1
        assert json.loads(text)["message"] == "a\u2028b\x85c\u2029d"


def test_the_fallback_line_follows_the_profile() -> None:
    class Exploding(JSONFormatter):
        def line(self, record: logging.LogRecord) -> Any:
            raise RuntimeError("bug")

    out = json.loads(Exploding(profile="gcp").format(make_record("payment %s failed", args=("A-1",))))
    assert (out["severity"], out["message"], out["formatter_error"]) == (
        "INFO",
        "payment A-1 failed",
        "RuntimeError: bug",
    )


def test_unorderable_sets_and_enormous_integers() -> None:
    class Weird:
        def __lt__(self, other: object) -> bool:
            raise ValueError("no order")

    out = json.loads(JSONFormatter().format(make_record(extra={"s": {Weird(), Weird()}, "n": 10**5000})))
    assert len(out["s"]) == 2
    assert out["n"].startswith("<int with")
