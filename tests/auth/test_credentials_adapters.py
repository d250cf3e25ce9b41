"""API keys and the refresh endpoint on FastAPI, Starlette, Flask, Django and DRF: the same answers everywhere.

The apps are ``tests.auth.apps``': each takes access tokens and the API keys of
``apps.KEYS``, and serves ``POST /auth/refresh`` for ``apps.REFRESH``. A reply is
compared across the frameworks whole (status, headers, body), but for its request id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import pytest

from backendkit.apikeys import APIKeys, MemoryKeyStore
from backendkit.auth._core.refresh import FORMAT
from tests.adapters.apps import Reply
from tests.auth import apps
from tests.auth.keys import token

CHALLENGE = 'Bearer realm="api"'
INVALID_TOKEN = (
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
)
INVALID_REQUEST = 'Bearer realm="api", error="invalid_request"'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# The routes that authenticate, on each framework (Django: sync, async, the lazy principal, DRF).
ME = {"fastapi": ["/me"], "starlette": ["/me"], "flask": ["/me"], "django": ["/me", "/me-async", "/lazy", "/drf/me"]}
OWNED = {
    "fastapi": ["/owned", "/owned-async"],
    "starlette": ["/owned"],
    "flask": ["/owned", "/owned-async"],
    "django": ["/owned", "/owned-async", "/drf/owned"],
}
REPORTS = {
    "fastapi": ["/reports"],
    "starlette": ["/reports"],
    "flask": ["/reports"],
    "django": ["/reports", "/drf/reports"],
}
REFRESH_PATHS = {
    "fastapi": ["/auth/refresh"],
    "starlette": ["/auth/refresh"],
    "flask": ["/auth/refresh"],
    "django": ["/auth/refresh", "/auth/refresh-async"],
}


@pytest.fixture(scope="module")
def every() -> Iterator[dict[str, apps.Send]]:
    """Each framework's app, to send the same request to all of them."""
    with ExitStack() as stack:
        yield {framework: stack.enter_context(apps.clients(framework)) for framework in apps.FRAMEWORKS}


def _normalized(reply: Reply) -> tuple[int, dict[str, str], Any]:
    headers = {name: value for name, value in reply.headers.items() if name != "x-request-id"}
    body = json.loads(reply.body) if reply.body else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].pop("request_id", None)
    return reply.status, headers, body


def _alike(replies: dict[str, Reply]) -> None:
    """The replies, request ids aside, are one and the same."""
    seen = {where: _normalized(reply) for where, reply in replies.items()}
    reference = next(iter(seen.values()))
    for where, reply in seen.items():
        assert reply == reference, f"{where} differs from {next(iter(seen))}"


def _key(owner: str = "user-1", **options: Any) -> str:
    return apps.KEYS.create(owner, **options).key


def _in_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _as_bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# API keys.


def test_an_api_key_authenticates_in_either_header(every: dict[str, apps.Send]) -> None:
    key = _key("owner-1")
    for framework, send in every.items():
        for path in ME[framework]:
            for headers in (_in_header(key), _as_bearer(key), {"x-api-key": f"  {key} "}):
                reply = send("GET", path, headers)
                assert (reply.status, reply.json()) == (200, {"sub": "owner-1"}), (framework, path, headers)
                assert "www-authenticate" not in reply.headers
            assert send("GET", path, {"Authorization": f"Bearer {token(sub='jwt-1')}"}).json() == {"sub": "jwt-1"}


def test_the_guards_see_a_key_as_they_see_a_token(every: dict[str, apps.Send]) -> None:
    viewer, admin = _key("user-1", roles=["viewer"]), _key("admin-1", roles=["admin"])
    scoped, unscoped = _key("user-1", scopes=["reports:read"]), _key("user-1", scopes=["tasks:read"])
    for framework, send in every.items():
        for path in OWNED[framework]:
            assert send("DELETE", f"{path}/user-1", _in_header(viewer)).json() == {"deleted": "user-1"}
            refused = send("DELETE", f"{path}/user-2", _in_header(viewer))
            assert (refused.status, refused.json()["error"]["code"]) == (403, "FORBIDDEN"), (framework, path)
            as_token = send("DELETE", f"{path}/user-2", {"Authorization": f"Bearer {token()}"})
            _alike({"key": refused, "token": as_token})
            assert send("DELETE", f"{path}/user-2", _as_bearer(admin)).json() == {"deleted": "user-2"}
        for path in REPORTS[framework]:
            assert send("GET", path, _in_header(scoped)).json() == {"ok": True}, (framework, path)
            refused = send("GET", path, _in_header(unscoped))
            assert refused.status == 403
            assert refused.headers["www-authenticate"] == (
                'Bearer realm="api", error="insufficient_scope", scope="reports:read"'
            )
            _alike({"key": refused, "token": send("GET", path, {"Authorization": f"Bearer {token()}"})})


def _bad_keys() -> dict[str, tuple[dict[str, str], int, str | None]]:
    live = apps.KEYS.create("user-1")
    revoked = _key()
    apps.KEYS.revoke(apps.KEYS.verifier().parse(revoked).id)
    unknown = APIKeys(MemoryKeyStore(), prefix="bk_test_").create("user-1").key  # well made, never stored here
    wrong_secret = apps.KEYS.format.compose(live.record.id, bytes(32))
    cases: dict[str, tuple[dict[str, str], int, str | None]] = {}
    for label, value in {
        "malformed": "bk_test_nope",
        "truncated": live.key[:-3],
        "wrong checksum": live.key[:-1] + ("A" if live.key[-1] != "A" else "B"),
        "unknown": unknown,
        "wrong secret": wrong_secret,
        "revoked": revoked,
        "expired": _key(expires_in=0),
    }.items():
        cases[f"{label} in X-API-Key"] = (_in_header(value), 401, INVALID_TOKEN)
        cases[f"{label} as a bearer token"] = (_as_bearer(value), 401, INVALID_TOKEN)
    cases["no credentials"] = ({}, 401, CHALLENGE)
    cases["an empty X-API-Key"] = ({"X-API-Key": ""}, 401, CHALLENGE)
    cases["a key and a token"] = ({**_in_header(live.key), "Authorization": f"Bearer {token()}"}, 400, INVALID_REQUEST)
    cases["two keys (as a server joins the lines)"] = (_in_header(f"{live.key},{live.key}"), 400, INVALID_REQUEST)
    cases["a key with a space"] = (_in_header("bk_test_a b"), 400, INVALID_REQUEST)
    return cases


def test_every_bad_key_is_refused_alike_on_every_framework(every: dict[str, apps.Send]) -> None:
    for case, (headers, status, challenge) in _bad_keys().items():
        replies: dict[str, Reply] = {}
        for framework, send in every.items():
            for path in ME[framework]:
                reply = replies[f"{framework} {path}"] = send("GET", path, headers)
                assert (reply.status, reply.headers.get("www-authenticate")) == (status, challenge), (case, framework)
        _alike(replies)


def test_a_refused_key_answers_as_a_refused_token(every: dict[str, apps.Send]) -> None:
    for send in every.values():
        bad_key = send("GET", "/me", _in_header(_key(expires_in=0)))
        bad_token = send("GET", "/me", {"Authorization": "Bearer not.a.jwt"})
        _alike({"key": bad_key, "token": bad_token})  # no oracle: which credential failed is not said


# The refresh endpoint.


def _form(**fields: str | list[str]) -> bytes:
    listed = {name: [values] if isinstance(values, str) else values for name, values in fields.items()}
    return urlencode([(name, value) for name, values in listed.items() for value in values]).encode()


def _pair(subject: str) -> Any:
    return apps.REFRESH.issue_pair(subject, claims={"roles": ["viewer"], "scope": "tasks:read"})


def _refresh(send: apps.Send, path: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
    return send("POST", path, FORM if headers is None else headers, body)


def test_a_refresh_grant_returns_a_new_pair_and_spends_the_token(every: dict[str, apps.Send]) -> None:
    replies: dict[str, Reply] = {}
    for framework, send in every.items():
        for path in REFRESH_PATHS[framework]:
            first = _pair("refreshing-user")  # (one subject: the tokens have one length everywhere)
            reply = _refresh(send, path, _form(grant_type="refresh_token", refresh_token=first.refresh_token))
            assert reply.status == 200, (framework, path, reply)
            assert reply.headers["content-type"] == "application/json"
            assert (reply.headers["cache-control"], reply.headers["pragma"]) == ("no-store", "no-cache")
            body = reply.json()
            assert sorted(body) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
            assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 900, "tasks:read")
            assert body["refresh_token"] != first.refresh_token
            access = {"Authorization": f"Bearer {body['access_token']}"}
            assert send("GET", "/me", access).json() == {"sub": "refreshing-user"}
            # The spent token again: a reuse, which revokes the family and the access tokens it issued.
            again = _refresh(send, path, _form(grant_type="refresh_token", refresh_token=first.refresh_token))
            assert (again.status, again.json()["error"]) == (400, "invalid_grant")
            assert send("GET", "/me", access).headers["www-authenticate"] == INVALID_TOKEN
            successor = _form(grant_type="refresh_token", refresh_token=body["refresh_token"])
            assert _refresh(send, path, successor).json()["error"] == "invalid_grant"
            replies[f"{framework} {path}"] = Reply(reply.status, reply.headers, _tokens_hidden(reply.body))
    _alike(replies)


def _tokens_hidden(body: bytes) -> bytes:
    parsed = json.loads(body)
    for name in ("access_token", "refresh_token"):
        parsed[name] = f"<{len(parsed[name])} characters>"
    return json.dumps(parsed).encode()


def _refusals() -> dict[str, tuple[bytes, dict[str, str], str]]:
    live = _pair("refused-user").refresh_token
    family = FORMAT.parse(live)
    assert not isinstance(family, str)
    grant = {"grant_type": "refresh_token"}
    return {
        "a malformed token": (_form(**grant, refresh_token="bkr_nope"), FORM, "invalid_grant"),
        "a truncated token": (_form(**grant, refresh_token=live[:-2]), FORM, "invalid_grant"),
        "a wrong checksum": (
            _form(**grant, refresh_token=live[:-1] + ("A" if live[-1] != "A" else "B")),
            FORM,
            "invalid_grant",
        ),
        "a forged secret": (_form(**grant, refresh_token=FORMAT.compose(family.id, bytes(32))), FORM, "invalid_grant"),
        "an unknown family": (
            _form(**grant, refresh_token=FORMAT.compose(bytes(16), bytes(32))),
            FORM,
            "invalid_grant",
        ),
        "a JWT": (_form(**grant, refresh_token=token()), FORM, "invalid_grant"),
        "another grant": (_form(grant_type="password", username="a", password="b"), FORM, "unsupported_grant_type"),
        "no grant type": (_form(refresh_token=live), FORM, "invalid_request"),
        "no token": (_form(**grant), FORM, "invalid_request"),
        "an empty token": (_form(**grant, refresh_token=""), FORM, "invalid_request"),
        "the token twice": (_form(**grant, refresh_token=[live, live]), FORM, "invalid_request"),
        "the grant type twice": (
            _form(grant_type=["refresh_token", "refresh_token"], refresh_token=live),
            FORM,
            "invalid_request",
        ),
        "the scope twice": (_form(**grant, refresh_token=live, scope=["a", "b"]), FORM, "invalid_request"),
        "JSON": (
            json.dumps({**grant, "refresh_token": live}).encode(),
            {"Content-Type": "application/json"},
            "invalid_request",
        ),
        "multipart": (b"--x\r\n\r\n--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}, "invalid_request"),
        "no content type": (_form(**grant, refresh_token=live), {}, "invalid_request"),
        "an empty body": (b"", FORM, "invalid_request"),
        "bytes that are no form": (b"\xff\xfe grant_type", FORM, "invalid_request"),
        "too many fields": (b"&".join([b"x=1"] * 40), FORM, "invalid_request"),
    }


def test_every_refused_grant_is_answered_alike_on_every_framework(every: dict[str, apps.Send]) -> None:
    for case, (body, headers, error) in _refusals().items():
        replies: dict[str, Reply] = {}
        for framework, send in every.items():
            for path in REFRESH_PATHS[framework]:
                reply = replies[f"{framework} {path}"] = _refresh(send, path, body, headers)
                assert (reply.status, reply.json()["error"]) == (400, error), (case, framework, path, reply)
                assert reply.headers["cache-control"] == "no-store"
                assert "www-authenticate" not in reply.headers
        _alike(replies)
        assert set(json.loads(next(iter(replies.values())).body)) == {"error", "error_description"}


def test_a_refused_grant_does_not_spend_the_live_token(every: dict[str, apps.Send]) -> None:
    live = _pair("still-live").refresh_token
    for framework, send in every.items():
        for path in REFRESH_PATHS[framework]:
            _refresh(send, path, _form(grant_type="refresh_token", refresh_token=live), {})  # no content type
    reply = _refresh(every["flask"], "/auth/refresh", _form(grant_type="refresh_token", refresh_token=live))
    assert reply.status == 200


def test_another_method_is_the_usual_405(every: dict[str, apps.Send]) -> None:
    for framework, send in every.items():
        for path in REFRESH_PATHS[framework]:
            reply = send("GET", path)
            assert (reply.status, reply.json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED"), (framework, path)
            assert "POST" in reply.headers["allow"]


# Configuration, refused when the app is built.


def test_the_adapters_refuse_what_cannot_work() -> None:
    from flask import Flask

    from backendkit.auth import BearerAuth, HMACKey, MemoryRefreshStore, TokenIssuer
    from backendkit.django.auth import refresh_routes as django_refresh
    from backendkit.errors import ConfigurationError
    from backendkit.fastapi.auth import Auth
    from backendkit.fastapi.auth import refresh_routes as fastapi_refresh
    from backendkit.flask.auth import refresh_routes as flask_refresh
    from backendkit.starlette.auth import JWTBackend
    from backendkit.starlette.auth import refresh_routes as starlette_refresh
    from tests.auth.test_adapters import _AsyncOnlyList

    with pytest.raises(ConfigurationError, match="give api_keys= to the BearerAuth"):
        Auth(BearerAuth(apps.verifier()), api_keys=apps.key_verifier())
    with pytest.raises(ConfigurationError, match="a JWTVerifier, an APIKeyVerifier"):
        JWTBackend()
    key = HMACKey("a-32-byte-secret-for-this-example!")
    async_only = TokenIssuer(key, refresh_store=MemoryRefreshStore(), revocations=_AsyncOnlyList())
    without_store = TokenIssuer(key)
    for make in (fastapi_refresh, starlette_refresh, flask_refresh, django_refresh):
        with pytest.raises(ConfigurationError, match="no refresh_store"):
            make(without_store)
        with pytest.raises(ConfigurationError, match="needs a TokenIssuer"):
            make(apps.verifier())  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="starts with '/'"):
            make(apps.REFRESH, path="auth/refresh")
    with pytest.raises(ConfigurationError, match="async-only"):
        Flask(__name__).register_blueprint(flask_refresh(async_only))
    starlette_refresh(async_only)  # (async endpoints await the list)
    django_refresh(async_only)  # (a sync Django view runs it to completion, as authenticate() does)


def test_a_sync_django_view_refreshes_with_an_async_only_revocation_list() -> None:
    from django.test import Client, override_settings

    from backendkit.auth import HMACKey, JWTVerifier, MemoryRefreshStore, RefreshPolicy, TokenIssuer
    from backendkit.django.auth import refresh_routes
    from tests.auth.test_adapters import _AsyncOnlyList

    revocations = _AsyncOnlyList()
    key = HMACKey("a-32-byte-secret-for-this-example!")
    issuer = TokenIssuer(
        key, refresh_store=MemoryRefreshStore(), refresh_policy=RefreshPolicy(reuse_window=0), revocations=revocations
    )
    urlconf = type("urls", (), {"urlpatterns": [*refresh_routes(issuer)]})
    first = issuer.issue_pair("ada")
    with override_settings(**{**apps.DJANGO_SETTINGS, "ROOT_URLCONF": urlconf}):
        client = Client(raise_request_exception=False)
        form = _form(grant_type="refresh_token", refresh_token=first.refresh_token)

        def post() -> Any:
            return client.post("/auth/refresh", form, content_type=FORM["Content-Type"])

        answered = post()
        assert answered.status_code == 200
        access = json.loads(answered.content)["access_token"]
        again = post()  # a reuse: the family's access tokens go into the async-only list
        assert (again.status_code, json.loads(again.content)["error"]) == (400, "invalid_grant")
    assert JWTVerifier([key]).claims(access)["jti"] in revocations.revoked
