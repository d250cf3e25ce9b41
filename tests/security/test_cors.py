"""The CORS policy: what a response and a preflight get, and the configurations refused at start-up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from backendkit.security import CORS, DEFAULT_EXPOSED, DEFAULT_HEADERS
from backendkit.security._core.cors import MAX_REQUESTED_HEADERS

APP = "https://app.example.com"
VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def test_star_with_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="every site"):
        CORS(allow_origins=["*"], allow_credentials=True)
    with pytest.raises(ConfigurationError, match="every site"):
        CORS(allow_origins=[APP, "*"], allow_credentials=True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"allow_origins": APP}, "not one string"),
        ({"allow_origins": ["https://app.example.com/"]}, "not an origin"),
        ({"allow_credentials": "yes"}, "True or False"),
        ({"allow_private_network": 1}, "True or False"),
        ({"max_age": -1}, "max_age"),
        ({"max_age": True}, "max_age"),
        ({"max_age": 1.5}, "max_age"),
        ({"allow_methods": "GET"}, "not one string"),
        ({"allow_methods": ["GET POST"]}, "not a header or method name"),
        ({"allow_headers": "Authorization"}, "not one string"),
        ({"allow_headers": ["X-Ok", "Bad Header"]}, "not a header or method name"),
        ({"allow_headers": [""]}, "not a header or method name"),
        ({"expose_headers": ["X-Ok", "Bad:Header"]}, "not a header or method name"),
        ({"expose_headers": "X-Ok"}, "not one string"),
    ],
)
def test_bad_configurations_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CORS(**arguments)  # type: ignore[arg-type]


def test_an_allowed_origin_is_echoed_with_credentials_and_the_exposed_headers() -> None:
    cors = CORS(allow_origins=[APP], allow_credentials=True)
    headers = dict(cors.response_headers(APP))
    assert headers == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": ", ".join(DEFAULT_EXPOSED),
        "Vary": "Origin",
    }


def test_the_origin_is_echoed_as_the_browser_sent_it() -> None:
    """A browser compares Access-Control-Allow-Origin with its own serialisation, byte for byte."""
    cors = CORS(allow_origins=[APP])
    assert dict(cors.response_headers("https://app.example.com:443"))["Access-Control-Allow-Origin"] == (
        "https://app.example.com:443"
    )


@pytest.mark.parametrize("origin", [None, "https://evil.test", "https://app.example.com.evil.test", "null", "garbage"])
def test_a_refused_or_missing_origin_gets_only_vary(origin: str | None) -> None:
    assert CORS(allow_origins=[APP]).response_headers(origin) == (("Vary", "Origin"),)
    assert CORS(allow_origins=[APP], allow_credentials=True).response_headers(origin) == (("Vary", "Origin"),)


def test_star_without_credentials_answers_star_and_still_varies() -> None:
    # A request without an Origin (or from null) gets no Access-Control-Allow-Origin: the answer
    # depends on the origin under "*" too, so a cache must keep the variants apart.
    cors = CORS(allow_origins=["*"])
    assert cors.star
    headers = cors.response_headers("https://anyone.test")
    assert dict(headers)["Access-Control-Allow-Origin"] == "*"
    assert dict(headers)["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in dict(headers)
    assert cors.response_headers(None) == (("Vary", "Origin"),)
    assert cors.response_headers("null") == (("Vary", "Origin"),)


@pytest.mark.parametrize(
    "origins", [["*", "null"], ["*", APP], ["https://*.example.com"], [APP], ["**.example.com".join(["https://", ""])]]
)
def test_vary_origin_whenever_the_answer_depends_on_the_origin(origins: list[str]) -> None:
    cors = CORS(allow_origins=origins)
    assert not cors.star
    assert ("Vary", "Origin") in cors.response_headers("https://other.test")
    assert ("Vary", "Origin") in cors.response_headers(None)


def test_no_exposed_headers_no_expose_header() -> None:
    cors = CORS(allow_origins=[APP], expose_headers=[])
    assert "Access-Control-Expose-Headers" not in dict(cors.response_headers(APP))


def test_an_allowed_preflight() -> None:
    cors = CORS(allow_origins=[APP], allow_credentials=True, max_age=123)
    answer = cors.preflight(APP, "PUT", "Authorization, Idempotency-Key,content-type, traceparent")
    assert answer.allowed
    assert answer.reason is None
    assert dict(answer.headers) == {
        "Access-Control-Allow-Origin": APP,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "authorization, idempotency-key, content-type, traceparent",
        "Access-Control-Max-Age": "123",
        "Vary": VARY_PREFLIGHT,
    }


def test_a_preflight_without_requested_headers_has_no_allow_headers() -> None:
    answer = CORS(allow_origins=[APP]).preflight(APP, "DELETE", None)
    assert answer.allowed
    assert "Access-Control-Allow-Headers" not in dict(answer.headers)
    assert CORS(allow_origins=[APP]).preflight(APP, "DELETE", " , ").allowed


def test_the_default_headers_cover_what_backendkit_reads() -> None:
    lowered = {h.lower() for h in DEFAULT_HEADERS}
    assert {"authorization", "x-api-key", "idempotency-key", "traceparent", "content-type"} <= lowered
    assert CORS(allow_origins=[APP]).preflight(APP, "PUT", ", ".join(DEFAULT_HEADERS)).allowed


@pytest.mark.parametrize(
    ("origin", "method", "headers", "private", "reason"),
    [
        ("https://evil.test", "GET", None, False, "origin 'https://evil.test' is not allowed"),
        ("null", "GET", None, False, "origin 'null' is not allowed"),
        (APP, "TRACE", None, False, "method 'TRACE' is not allowed"),
        (APP, "put", None, False, "method 'put' is not allowed"),  # methods are compared as sent, as browsers do
        (APP, "PUT", "authorization, x-secret", False, "request header 'x-secret' is not allowed"),
        (APP, "PUT", ", ".join(["accept"] * (MAX_REQUESTED_HEADERS + 1)), False, "too many request headers"),
        (APP, "PUT", "authorization, bad header", False, "not a header name"),
        (APP, "PUT", "x(y)", False, "not a header name"),
        (APP, "GET", None, True, "private network access is not allowed"),
    ],
)
def test_refused_preflights_say_why_and_carry_only_vary(
    origin: str, method: str, headers: str | None, private: bool, reason: str
) -> None:
    answer = CORS(allow_origins=[APP], allow_credentials=True).preflight(origin, method, headers, private)
    assert not answer.allowed
    assert answer.reason is not None
    assert reason in answer.reason
    assert answer.headers == (("Vary", VARY_PREFLIGHT),)


def test_as_many_requested_headers_as_the_bound_pass() -> None:
    requested = ", ".join(["accept"] * MAX_REQUESTED_HEADERS)
    assert CORS(allow_origins=[APP]).preflight(APP, "GET", requested).allowed


def test_the_refusal_reason_is_bounded() -> None:
    answer = CORS(allow_origins=[APP]).preflight("https://" + "a" * 400 + ".test", "GET", None)
    assert answer.reason is not None
    assert len(answer.reason) < 150
    answer = CORS(allow_origins=[APP]).preflight(APP, "PUT", "x-" + "a" * 400)
    assert answer.reason is not None
    assert len(answer.reason) < 150


def test_private_network_preflights_are_an_opt_in() -> None:
    cors = CORS(allow_origins=[APP], allow_private_network=True)
    answer = cors.preflight(APP, "GET", None, private_network=True)
    assert answer.allowed
    headers = dict(answer.headers)
    assert headers["Access-Control-Allow-Private-Network"] == "true"
    assert headers["Vary"] == VARY_PREFLIGHT + ", Access-Control-Request-Private-Network"
    assert "Access-Control-Allow-Private-Network" not in dict(cors.preflight(APP, "GET", None).headers)
    assert not cors.preflight("https://evil.test", "GET", None, private_network=True).allowed


def test_allow_headers_star_echoes_any_requested_header() -> None:
    cors = CORS(allow_origins=[APP], allow_credentials=True, allow_headers=["*"])
    answer = cors.preflight(APP, "POST", "X-Anything, X-Else")
    assert answer.allowed
    assert dict(answer.headers)["Access-Control-Allow-Headers"] == "x-anything, x-else"  # not "*": credentials
    assert not cors.preflight(APP, "POST", "x y").allowed  # still header names


def test_star_origin_preflight_answers_star() -> None:
    answer = CORS(allow_origins=["*"]).preflight("https://anyone.test", "GET", None)
    assert answer.allowed
    assert dict(answer.headers)["Access-Control-Allow-Origin"] == "*"
    assert not CORS(allow_origins=["*"]).preflight("null", "GET", None).allowed


def test_methods_are_upper_cased_in_the_setting() -> None:
    cors = CORS(allow_origins=[APP], allow_methods=["get", "report"])
    assert cors.allow_methods == ("GET", "REPORT")
    assert cors.preflight(APP, "REPORT", None).allowed
    assert not cors.preflight(APP, "PUT", None).allowed


def test_with_headers_adds_names_once_and_keeps_the_rest() -> None:
    cors = CORS(allow_origins=[APP], allow_credentials=True, max_age=5, allow_private_network=True)
    more = cors.with_headers(allow=["X-Request-ID", "authorization"], expose=["X-Request-ID", "etag"])
    assert more.allow_headers == (*DEFAULT_HEADERS, "X-Request-ID")
    assert more.expose_headers == (*DEFAULT_EXPOSED, "X-Request-ID")
    assert more.preflight(APP, "GET", "x-request-id").allowed
    assert not cors.preflight(APP, "GET", "x-request-id").allowed
    assert (more.allow_credentials, more.max_age, more.allow_private_network) == (True, 5, True)
    assert more.allow_origins == cors.allow_origins
    star = CORS(allow_origins=[APP], allow_headers=["*"]).with_headers(allow=["X-Request-ID"])
    assert star.preflight(APP, "GET", "x-whatever").allowed


def test_a_policy_compares_by_its_arguments() -> None:
    assert CORS(allow_origins=[APP]) == CORS(allow_origins=(APP,))
    assert CORS(allow_origins=[APP]) != CORS(allow_origins=[APP], max_age=1)


TOKEN = st.from_regex(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True)


@given(st.lists(TOKEN, max_size=10), st.lists(TOKEN, max_size=10))
def test_a_preflight_is_allowed_exactly_when_every_requested_header_is_allowed(
    allowed: list[str], requested: list[str]
) -> None:
    cors = CORS(allow_origins=[APP], allow_headers=allowed)
    answer = cors.preflight(APP, "GET", ", ".join(requested))
    expected = "*" in allowed or {h.lower() for h in requested} <= {h.lower() for h in allowed}  # "*": any
    assert answer.allowed is expected
    if answer.allowed and requested:
        assert dict(answer.headers)["Access-Control-Allow-Headers"] == ", ".join(h.lower() for h in requested)
