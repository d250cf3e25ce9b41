"""Every settings key is honoured or refused on every adapter: never accepted and ignored.

The keys come from ``dataclasses.fields(Settings)``: a new key without a decision for each
adapter fails :func:`test_every_key_has_a_decision_on_every_adapter`. An honoured key is
checked by its effect on a real request through the framework's test client; a refused one
by the ``ConfigurationError`` the app's build raises (Django: ``ImproperlyConfigured``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from backendkit._settings import Settings
from backendkit.errors import ConfigurationError, Conflict, ExceptionRegistry
from backendkit.http import Versioning
from backendkit.idempotency import Idempotency, MemoryStore
from backendkit.ratelimit import Limit
from tests.adapters.apps import PAID, Send, Teapot, built
from tests.auth.apps import verifier
from tests.auth.keys import token

ADAPTERS = ["flask", "django", "starlette", "fastapi"]
ASGI = ("starlette", "fastapi")
KEYS = [f.name for f in fields(Settings)]


@dataclass(frozen=True)
class Honoured:
    """The key's value, and what a request shows of it."""

    value: Callable[[], Any]
    shows: Callable[[Send, pytest.LogCaptureFixture], None]  # (raises when the effect is missing)


@dataclass(frozen=True)
class Refused:
    """The key is refused when the app is built, with a message naming what to write instead."""

    value: Callable[[], Any]
    says: str


def _access_lines(caplog: pytest.LogCaptureFixture, path: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "backendkit.access" and r.getMessage().split(" ")[1] == path]


def _problem(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/missing").headers["content-type"] == "application/problem+json"


def _debug(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    reply = send("GET", "/boom")
    assert reply.status == 500
    assert reply.json()["error"]["details"]["exception"] == "builtins.RuntimeError"


def _header(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    reply = send("GET", "/ok", {"X-Correlation-ID": "corr-1"})
    assert reply.headers["x-correlation-id"] == "corr-1"
    assert "x-request-id" not in reply.headers


def _untrusted(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    reply = send("GET", "/ok", {"X-Request-ID": "from-the-client"})
    assert reply.headers["x-request-id"] not in ("", "from-the-client")


def _registry(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/teapot").status == 409


def _no_access_log(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/ok").status == 200
    assert send("GET", "/who").status == 200
    assert _access_lines(caplog, "/ok") == _access_lines(caplog, "/who") == []


def _excluded(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/ok").status == 200
    assert send("GET", "/who").status == 200
    assert _access_lines(caplog, "/ok") == []
    assert [r.levelno for r in _access_lines(caplog, "/who")] == [logging.INFO]


def _quiet(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/ok").status == 200
    assert send("GET", "/who").status == 200
    assert [r.levelno for r in _access_lines(caplog, "/ok")] == [logging.DEBUG]
    assert [r.levelno for r in _access_lines(caplog, "/who")] == [logging.INFO]


def _body_limit(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("POST", "/echo", body=b"x" * 10).status == 200
    assert send("POST", "/echo", body=b"x" * 100).status == 413


def _proxies(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/who", {"X-Forwarded-For": "203.0.113.7"}).json()["client"] == "203.0.113.7"


def _limited(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    first, second = send("GET", "/ok"), send("GET", "/ok")
    assert (first.status, second.status) == (200, 429)
    assert "ratelimit" in first.headers


def _authenticated(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    bearer = {"Authorization": f"Bearer {token(sub='ada')}"}
    assert send("GET", "/who", bearer).json()["user"] == "ada"  # every request: the user is named
    assert send("GET", "/who").json()["user"] is None
    assert send("GET", "/me").status == 401  # and @require needs nothing more
    assert send("GET", "/me", bearer).status == 200


def _idempotent(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    PAID.clear()
    key = {"Idempotency-Key": '"k-1"'}
    first, retry = send("POST", "/pay", key, b"{}"), send("POST", "/pay", key, b"{}")
    assert (first.status, retry.status, retry.body) == (201, 201, first.body)
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(PAID) == 1


ORIGIN = "https://app.example.com"


def _cors(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    preflight = send("OPTIONS", "/ok", {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
    assert (preflight.status, preflight.headers["access-control-allow-origin"]) == (204, ORIGIN)
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    for path, status in (("/ok", 200), ("/missing", 404), ("/boom", 500)):
        reply = send("GET", path, {"Origin": ORIGIN})
        assert (reply.status, reply.headers["access-control-allow-origin"]) == (status, ORIGIN)
        assert "x-request-id" in reply.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in send("GET", "/ok", {"Origin": "https://elsewhere.example"}).headers


def _security_headers(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    for path, status in (("/ok", 200), ("/missing", 404), ("/boom", 500)):
        reply = send("GET", path)
        assert (reply.status, reply.headers["x-frame-options"]) == (status, "SAMEORIGIN")
        assert reply.headers["x-content-type-options"] == "nosniff"  # the other defaults stay
        assert "referrer-policy" not in reply.headers


def _conditional(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    reply = send("GET", "/ok")
    tag = reply.headers["etag"]
    fresh = send("GET", "/ok", {"If-None-Match": tag})
    assert (fresh.status, fresh.headers["etag"]) == (304, tag)
    assert "etag" not in send("GET", "/missing").headers


def _versioning(send: Send, caplog: pytest.LogCaptureFixture) -> None:
    assert send("GET", "/ok").headers["vary"].endswith("API-Version")
    refused = send("GET", "/ok", {"API-Version": "9"})
    assert refused.status == 400
    assert refused.json()["error"]["details"] == {"requested": "9", "supported": ["1"]}
    assert refused.headers["vary"].endswith("API-Version")


def _teapot_registry() -> ExceptionRegistry:
    registry = ExceptionRegistry()
    registry.register(Teapot, lambda exc: Conflict("short and stout"))
    return registry


def _everywhere(decision: Honoured | Refused) -> dict[str, Honoured | Refused]:
    return dict.fromkeys(ADAPTERS, decision)


Shows = Callable[[Send, pytest.LogCaptureFixture], None]


def _composed(value: Callable[[], Any], honoured: Shows, says: str) -> dict[str, Honoured | Refused]:
    """Honoured by Flask and Django; refused by an ASGI app, which adds the piece itself."""
    return {
        "flask": Honoured(value, honoured),
        "django": Honoured(value, honoured),
        "starlette": Refused(value, says),
        "fastapi": Refused(value, says),
    }


DECISIONS: dict[str, dict[str, Honoured | Refused]] = {
    "error_format": _everywhere(Honoured(lambda: "problem", _problem)),
    "debug_errors": _everywhere(Honoured(lambda: True, _debug)),
    "request_id_header": _everywhere(Honoured(lambda: "X-Correlation-ID", _header)),
    "trust_request_id": _everywhere(Honoured(lambda: False, _untrusted)),
    "registry": _everywhere(Honoured(_teapot_registry, _registry)),
    "access_log": _everywhere(Honoured(lambda: False, _no_access_log)),
    "access_log_exclude": _everywhere(Honoured(lambda: ["/ok"], _excluded)),
    "access_log_quiet": _everywhere(Honoured(lambda: ["/ok"], _quiet)),
    "max_body_size": _everywhere(Honoured(lambda: 10, _body_limit)),
    "trusted_proxies": _everywhere(Honoured(lambda: 1, _proxies)),
    "rate_limits": _composed(lambda: Limit("1/minute"), _limited, "RateLimitMiddleware"),
    "auth": _composed(verifier, _authenticated, "AuthenticationMiddleware"),
    "cors": _everywhere(Honoured(lambda: {"allow_origins": [ORIGIN]}, _cors)),
    "security_headers": _everywhere(
        Honoured(lambda: {"frame_options": "SAMEORIGIN", "referrer_policy": None}, _security_headers)
    ),
    "idempotency": _composed(lambda: Idempotency(MemoryStore()), _idempotent, "IdempotentRoutes"),
    "conditional_requests": _everywhere(Honoured(lambda: True, _conditional)),
    "versioning": _everywhere(Honoured(lambda: Versioning(["1"], source="header"), _versioning)),
}


def test_every_key_has_a_decision_on_every_adapter() -> None:
    assert sorted(DECISIONS) == sorted(KEYS)
    for key, decided in DECISIONS.items():
        assert sorted(decided) == sorted(ADAPTERS), key


@pytest.mark.parametrize("framework", ADAPTERS)
@pytest.mark.parametrize("key", KEYS)
def test_a_key_is_honoured_or_refused(key: str, framework: str, caplog: pytest.LogCaptureFixture) -> None:
    decision = DECISIONS[key][framework]
    settings = {key: decision.value()}
    if isinstance(decision, Refused):
        with pytest.raises((ConfigurationError, ImproperlyConfigured), match=decision.says), built(framework, settings):
            pass
        return
    with caplog.at_level(logging.DEBUG, logger="backendkit.access"), built(framework, settings) as send:
        decision.shows(send, caplog)


@pytest.mark.parametrize("framework", ["flask", "django"])
@pytest.mark.parametrize("taken", ["api keys", "tokens and api keys"])
def test_the_auth_setting_takes_api_keys(framework: str, taken: str) -> None:
    from backendkit.auth import BearerAuth
    from tests.auth.apps import KEYS, key_verifier

    value = key_verifier() if taken == "api keys" else BearerAuth(verifier(), api_keys=key_verifier())
    with built(framework, {"auth": value}) as send:
        key = {"X-API-Key": KEYS.create("ada").key}
        assert send("GET", "/who", key).json()["user"] == "ada"  # every request: the key's owner is named
        assert send("GET", "/me", key).status == 200
        assert send("GET", "/me", {"Authorization": f"Bearer {KEYS.create('ada').key}"}).status == 200
        with_token = send("GET", "/me", {"Authorization": f"Bearer {token(sub='ada')}"})
        assert with_token.status == (401 if taken == "api keys" else 200)
