"""A corpus of secrets in every place a log line can carry them: none may survive."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backendkit.logging import JSONFormatter, Redactor
from backendkit.logging._core.access import access_entry, redact_query
from tests.logging.conftest import make_record

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
SECRETS = [
    "hunter2-pw",
    "sk_live_51Ab",
    "refresh-xyz-1",
    "s3cr3t-client",
    "sid=abcdef",
    "PRIVATEKEYDATA",
    JWT,
    "opaque-bearer-tok",
]

CORPUS = {
    "nested": {"user": {"name": "ann", "password": "hunter2-pw", "profile": {"api_key": "sk_live_51Ab"}}},
    "lists": [{"refresh_token": "refresh-xyz-1"}, {"ok": 1}, [{"client_secret": "s3cr3t-client"}]],
    "headers": {
        "Authorization": "Bearer opaque-bearer-tok",
        "Cookie": "sid=abcdef",
        "Set-Cookie": "sid=abcdef; HttpOnly",
        "X-Api-Key": "sk_live_51Ab",
        "Accept": "application/json",
    },
    "tuple_of_pairs": (("private_key", "PRIVATEKEYDATA"),),
    "jwt_in_text": f"the user sent {JWT} again",
    "bearer_in_text": "header was 'authorization: bearer opaque-bearer-tok' (lower case)",
    "DB_PASSWORD": "hunter2-pw",
    "dsn": "host=db user=app password=hunter2-pw sslmode=require",
    "django_request": "<WSGIRequest: POST '/tasks?page=1&api_key=sk_live_51Ab'>",
    "url": "https://api.example/cb?code=1&client_secret=s3cr3t-client&state=x",
    "sessionToken": "refresh-xyz-1",
}


@pytest.mark.parametrize("profile", ["default", "ecs", "gcp", "otel"])
@pytest.mark.parametrize("engine", ["stdlib", "orjson"])
def test_nothing_leaks_from_extras_message_or_exception(profile: str, engine: str) -> None:
    try:
        raise PermissionError(f"token {JWT} rejected for Bearer opaque-bearer-tok")
    except PermissionError as exc:
        record = make_record(
            "login with Bearer %s and %s",
            args=("opaque-bearer-tok", JWT),
            level=logging.ERROR,
            extra={"ctx": CORPUS, **CORPUS},
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    text = JSONFormatter(profile=profile, json=engine).format(record)  # type: ignore[arg-type]
    for secret in SECRETS:
        assert secret not in text, secret
    out = json.loads(text)
    assert text.count("[REDACTED]") >= 15
    assert "sslmode=require" in text  # pairs that are not secret stay
    assert out["headers"]["Accept"] == "application/json"
    assert out["nested"]["user"]["name"] == "ann"


def test_pairs_tuples_and_sets_are_walked() -> None:
    asgi_headers = [(b"authorization", b"Bearer opaque-bearer-tok"), (b"accept", b"*/*")]
    cleaned = Redactor().clean({"headers": asgi_headers, "pairs": [("api_key", "k")], "tags": {"b", "a"}})
    assert cleaned == {
        "headers": [["b'authorization'", "[REDACTED]"], ["b'accept'", "b'*/*'"]],
        "pairs": [["api_key", "[REDACTED]"]],
        "tags": ["a", "b"],
    }
    assert Redactor().clean([("note", JWT)]) == [["note", "[REDACTED]"]]


def test_the_list_can_be_extended_and_trimmed() -> None:
    redactor = Redactor(extra_keys=["ssn"], allow_keys=["token_type"])
    assert redactor.clean({"ssn": "123", "token_type": "bearer", "token": "t"}) == {
        "ssn": "[REDACTED]",
        "token_type": "bearer",
        "token": "[REDACTED]",
    }
    assert Redactor(keys=["ssn"]).clean({"password": "p", "SSN": "1"}) == {"password": "p", "SSN": "[REDACTED]"}


def test_redaction_can_be_switched_off_but_sanitising_stays() -> None:
    redactor = Redactor(enabled=False)
    assert redactor.clean({"password": "p", "n": float("inf")}) == {"password": "p", "n": "inf"}


def test_a_mapping_whose_items_repeat_a_name_keeps_every_value() -> None:
    # werkzeug's Headers is a Mapping in some releases (3.1.0), and not in others (3.1.9): as a
    # mapping its repeated names kept only their last value.
    from collections.abc import Iterator, Mapping

    class Repeating(Mapping[str, str]):
        pairs = (("Authorization", "Basic aHVudGVyMi1wdw=="), ("Accept", "*/*"), ("Accept", "text/html"))

        def __getitem__(self, name: str) -> str:
            return next(value for key, value in self.pairs if key == name)

        def __iter__(self) -> Iterator[str]:
            return iter(dict(self.pairs))

        def __len__(self) -> int:
            return len(self.pairs)

        def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
            return iter(self.pairs)

    cleaned = Redactor().clean({"headers": Repeating()})
    assert cleaned["headers"] == {"Authorization": "[REDACTED]", "Accept": ["*/*", "text/html"]}
    assert Redactor().clean({"plain": {"a": 1, "b": 2}}) == {"plain": {"a": 1, "b": 2}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("page=2&access_token=abc&x=1", "page=2&access_token=[REDACTED]&x=1"),
        ("API_KEY=k&Password=p", "API_KEY=[REDACTED]&Password=[REDACTED]"),
        ("client%5Fsecret=s", "client%5Fsecret=[REDACTED]"),
        (f"next=%2Fhome&note={JWT}", "next=%2Fhome&note=[REDACTED]"),
        ("flag&token", "flag&token"),
        ("", ""),
        ("a=1&a=2&b=%20", "a=1&a=2&b=%20"),
    ],
)
def test_query_strings(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_access_entries_redact_the_query_and_keep_it_out_of_the_message() -> None:
    entry = access_entry(
        method="GET",
        path="/cb",
        query="code=1&client_secret=s3cr3t-client",
        status=302,
        duration_ms=1.23456,
        response_size=0,
        user_agent="curl/8",
    )
    assert entry.message == "GET /cb 302"
    assert entry.fields["http_path"] == "/cb?code=1&client_secret=[REDACTED]"
    assert entry.fields["duration_ms"] == 1.235


@dataclass
class Login:
    user: str
    password: str


TEXT_SHAPES = {
    "dataclass repr": repr(Login("ann", "hunter2-pw")),
    "dict repr": repr({"user": "ann", "password": "hunter2-pw"}),
    "json text": '{"user": "ann", "password": "hunter2-pw"}',
    "spaced pair": "password = hunter2-pw",
    "yaml style": "password: hunter2-pw",
    "comma in value": "password=abc,hunter2-pw",
    "dsn userinfo": "postgresql://app:hunter2-pw@db:5432/shop",
    "basic header": "Authorization: Basic aHVudGVyMi1wdw==",
    "cookie header": "Cookie: sessionid=hunter2-pw; theme=dark",
    "mixed-case bearer": "sent bEaReR hunter2-pw to the api",
    "percent-encoded key": "GET /x?api%5Fkey=hunter2-pw",
    "exception-style": "ValueError({'password': 'hunter2-pw'})",
}


@pytest.mark.parametrize("text", list(TEXT_SHAPES.values()), ids=list(TEXT_SHAPES))
def test_secrets_in_text_shapes(text: str) -> None:
    for engine in ("stdlib", "orjson"):
        line = JSONFormatter(json=engine).format(make_record("%s", args=(text,), extra={"note": text}))  # type: ignore[arg-type]
        assert "hunter2-pw" not in line
        assert "aHVudGVyMi1wdw" not in line


def test_mapping_like_objects_and_camel_case_keys() -> None:
    from werkzeug.datastructures import Headers

    headers = Headers([("Authorization", "Basic aHVudGVyMi1wdw=="), ("Accept", "*/*"), ("Accept", "text/html")])
    cleaned = Redactor().clean(
        {
            "headers": headers,
            "privateKey": "k",
            "clientSecret": "s",
            "har": [{"name": "Authorization", "value": "Basic aHVudGVyMi1wdw=="}],
        }
    )
    assert cleaned["headers"] == {"Authorization": "[REDACTED]", "Accept": ["*/*", "text/html"]}
    assert (cleaned["privateKey"], cleaned["clientSecret"]) == ("[REDACTED]", "[REDACTED]")
    assert "aHVudGVyMi1wdw" not in json.dumps(cleaned)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("x=BEARER%20hunter2", "x=[REDACTED]"),
        ("a=1;to%6Ben=hunter2", "a=1;to%6Ben=[REDACTED]"),
        ("auth=Basic%20aHVudGVyMg%3D%3D", "auth=[REDACTED]"),
        ("q=caf%C3%A9&n=1", "q=caf%C3%A9&n=1"),
    ],
)
def test_encoded_query_strings(query: str, expected: str) -> None:
    assert redact_query(query) == expected


# Shapes that once went through (found by attacking the examples over real servers).
LEAKS = {
    "form-array key": repr({"password[]": "hunter6-pw"}),
    "nested form key": "user[password]=hunter6-pw&x=1",
    "a pair inside a plain value": repr({"y": "1;password=hunter6-pw"}),
    "a pair after plain pairs": "y=a=b=password=hunter6-pw",
    "an encoded key that holds a pair": "GET /x?password%3Dhunter6-pw=x",
    "an encoded URL password": "<ASGIRequest: GET '/nope?next=https%3A%2F%2Fu%3Ahunter6-pw%40db%2F'>",
    "an encoded bearer": "<ASGIRequest: GET '/nope?auth=Bearer%20hunter6-pw'>",
    "a plus-encoded bearer": "<WSGIRequest: GET '/nope?auth=Bearer+hunter6-pw'>",
    "an encoded path parameter": "<ASGIRequest: GET '/nope%3Bpassword%3Dhunter6-pw'>",
    "an unclosed quote": 'password="hunter6-pw',
    "pydantic's input value": "password\n  String should have at most 10 characters "
    "[type=string_too_long, input_value='hunter6-pw', input_type=str]",
    "pydantic's input holding its own end": "[type=string_too_long, input_value=', input_type=hunter6-pw', "
    "input_type=str]",
    "a quote of the other kind inside a quoted value": 'password="it\'s hunter6-pw"',
    "a URL with a password and no user": "redis://:hunter6-pw@cache:6379/0",
    "a JWT right after a letter": f"x{JWT}".replace("SflKx", "hunter6-pw"),
    "a JWT right after an underscore": f"id_{JWT}".replace("SflKx", "hunter6-pw"),
    "a JWT right after a hyphen": f"id=abc-{JWT}".replace("SflKx", "hunter6-pw"),
}


@pytest.mark.parametrize("text", list(LEAKS.values()), ids=list(LEAKS))
def test_shapes_that_leaked_once(text: str) -> None:
    scrubbed = Redactor().scrub(text)
    assert "hunter6" not in scrubbed
    assert "[REDACTED]" in scrubbed


def test_what_is_not_a_secret_stays() -> None:
    redactor = Redactor(allow_keys=["token_type"])
    kept = [
        "note input_value=5 for sensor A, then a reset",  # no ", input_type=": not pydantic's text
        "data[token_type]=bearer&x=1",  # an allowed name stays allowed inside brackets
        "version 1.2.3 of eyJ-tools",  # "eyJ" in a run that is no JWT
    ]
    for text in kept:
        assert redactor.scrub(text) == text
    assert redactor.scrub(f"a {JWT}.tail") == "a [REDACTED].tail"


def test_a_cut_drops_a_last_token_that_may_be_half_a_secret() -> None:
    redactor = Redactor(max_length=40)
    url = "see postgres://app:hunter6-pw" + "x" * 30 + "@db/shop"
    assert redactor.scrub(url) == f"see [{len(url) - 4} more characters]"
    jwt = "token is " + JWT
    assert "eyJ" not in redactor.scrub(jwt)
    words = "key: value " * 10
    assert redactor.scrub(words) == f"{words[:40]}[{len(words) - 40} more characters]"


def test_an_encoded_secret_is_shown_decoded_and_the_rest_kept() -> None:
    assert Redactor().scrub("GET '/nope?next=https%3A%2F%2Fu%3Apw%40db%2F'") == (
        "GET '/nope?next=https://u:[REDACTED]@db/'"
    )
    assert Redactor().scrub("GET '/x?q=caf%C3%A9&n=1'") == "GET '/x?q=caf%C3%A9&n=1'"  # nothing hidden: as it was


def test_the_query_of_the_access_line_hides_a_pair_in_a_name() -> None:
    assert redact_query("password%3Dhunter6-pw=x&a=1") == "[REDACTED]=[REDACTED]&a=1"


def test_a_traceback_chained_from_a_validation_error_keeps_the_input_out() -> None:
    from pydantic import BaseModel, Field, ValidationError

    class Login(BaseModel):
        password: str = Field(max_length=10)

    try:
        try:
            Login(password="hunter6-too-long")
        except ValidationError as exc:
            raise RuntimeError("login failed") from exc
    except RuntimeError as exc:
        record = make_record("boom", level=logging.ERROR, exc_info=(type(exc), exc, exc.__traceback__))
    text = JSONFormatter().format(record)
    assert "hunter6" not in text
    assert "input_value=[REDACTED], input_type=str" in text


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=16)


@given(
    prefix=st.text(max_size=40),
    key=st.sampled_from(["password", "api_key", "X-Api-Key", "client_secret", "sessionToken", "user[password]"]),
    separator=st.sampled_from(["=", ":", " = ", ": ", "%3D"]),
    secret=_WORD,
    end=st.sampled_from([" ", "&", ";", "\n", "", ",x"]),
    suffix=st.text(max_size=40),
)
def test_a_secret_pair_in_any_surroundings_is_redacted(
    prefix: str, key: str, separator: str, secret: str, end: str, suffix: str
) -> None:
    assume(secret not in prefix + key + suffix)
    text = f"{prefix} {key}{separator}{secret}{end}{suffix}"
    assert secret not in Redactor().scrub(text)
