"""API keys and refresh tokens never reach a log line, whatever field they are in; the search stays linear.

The credentials are made by the code that hands them out (``APIKeys.create``,
``TokenIssuer.issue_pair``), not written to a shape here: the logging package
recognises them by their format without importing either (it is the same layer
as auth, and independent of it), and this is the check that the two agree.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.apikeys import APIKeys, MemoryKeyStore
from backendkit.auth import HMACKey, MemoryRefreshStore, TokenIssuer
from backendkit.auth._core.opaque import ALPHABET, OpaqueFormat
from backendkit.logging import JSONFormatter, Redactor
from tests.logging.conftest import make_record
from tests.logging.test_redaction_time import SIZE, assert_linear, fit, tile

REDACTOR = Redactor()
PREFIXES = ("bk_live_", "bk_test_", "acme_prod_eu_", "k9_", "x_")


def _api_keys() -> list[str]:
    return [APIKeys(MemoryKeyStore(), prefix=prefix).create("alice").key for prefix in PREFIXES]


def _refresh_tokens() -> list[str]:
    issuer = TokenIssuer(HMACKey("tests-only-redaction-secret-32-bytes!"), refresh_store=MemoryRefreshStore())
    pair = issuer.issue_pair("alice")
    return [pair.refresh_token, issuer.refresh(pair.refresh_token).refresh_token]


CREDENTIALS = _api_keys() + _refresh_tokens()


def secret_of(credential: str) -> str:
    """The 43 characters of secret and the 6 check digits: what must never be written."""
    return credential[-49:]


def prefix_of(credential: str) -> str:
    return credential[: credential.rindex("_", 0, len(credential) - 49)].rsplit("_", 1)[0] + "_"


IDS = [f"{prefix_of(credential)}{i}" for i, credential in enumerate(CREDENTIALS)]


class Carrier:
    """An object whose text holds the credential (logged through ``str()``)."""

    def __init__(self, credential: str) -> None:
        self.credential = credential

    def __str__(self) -> str:
        return f"<Carrier {self.credential}>"


def _exc_info(credential: str) -> Any:
    try:
        raise ValueError(f"the key {credential} was refused")
    except ValueError:
        return sys.exc_info()


# Where a credential can sit in a record: each builds one record around it.
PLACES: dict[str, Callable[[str], logging.LogRecord]] = {
    "the message": lambda c: make_record(f"key {c} refused"),
    "the message's arguments": lambda c: make_record("key %s refused for %r", args=(c, c)),
    "the message, quoted in JSON": lambda c: make_record(json.dumps({"presented": c})),
    "the message, in a URL": lambda c: make_record(f"GET /v1/keys/{c}/usage?from={c}&x=1"),
    "the message, glued to text": lambda c: make_record(f"(x{c}y) [{c}] '{c}'"),
    "the message, as a bearer token": lambda c: make_record(f"Authorization: Bearer {c}"),
    "an extra field": lambda c: make_record("refused", extra={"presented": c}),
    "an extra field under a harmless name": lambda c: make_record("refused", extra={"detail": f"got {c}"}),
    "a nested extra": lambda c: make_record("refused", extra={"ctx": {"seen": [c, {"again": (c,)}]}}),
    "an extra object's text": lambda c: make_record("refused", extra={"thing": Carrier(c)}),
    "an extra's bytes": lambda c: make_record("refused", extra={"raw": c.encode()}),
    "the exception": lambda c: make_record("failed", exc_info=_exc_info(c)),
    "stack_info": lambda c: _with_stack(c),
}


def _with_stack(credential: str) -> logging.LogRecord:
    record = make_record("where")
    record.stack_info = f'Stack (most recent call last):\n  File "app.py", line 3, in f\n    use("{credential}")'
    return record


@pytest.mark.parametrize("engine", ["stdlib", "orjson"])
@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("credential", CREDENTIALS, ids=IDS)
def test_a_credential_never_reaches_a_formatted_line(credential: str, place: str, engine: str) -> None:
    line = JSONFormatter(json=engine).format(PLACES[place](credential))
    assert secret_of(credential) not in line
    assert credential[len(prefix_of(credential)) :][:8] not in line  # the public id goes with it
    assert "[REDACTED]" in line


@pytest.mark.parametrize("credential", CREDENTIALS, ids=IDS)
def test_the_prefix_stays_to_say_what_was_there(credential: str) -> None:
    assert REDACTOR.scrub(f"refused {credential} twice") == f"refused {prefix_of(credential)}[REDACTED] twice"


@pytest.mark.parametrize("cut", [1, 6, 10, 17])
def test_a_key_cut_short_is_redacted_while_it_holds_most_of_its_secret(cut: int) -> None:
    key = CREDENTIALS[0]
    assert REDACTOR.scrub(f"got {key[:-cut]}") == "got bk_live_[REDACTED]"


SAFE = [
    "user_id=42 logged in",
    "some_long_identifier_with_many_parts_but_no_credential_at_all_in_it",
    "tests/apikeys/test_stores.py::test_a_revocation_is_never_undone_by_a_rotation_or_a_touch[redis]",
    "sha256_" + "a" * 64,  # a digest under a label: no id part before it
    "ABC_DEFGHIJK_" + "x" * 49,  # no lower-case prefix
    "bk_live_" + "A" * 7 + "_" + "x" * 49,  # an id too short
    "bk_live_" + "A" * 12 + "_" + "x" * 31,  # too little after the id
]


@pytest.mark.parametrize("text", SAFE)
def test_text_that_is_not_a_credential_stays(text: str) -> None:
    assert REDACTOR.scrub(text) == text


B62 = st.text(alphabet=ALPHABET, min_size=1, max_size=1)


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    prefix=st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,2}_", fullmatch=True),
    id_chars=st.integers(8, 32),
    id_random=st.binary(min_size=24, max_size=24),
    secret=st.binary(min_size=32, max_size=32),
)
def test_a_credential_of_any_prefix_in_any_text_is_redacted(
    before: str, after: str, prefix: str, id_chars: int, id_random: bytes, secret: bytes
) -> None:
    credential = OpaqueFormat(prefix, id_chars).compose(id_random, secret)
    scrubbed = REDACTOR.scrub(before + credential + after)
    assert secret_of(credential)[:32] not in scrubbed
    assert (
        credential[len(prefix) :][:id_chars] not in scrubbed or credential[len(prefix) :][:id_chars] in before + after
    )


# Adversarial shapes for the credential search: 64 KB each, timed against a plain regex pass (see
# test_redaction_time): underscores before runs just too short, ids of every length, prefixes glued.
KEYISH = {
    "one long run after an underscore": fit("_", "a"),
    "underscores and runs one short": tile("_" + "A" * 31),
    "runs of 32 with no id before them": tile("_" + "A" * 33),
    "ids too long before each run": tile("ab_" + "C" * 33 + "_" + "D" * 40),
    "keys glued to each other": tile("ab_CDEFGHIJK_" + "L" * 49),
    "prefix words and no secret": tile("bk_live_"),
    "digits for prefix words": tile("12_ABCDEFGH_" + "x" * 40),
    "long prefix words": fit("", "a", "_ABCDEFGHIJ_" + "x" * 49),
    "underscores alone": tile("_"),
    "keys between spaces": tile("bk_live_4bXq9ZtLm2Kp_" + "x" * 49 + " "),
}


@pytest.mark.parametrize("shape", list(KEYISH))
def test_the_credential_search_is_linear(shape: str) -> None:
    text = KEYISH[shape]
    assert len(text) == SIZE
    assert_linear(text)


FRAGMENTS = st.sampled_from(["_", "a", "Z", "0", "bk", "live", "bk_live_", "A" * 8, "x" * 32, " ", "-", "=", "%5F"])


@settings(max_examples=40, deadline=None)
@given(st.lists(FRAGMENTS, min_size=1, max_size=20))
def test_any_text_made_of_credential_pieces_scrubs_in_linear_time(unit: list[str]) -> None:
    assert_linear(tile("".join(unit)))
