"""What the adapters hand the cores from a request: the API key header's lines, and the refresh grant's form."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.auth import InvalidRequest
from backendkit.auth._core.grant import FORM, MAX_FIELDS, OAuthError, parse_form, read_refresh_grant
from backendkit.auth._core.header import api_key_value
from tests.auth import apps

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@given(st.lists(st.tuples(_TEXT.filter(bool), _TEXT), max_size=MAX_FIELDS))
def test_a_form_reads_back_what_was_encoded(pairs: list[tuple[str, str]]) -> None:
    expected: dict[str, list[str]] = {}
    for name, value in pairs:
        expected.setdefault(name, []).append(value)
    assert parse_form(urlencode(pairs).encode("ascii")) == expected


@given(st.text(st.sampled_from("ab=&+%0Fé;") | st.characters(max_codepoint=127), max_size=60))
def test_a_form_is_read_as_the_standard_library_reads_one(text: str) -> None:
    body = text.encode("utf-8")
    ours = parse_form(body)
    if not body.isascii() or body.count(b"&") >= MAX_FIELDS:
        assert ours == OAuthError("invalid_request")
        return
    expected: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        expected.setdefault(name, []).append(value)
    assert ours == expected


@given(st.binary(max_size=200))
def test_any_body_is_a_form_or_invalid_request(body: bytes) -> None:
    parsed = parse_form(body)
    assert isinstance(parsed, dict) or parsed == OAuthError("invalid_request")
    answer = read_refresh_grant(body, FORM)
    assert isinstance(answer, (str, OAuthError))


def test_a_body_is_a_form_only_when_declared_one() -> None:
    body = b"grant_type=refresh_token&refresh_token=bkr_x"
    assert read_refresh_grant(body, "application/x-www-form-urlencoded; charset=utf-8") == "bkr_x"
    assert read_refresh_grant(body, "APPLICATION/X-WWW-FORM-URLENCODED") == "bkr_x"
    for declared in (None, "", "text/plain", "application/json", "multipart/form-data; boundary=x"):
        assert read_refresh_grant(body, declared) == OAuthError("invalid_request")
    assert read_refresh_grant(b"&".join([b"a=1"] * (MAX_FIELDS + 1)), FORM) == OAuthError("invalid_request")


@pytest.mark.parametrize("lines", [["k1", "k2"], ["k1,k2"], ["k1, k2"], [", k1"], ["bk_test_a b"], ["\x7f"]])
def test_two_keys_or_a_malformed_one_is_a_malformed_request(lines: list[str]) -> None:
    with pytest.raises(InvalidRequest):
        api_key_value(lines)


@pytest.mark.parametrize(("lines", "value"), [([], None), ([""], None), ([" \t"], None), (["  bk_x_1 "], "bk_x_1")])
def test_an_api_key_line(lines: list[str], value: str | None) -> None:
    assert api_key_value(lines) == value


def test_an_empty_key_header_is_no_credential() -> None:
    from backendkit.auth import BearerAuth

    bearer = BearerAuth(apps.verifier(), api_keys=apps.key_verifier())
    assert not bearer.sent_credentials([], [""])
    assert not bearer.sent_credentials([""], [])
    assert bearer.sent_credentials([], ["bk_test_x"])
    assert not BearerAuth(apps.verifier()).sent_credentials([], ["bk_test_x"])  # (API keys off: not a credential)
