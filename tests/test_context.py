from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.context import (
    RequestFacts,
    TraceContext,
    bind_request_facts,
    choose_request_id,
    get_request_facts,
    get_request_id,
    is_valid_request_id,
    parse_traceparent,
    request_facts_var,
    set_user_id,
)

ALLOWED = string.ascii_letters + string.digits + "._-"


@given(st.text(alphabet=ALLOWED, min_size=1, max_size=128))
def test_allowed_ids_are_valid(value: str) -> None:
    assert is_valid_request_id(value)
    assert choose_request_id(value, trust_incoming=True, generate=lambda: "fresh") == value


@given(st.text(max_size=300))
def test_anything_else_is_replaced(value: str) -> None:
    valid = 1 <= len(value) <= 128 and all(c in ALLOWED for c in value)
    assert is_valid_request_id(value) is valid
    expected = value if valid else "fresh"
    assert choose_request_id(value, trust_incoming=True, generate=lambda: "fresh") == expected


def test_newline_at_the_end_is_not_valid() -> None:
    assert not is_valid_request_id("abc\n")


def test_untrusted_ids_are_always_replaced() -> None:
    assert choose_request_id("abc", trust_incoming=False, generate=lambda: "fresh") == "fresh"
    assert choose_request_id(None, trust_incoming=True, generate=lambda: "fresh") == "fresh"


def test_no_request_no_id() -> None:
    # Isolation between concurrent requests is tested end to end in
    # tests/conformance (test_concurrent_requests_keep_their_own_ids).
    assert get_request_id() is None


HEX = "0123456789abcdef"


@given(
    st.text(alphabet=HEX, min_size=32, max_size=32).filter(lambda t: set(t) != {"0"}),
    st.text(alphabet=HEX, min_size=16, max_size=16).filter(lambda s: set(s) != {"0"}),
    st.text(alphabet=HEX, min_size=2, max_size=2),
)
def test_valid_traceparents_parse(trace_id: str, span_id: str, flags: str) -> None:
    parsed = parse_traceparent(f"00-{trace_id}-{span_id}-{flags}")
    assert parsed == TraceContext(trace_id, span_id, flags)
    assert parsed.sampled is bool(int(flags, 16) & 1)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # three fields
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # v00 has exactly four
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "x" * 10_000,
    ],
)
def test_invalid_traceparents_are_ignored(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_future_versions_may_carry_more_fields() -> None:
    parsed = parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future")
    assert parsed is not None
    assert parsed.sampled is False


def test_set_user_id_only_inside_a_request() -> None:
    set_user_id("nobody")  # outside a request: nothing to record, and no error
    facts = RequestFacts(method="GET")
    token = bind_request_facts(facts)
    try:
        set_user_id("u-7")
        assert get_request_facts() is facts
        assert facts.resolved_user_id() == "u-7"
    finally:
        request_facts_var.reset(token)
    assert get_request_facts() is None


def test_a_failing_lazy_fact_is_none() -> None:
    facts = RequestFacts(route=lambda: 1 / 0, user_id=lambda: None)  # type: ignore[arg-type,return-value]
    assert facts.resolved_route() is None
    assert facts.resolved_user_id() is None


def test_a_lazy_fact_stays_lazy_until_known() -> None:
    state = {"route": None}
    facts = RequestFacts(route=lambda: state["route"])
    assert facts.resolved_route() is None  # logged before routing
    state["route"] = "/tasks/{task_id}"
    assert facts.resolved_route() == "/tasks/{task_id}"  # known later, and then kept
    state["route"] = "/other"
    assert facts.resolved_route() == "/tasks/{task_id}"
