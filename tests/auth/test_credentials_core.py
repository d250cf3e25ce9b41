"""The pure parts of API keys and refresh tokens: the grant form, the record cache, key records, and which
verifier ``BearerAuth`` hands a credential to."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.apikeys import APIKeys, KeyRecord, MemoryKeyStore
from backendkit.apikeys._core.cache import RecordCache
from backendkit.apikeys._core.check import principal_of, refusal
from backendkit.auth import (
    BearerAuth,
    CredentialsRequired,
    HMACKey,
    InvalidRequest,
    InvalidToken,
    JWTVerifier,
    Role,
    Roles,
    issue,
)
from backendkit.auth._core.grant import FORM, HEADERS, OAuthError, read_refresh_grant
from backendkit.auth._core.header import api_key_value
from backendkit.auth._core.opaque import digest
from backendkit.errors import ConfigurationError

SECRET = "a-32-byte-secret-for-these-tests!"
GRANT = {"grant_type": ["refresh_token"], "refresh_token": ["bkr_token"]}


# The refresh grant's form (RFC 6749 §6): what is a grant, and which error each mistake gets.


@pytest.mark.parametrize(
    ("form", "content_type", "expected"),
    [
        (GRANT, FORM, "bkr_token"),
        (GRANT, "application/x-www-form-urlencoded; charset=UTF-8", "bkr_token"),
        (GRANT, "Application/X-WWW-Form-Urlencoded", "bkr_token"),
        ({**GRANT, "scope": ["tasks:read"]}, FORM, "bkr_token"),  # accepted; the login's scope is granted
        (GRANT, "application/json", "invalid_request"),
        (GRANT, None, "invalid_request"),
        ({"refresh_token": ["bkr_token"]}, FORM, "invalid_request"),
        ({"grant_type": [""], "refresh_token": ["x"]}, FORM, "invalid_request"),
        ({"grant_type": ["refresh_token"]}, FORM, "invalid_request"),
        ({"grant_type": ["refresh_token"], "refresh_token": [""]}, FORM, "invalid_request"),
        ({"grant_type": ["refresh_token", "refresh_token"], "refresh_token": ["x"]}, FORM, "invalid_request"),
        ({"grant_type": ["refresh_token"], "refresh_token": ["a", "b"]}, FORM, "invalid_request"),
        ({**GRANT, "scope": ["a", "b"]}, FORM, "invalid_request"),
        ({"grant_type": ["password"], "username": ["u"]}, FORM, "unsupported_grant_type"),
        ({"grant_type": ["authorization_code"], "code": ["c"]}, FORM, "unsupported_grant_type"),
    ],
)
def test_a_refresh_grant_is_read_as_rfc_6749_says(form: dict, content_type: str | None, expected: str) -> None:
    answer = read_refresh_grant(form, content_type)
    if isinstance(answer, OAuthError):
        assert answer.error == expected
        assert answer.status == 400
        body = json.loads(answer.body())
        assert set(body) == {"error", "error_description"}
        assert body["error"] == expected
    else:
        assert answer == expected


@given(st.dictionaries(st.text(max_size=20), st.lists(st.text(max_size=40), max_size=3), max_size=6), st.text())
def test_any_form_is_a_token_or_an_rfc_error(form: dict, content_type: str) -> None:
    answer = read_refresh_grant(form, content_type)
    if isinstance(answer, OAuthError):
        assert answer.error in ("invalid_request", "unsupported_grant_type")
        json.loads(answer.body())
    else:
        assert form["grant_type"] == ["refresh_token"]
        assert form["refresh_token"] == [answer]


def test_the_token_endpoint_headers_forbid_caching() -> None:
    assert dict(HEADERS) == {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


# The record cache: freshness, the LRU bound, negative entries, and "open" reads of stale entries.


def test_the_cache_trusts_an_entry_for_its_ttl_only() -> None:
    cache: RecordCache[str] = RecordCache(ttl=5.0, size=10)
    cache.put("a", "record", now=100.0)
    assert cache.get("a", now=104.99) == ("record",)
    assert cache.get("a", now=105.0) is None
    assert cache.get("a", now=99.0) is None  # a clock that went back trusts nothing
    assert cache.stale("a") == ("record",)


def test_the_cache_remembers_unknown_ids_and_drops_the_least_recently_used() -> None:
    cache: RecordCache[str] = RecordCache(ttl=60.0, size=2)
    cache.put("unknown", None, now=0.0)
    cache.put("b", "B", now=0.0)
    assert cache.get("unknown", now=1.0) == (None,)  # "not in the store", held like a record
    cache.put("c", "C", now=2.0)  # "b" was used least recently
    assert cache.get("b", now=3.0) is None
    assert cache.get("unknown", now=3.0) == (None,)
    assert len(cache) == 2
    cache.forget("unknown")
    assert cache.get("unknown", now=3.0) is None


def test_a_zero_ttl_caches_nothing() -> None:
    cache: RecordCache[str] = RecordCache(ttl=0)
    cache.put("a", "A", now=0.0)
    assert cache.get("a", now=0.0) is None
    assert cache.stale("a") is None


@pytest.mark.parametrize("ttl", [-1, math.inf, math.nan, True, "5"])
def test_a_bad_ttl_is_refused(ttl: object) -> None:
    with pytest.raises(ValueError, match="ttl"):
        RecordCache(ttl)  # type: ignore[arg-type]


# Key records: their checks, their changes, their stored shape.


def record(**changes: object) -> KeyRecord:
    fields: dict[str, object] = {"id": "k1", "digest": digest("bk_test_k1_x"), "owner": "alice", "created_at": 10.0}
    fields.update(changes)
    return KeyRecord(**fields)  # type: ignore[arg-type]


def test_a_record_is_refused_when_revoked_or_expired() -> None:
    assert record().refusal(1e9) is None
    assert record(expires_at=20.0).refusal(19.9) is None
    assert record(expires_at=20.0).refusal(20.0) == "expired"
    assert record(revoked_at=15.0).refusal(15.0) == "revoked"
    assert record(revoked_at=15.0, expires_at=12.0).refusal(16.0) == "revoked"


def test_a_revocation_keeps_its_first_time_and_rotation_never_lengthens_a_key() -> None:
    revoked = record().revoked(30.0)
    assert revoked.revoked(40.0).revoked_at == 30.0
    assert record(expires_at=50.0).rotated("k2", until=100.0).expires_at == 50.0
    rotated = record().rotated("k2", until=100.0)
    assert (rotated.expires_at, rotated.rotated_to) == (100.0, "k2")


def test_last_used_is_due_once_a_minute() -> None:
    assert record().touch_due(100.0, None)
    used = record(last_used_at=100.0)
    assert not used.touch_due(159.9, None)
    assert used.touch_due(160.0, None)
    assert not used.touch_due(170.0, last_written=150.0)  # this process wrote it since


def test_a_record_round_trips_through_its_stored_shape_and_never_shows_its_digest_in_public() -> None:
    original = record(name="CI", roles=("editor", "viewer"), scopes=("tasks:read",), expires_at=99.0, prefix="bk_test_")
    assert KeyRecord.from_dict(json.loads(json.dumps(original.to_dict()))) == original
    assert "digest" not in original.public()
    assert original.digest not in repr(original)


@pytest.mark.parametrize(
    "changes",
    [
        {"owner": ""},
        {"id": ""},
        {"roles": "admin"},  # one string, not a list of names
        {"roles": ("a b",)},
        {"scopes": ("x,y",)},
        {"created_at": -1.0},
        {"expires_at": math.inf},
        {"name": "x" * 201},
    ],
)
def test_a_malformed_record_is_refused(changes: dict) -> None:
    with pytest.raises(ValueError, match=r"name|owner|id|seconds|list"):
        record(**changes)


def test_from_dict_refuses_what_is_not_a_record() -> None:
    with pytest.raises(ValueError, match="not a key record"):
        KeyRecord.from_dict({"id": "k1"})


def test_an_unknown_id_and_a_wrong_secret_both_compare_a_digest_and_differ_only_in_reason() -> None:
    known = record()
    assert refusal(None, digest("anything"), 0.0) == "unknown_key"
    assert refusal(known, digest("another key"), 20.0) == "bad_secret"
    assert refusal(known, known.digest, 20.0) is None
    assert refusal(record(revoked_at=1.0), known.digest, 20.0) == "revoked"


def test_a_keys_principal_carries_its_owner_roles_scopes_and_permissions() -> None:
    roles = Roles({"viewer": Role(grants=["tasks:read"]), "editor": Role(inherits=["viewer"], grants=["tasks:write"])})
    principal = principal_of(record(roles=("editor",), scopes=("reports:read",)), roles)
    assert principal.subject == "alice"
    assert principal.permissions == {"tasks:read", "tasks:write"}
    assert principal.scopes == {"reports:read"}
    assert principal.claims == {"sub": "alice", "cred": "api_key", "key_id": "k1"}


# Which verifier BearerAuth hands a credential to.


@pytest.fixture
def both() -> tuple[BearerAuth, str, str]:
    keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
    made = keys.create("bot", roles=["viewer"])
    key = HMACKey(SECRET)
    return BearerAuth(JWTVerifier([key]), api_keys=keys.verifier(prefixes="bk_test_")), made.key, issue(key, "u1")


def test_a_key_in_either_header_and_a_token_each_reach_their_verifier(both: tuple[BearerAuth, str, str]) -> None:
    auth, key, token = both
    assert auth.authenticate(None, [key]).subject == "bot"
    assert auth.authenticate(f"Bearer {key}").subject == "bot"
    assert auth.authenticate(f"Bearer {token}").subject == "u1"
    assert auth.authenticate([f"Bearer {token}"], []).subject == "u1"


def test_two_credentials_or_two_key_lines_are_a_malformed_request(both: tuple[BearerAuth, str, str]) -> None:
    auth, key, token = both
    for authorization, api_key in [(f"Bearer {token}", [key]), (None, [key, key]), (None, ["bk test"])]:
        with pytest.raises(InvalidRequest) as raised:
            auth.authenticate(authorization, api_key)
        assert raised.value.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_request"'


def test_no_credential_is_the_bare_challenge_and_a_bad_key_the_tokens_refusal(
    both: tuple[BearerAuth, str, str],
) -> None:
    auth, key, _ = both
    with pytest.raises(CredentialsRequired):
        auth.authenticate(None, [" "])
    answers = []
    for bad in (key[:-1], key[:-1] + ("A" if key[-1] != "A" else "B"), "bk_test_nope", "bk_live_" + key[8:]):
        with pytest.raises(InvalidToken) as raised:
            auth.authenticate(None, [bad])
        answers.append((raised.value.status, raised.value.message, raised.value.headers["WWW-Authenticate"]))
    assert len(set(answers)) == 1


def test_api_keys_alone_take_any_bearer_token_and_keys_can_be_kept_out_of_authorization() -> None:
    keys = APIKeys(MemoryKeyStore(), prefix="bk_test_")
    made = keys.create("bot")
    alone = BearerAuth(keys.verifier())
    assert alone.verifier is None
    assert alone.authenticate(f"Bearer {made.key}").subject == "bot"
    with pytest.raises(InvalidToken):
        alone.authenticate("Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
    header_only = BearerAuth(JWTVerifier([HMACKey(SECRET)]), api_keys=keys.verifier(), api_keys_as_bearer=False)
    with pytest.raises(InvalidToken):  # a key as a bearer token goes to the JWT verifier, which refuses it
        header_only.authenticate(f"Bearer {made.key}")
    assert header_only.authenticate(None, [made.key]).subject == "bot"
    no_header = BearerAuth(JWTVerifier([HMACKey(SECRET)]), api_keys=keys.verifier(), api_key_header=None)
    assert no_header.api_key_header is None
    with pytest.raises(CredentialsRequired):  # the header is not read at all
        no_header.authenticate(None, [made.key])


def test_bearer_auth_refuses_what_is_not_a_verifier() -> None:
    with pytest.raises(ConfigurationError):
        BearerAuth()
    with pytest.raises(ConfigurationError):
        BearerAuth(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        BearerAuth(JWTVerifier([HMACKey(SECRET)]), api_keys=object())  # type: ignore[arg-type]


@given(st.lists(st.text(max_size=30), max_size=3))
def test_any_api_key_header_is_a_value_none_or_invalid_request(lines: list[str]) -> None:
    try:
        value = api_key_value(lines)
    except InvalidRequest:
        assert len(lines) > 1 or any(ch <= " " or ch > "~" or ch == "," for ch in lines[0].strip(" \t"))
        return
    if value is not None:
        assert value == lines[0].strip(" \t")
        assert all("!" <= ch <= "~" and ch != "," for ch in value)
