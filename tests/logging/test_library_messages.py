"""Every message backendkit logs is written as it was meant, and what it interpolates is still redacted.

The walk (``tests/logging/log_calls.py``) finds each logging call in the source;
each is rendered with the values the library passes there (reason codes, methods
and paths, store and fetch errors as their libraries word them, JWKS warnings as
the parser writes them) and formatted by every profile with both encoders: the
message must come out as rendered. The refusal line once came out as
``[REDACTED] refused: expired``.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from backendkit.logging import PROFILES, JSONFormatter
from tests.logging.log_calls import LEVELS, LogCall, Walk, conversions, walk_snippet

WALK = Walk.of_backendkit()
ENGINES = ("stdlib", "orjson")
FORMATTERS = [JSONFormatter(profile=profile, json=engine) for profile in PROFILES for engine in ENGINES]  # type: ignore[arg-type]


def test_the_walk_finds_every_call_and_can_render_each() -> None:
    assert WALK.problems == []
    templates = {call.template for call in WALK.calls}
    assert {"bearer token refused: %s", "%s %s %d", "health check %s raised"} <= templates
    # The outage lines of every store, written once in the kernel's breaker (issue 20 merged the
    # seven copies the rate limiter, the idempotency keys and the revocation lists had into these two).
    assert {"%s is unavailable (%s); %s", "%s is available again"} <= templates
    assert len(WALK.calls) >= 15  # as many as the source had after that merge, or more


def test_the_walk_refuses_a_message_it_could_not_render() -> None:
    walk = walk_snippet(
        "import logging\n"
        "from somewhere import other\n"
        'log = logging.getLogger("x")\n'
        "def f(token, parts, message):\n"
        '    log.info(f"token {token}")\n'  # an f-string
        '    log.info("token " + token)\n'  # built at run time
        "    log.warning(message)\n"  # a variable
        '    log.error("%s %s", *parts)\n'  # arguments the walk cannot count
        '    log.info("%s and %s", token)\n'  # one argument short
        '    other.info("sent %s", token)\n'  # a logger the walk cannot place
        "    logging.getLogger(__name__).debug(message)\n"
        '    log.log(logging.INFO, "sent %s", token)\n'
        "    parts.exception()\n"  # no message: not a logging call
    )
    assert [problem.split(": ", 1)[1] for problem in walk.problems] == [
        "the message is f'token {token}', not a string literal",
        "the message is 'token ' + token, not a string literal",
        "the message is message, not a string literal",
        "*arguments cannot be rendered by the walk",
        "'%s and %s' takes 2 arguments",
        "other.info(...) on something the walk cannot place",
        "the message is message, not a string literal",
    ]
    [call] = walk.calls
    assert (call.logger, call.method, call.template, call.args, call.level_arg) == (
        "x",
        "log",
        "sent %s",
        ("token",),
        "logging.INFO",
    )


class _Refusal(Exception):
    """An exception as a library words it, without raising it."""


@cache
def samples() -> dict[str, list[Any]]:
    """Representative values of each argument the library logs, by the argument's source text."""
    import redis

    from backendkit.auth._core.errors import KEY_REASONS, REASONS
    from backendkit.auth._core.jwkset import parse_jwks
    from backendkit.auth._fetch import Refused, get, parse_url
    from backendkit.auth.backends import default_backend
    from backendkit.idempotency._core.fingerprint import storage_key
    from backendkit.idempotency._core.store import StoreUnavailable
    from backendkit.idempotency._idempotency import DEFAULT_PREFIX
    from backendkit.ratelimit import Limit
    from backendkit.ratelimit._core.store import StoreError
    from tests.auth.keys import ec_pair, rsa_pair
    from tests.support.net import free_port

    closed = free_port()  # nothing listens there: the errors a dead Redis or JWKS host gives
    try:
        redis.Redis(host="127.0.0.1", port=closed, socket_connect_timeout=2).ping()
    except redis.ConnectionError as exc:
        redis_down: Exception = exc
    try:
        get(parse_url(f"http://127.0.0.1:{closed}/jwks", "jwks_url", True), 2.0, 65536)
    except OSError as exc:
        fetch_refused: Exception = exc
    jwks_errors = []
    for raw in (b"{}", b"[1", b"x" * 2048):
        try:
            parse_jwks(raw, default_backend().verifier, max_bytes=1024)
        except ValueError as exc:
            jwks_errors.append(exc)
    rsa, ec, small = rsa_pair().public_jwk, ec_pair().public_jwk, rsa_pair(1024).public_jwk
    document = {
        "keys": [
            {"kty": "oct", "kid": "hs", "k": "c2VjcmV0LXNoYXJlZC1rZXk"},
            {**rsa, "kid": "private", "alg": "RS256", "d": "AQAB"},
            {**rsa, "kid": "no-alg"},
            {**rsa, "kid": "twice", "alg": "RS256"},
            {**rsa, "kid": "twice", "alg": "PS256"},
            {**ec, "kid": "ec-as-rsa", "alg": "RS256"},
            {**small, "kid": "small", "alg": "RS256"},
            {"kty": "XYZ", "kid": "odd"},
            {"kty": "EC", "crv": "P-256"},
        ]
    }
    warnings = parse_jwks(json.dumps(document).encode(), default_backend().verifier).warnings
    assert len(warnings) == 8, warnings
    urls = ["https://idp.example.com/.well-known/jwks.json", f"http://127.0.0.1:{closed}/jwks"]
    store_key = storage_key(DEFAULT_PREFIX, "user:u-42", "POST", "/tasks", "3f0c2c5e-order-17")
    methods = ["GET", "POST", "DELETE", "HEAD"]
    paths = ["/tasks/5", "/", "/tasks/5/comments", "/auth/logout", "/admin/audit"]
    return {
        "exc.reason": sorted(REASONS | KEY_REASONS),
        # A key's public id, a refresh-token family's id (both base62, public) and its subject.
        "key_id": ["4bXq9ZtLm2Kp", "0000000000AA"],
        "family.id": ["3kF9bQ2xLmN8pR4tVw6yZa", "0000000000000000000000"],
        "family.subject": ["u-42", "alice@example.com", "deploy-bot"],
        "type(exc).__name__": ["ValueError", "ClientDisconnect", "OperationalError", "KeyError"],
        "method": methods,
        "request.method": methods,
        "entry.method": methods,
        "path": paths,
        "request.path": paths,
        "entry.path": paths,
        "entry.status": [200, 201, 204, 304, 401, 404, 413, 429, 500, 503],
        "level": [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR],
        "request_id": [uuid.uuid4().hex, "client-chosen-id-7", None],
        "exc": [
            redis_down,
            redis.TimeoutError("Timeout reading from socket"),
            StoreError(f"redis: {redis_down}"),
            StoreError("redis: no turn free within 1.0 s"),
            StoreUnavailable(str(redis_down)),
            fetch_refused,
            Refused("HTTP 503"),
            Refused("a body larger than 65536 bytes"),
            TimeoutError("no response headers within 5.0s"),
            *jwks_errors,
            ValueError("invalid literal for int() with base 10: 'abc'"),
            _Refusal(),
        ],
        "where": [*urls, store_key],
        "self.url": [*urls, None],
        "warning": list(warnings),
        "self.on_error": ["open", "closed"],
        "self.on_store_error": ["open", "closed"],
        "self.what": [
            "the rate-limit store",
            "the idempotency store",
            "the Redis revocation list",
            "the API key store",
            "the refresh-token store",
        ],
        "what": [
            "the BackendKit extension is not on this app: BackendKit(app), or init_app(app)",
            "@require is on a view but backendkit.flask.auth.Auth is not on the app: every request to it is "
            "refused 401; add Auth(verifier).init_app(app) or BACKENDKIT_AUTH",
        ],
        "doing": [
            "failing open",
            "failing closed",
            "counting in the fallback store",
            "a response was not kept",
            "a revocation was not stored",
            "refusing refreshes",
            "access tokens of a revoked family were not revoked",
        ],
        "check.info.name": ["redis", "postgres", "disk-space", "jwks"],
        "attempt.key": [store_key],
        "bucket": ["/tasks|ip:127.0.0.1", "login|user:u-42", "*|ip:2001:db8::/64"],
        "decision.retry_after or 0.0": [0.0, 1.5, 59.999],
        "self": [Limit("5/minute", scope="login"), Limit("100/hour")],
        "observer": [_observer()],
        "directive": ["script-src-elem", "style-src-attr", "?"],
        "blocked": ["inline", "eval", "https://cdn.example.net/lib.js", "data"],
        "page": ["https://app.example.com/tasks/5", "http://127.0.0.1:8000/", "?"],
        "format % args": [
            '"GET /metrics HTTP/1.1" 200 -',
            '"POST /metrics HTTP/1.1" 405 -',
            "code 501, message Unsupported method ('BREW')",
        ],
    }


def _observer() -> Any:
    from backendkit.observability.opentelemetry import OpenTelemetry

    return OpenTelemetry()


def test_every_argument_has_representative_values() -> None:
    missing = {
        f"{call.where}: {arg}"
        for call in WALK.calls
        for arg in (*call.args, *([call.level_arg] if call.level_arg else []))
        if arg not in samples()
    }
    assert not missing, "give representative values for these arguments in samples()"


def variations(call: LogCall) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(level, arguments): the first value of each, then each value of each argument in turn."""
    choices = [samples()[arg] for arg in call.args]
    levels = samples()[call.level_arg] if call.level_arg else [LEVELS[call.method]]
    first = [values[0] for values in choices]
    yield from ((level, tuple(first)) for level in levels)
    for i, values in enumerate(choices):
        for value in values[1:]:
            yield levels[0], (*first[:i], value, *first[i + 1 :])


def record(call: LogCall, level: int, args: tuple[Any, ...]) -> logging.LogRecord:
    """The record the call makes with ``args``."""
    return logging.LogRecord(call.logger, level, str(call.path), call.lineno, call.template, args, None)


@cache
def message_key(formatter: JSONFormatter) -> str:
    line: dict[str, Any] = json.loads(
        formatter.format(logging.LogRecord("x", logging.INFO, "x.py", 1, "probe-7", None, None))
    )
    [key] = [key for key, value in line.items() if value == "probe-7"]
    return key


def message(formatter: JSONFormatter, log_record: logging.LogRecord) -> str:
    text: str = json.loads(formatter.format(log_record))[message_key(formatter)]
    return text


@pytest.mark.parametrize("call", WALK.calls, ids=[call.where for call in WALK.calls])
def test_every_library_message_is_written_as_rendered(call: LogCall) -> None:
    for level, args in variations(call):
        expected = call.template % args
        for formatter in FORMATTERS:
            assert message(formatter, record(call, level, args)) == expected, (formatter.profile, args)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTQyIiwiZXhwIjoxODAwMDAwMDAwfQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def secret_values() -> dict[str, Any]:
    """A secret, and a value that carries it the way a log argument could."""
    opaque = secrets.token_urlsafe(24)
    return {
        JWT: JWT,
        opaque: ValueError(f"upstream said: Authorization: Bearer {opaque}"),
        "hunter2-pw": "https://svc:hunter2-pw@db.internal:5432/shop",
        "s3cr3t-value": "/callback?client_secret=s3cr3t-value&state=1",
        "wordlike": "/reset;token=wordlike",  # a value that ends the argument
    }


class _Mark:
    """Where an argument goes in a rendered message, whatever its conversion."""

    def __str__(self) -> str:
        return "\x00argument\x00"

    __repr__ = __str__


@pytest.mark.parametrize("call", WALK.calls, ids=[call.where for call in WALK.calls])
def test_a_secret_in_what_a_library_message_interpolates_is_redacted(call: LogCall) -> None:
    level, first = next(variations(call))
    for position, conversion in enumerate(conversions(call.template)):
        if conversion not in "sra":  # a number
            continue
        # What comes before and after the argument is written as it was, whatever the argument holds.
        mark = _Mark()
        before, after = (call.template % (*first[:position], mark, *first[position + 1 :])).split(str(mark))
        for secret, carrier in secret_values().items():
            args = (*first[:position], carrier, *first[position + 1 :])
            for formatter in FORMATTERS:
                written = message(formatter, record(call, level, args))
                assert secret not in written, (formatter.profile, call.args[position], written)
                assert "[REDACTED]" in written
                assert written.startswith(before), (written, before)
                assert written.endswith(after), (written, after)
