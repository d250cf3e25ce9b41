"""What each adapter adds: predicates on path parameters, OpenAPI, the lazy Django principal, the user in logs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from backendkit.auth import Role, Roles, require
from backendkit.errors import ConfigurationError
from tests.auth import apps
from tests.auth.keys import token

Send = Callable[[str, str, dict[str, str]], tuple[int, Any]]


@pytest.fixture(scope="module", params=apps.FRAMEWORKS)
def send(request: pytest.FixtureRequest) -> Iterator[Send]:
    with apps.clients(request.param) as client:
        yield lambda method, path, headers: apps.status_and_json(client(method, path, headers))


@pytest.mark.parametrize("path", ["/owned", "/owned-async", "/drf/owned"])
def test_an_ownership_predicate_reads_the_path_parameters(send: Send, path: str) -> None:
    status, _ = send("DELETE", f"{path}/user-1", {})
    if status == 404:
        assert path != "/owned"  # every framework has /owned; the others exist where they apply
        return
    assert status == 401
    mine = {"Authorization": f"Bearer {token()}"}
    assert send("DELETE", f"{path}/user-1", mine) == (200, {"deleted": "user-1"})
    status, body = send("DELETE", f"{path}/user-2", mine)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    admin = {"Authorization": f"Bearer {token(permissions=['tasks:delete:any'])}"}
    assert send("DELETE", f"{path}/user-2", admin) == (200, {"deleted": "user-2"})


def test_fastapi_documents_the_scheme_and_the_statuses() -> None:
    schema = apps.fastapi_app().openapi()  # (tokens and API keys)
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "description": "An access token (JWT), or an API key, in the Authorization header: `Bearer <token>`.",
            "scheme": "bearer",
            "bearerFormat": "JWT",
        },
        "apiKeyAuth": {
            "type": "apiKey",
            "description": "An API key in the X-API-Key header.",
            "in": "header",
            "name": "X-API-Key",
        },
    }
    me = schema["paths"]["/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]  # either one
    assert sorted(me["responses"]) == ["200", "400", "401"]  # nothing to refuse beyond authentication
    assert "parameters" not in me  # (the schemes read the headers; no header parameter is documented)
    owned = schema["paths"]["/owned/{owner}"]["delete"]
    assert sorted(owned["responses"]) == ["200", "400", "401", "403", "404"]  # 404: a path the router refuses
    assert owned["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
    reports = schema["paths"]["/reports"]["get"]
    assert reports["security"] == [{"bearerAuth": ["reports:read"]}, {"apiKeyAuth": ["reports:read"]}]


def test_fastapi_documents_api_keys_alone() -> None:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth

    app = FastAPI()
    install(app)

    @app.get("/me", dependencies=[Depends(Auth(apps.key_verifier()).require(scopes=["a:b"]))])
    def me() -> dict[str, bool]:
        return {"ok": True}

    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "description": "An API key in the Authorization header: `Bearer <key>`.",
        "scheme": "bearer",
    }
    assert schema["paths"]["/me"]["get"]["security"] == [{"bearerAuth": ["a:b"]}, {"apiKeyAuth": ["a:b"]}]


def test_fastapi_lists_the_scopes_a_route_requires() -> None:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.auth import Auth

    app = FastAPI()
    install(app)
    needs = Auth(apps.verifier()).require(scopes=["reports:read"])

    @app.get("/reports", dependencies=[Depends(needs)])
    def reports() -> dict[str, bool]:
        return {"ok": True}

    schema = app.openapi()
    assert schema["paths"]["/reports"]["get"]["security"] == [{"bearerAuth": ["reports:read"]}]
    # Without API keys, the document says nothing of them.
    assert list(schema["components"]["securitySchemes"]) == ["bearerAuth"]
    assert "API key" not in json.dumps(schema)


def test_django_principal_is_lazy_and_the_access_log_names_the_user(caplog: pytest.LogCaptureFixture) -> None:
    with override_settings(**apps.DJANGO_SETTINGS):
        client = Client(raise_request_exception=False)
        from backendkit.logging import JSONFormatter

        caplog.handler.setFormatter(JSONFormatter())  # the user id comes from the request's facts, as formatted
        with caplog.at_level("INFO", logger="backendkit.access"):
            ok = client.get("/lazy", headers={"Authorization": f"Bearer {token(sub='lazy-1')}"})
        assert (ok.status_code, json.loads(ok.content)) == (200, {"sub": "lazy-1"})
        lines = [json.loads(line) for line in caplog.text.splitlines()]
        assert [line.get("user_id") for line in lines if line["logger"] == "backendkit.access"] == ["lazy-1"]
        refused = client.get("/lazy")
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_sync_view_cannot_have_an_async_predicate() -> None:
    from backendkit.auth import predicate
    from backendkit.flask.auth import require as flask_require

    async def never(ctx: Any) -> bool:
        return False

    guard = require() & predicate(never)
    with pytest.raises(ConfigurationError, match="async"):
        flask_require(guard)(lambda: None)


def test_roles_configuration_errors_surface_at_start_up() -> None:
    with pytest.raises(ConfigurationError):
        Roles({"a": Role(inherits=["b"]), "b": Role(inherits=["a"])})


class _AsyncOnlyList:
    """A revocation list with async methods only (as AsyncRedisRevocations has)."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()

    async def arevoke(self, jti: str, expires_at: float, now: float) -> None:
        self.revoked.add(jti)

    async def ais_revoked(self, jti: str, now: float) -> bool:
        return jti in self.revoked


def test_django_sync_views_and_drf_work_with_an_async_only_revocation_list() -> None:
    from backendkit.auth import BearerAuth, JWTVerifier
    from tests.auth.keys import AUDIENCE, ISSUER, NOW, verifying_keys

    revocations = _AsyncOnlyList()
    verifier = JWTVerifier(
        verifying_keys(), issuer=ISSUER, audience=AUDIENCE, revocations=revocations, clock=lambda: NOW
    )
    settings = {**apps.DJANGO_SETTINGS, "BACKENDKIT": {"AUTH": BearerAuth(verifier)}}
    with override_settings(**settings):
        client = Client(raise_request_exception=False)
        for path in ("/me", "/drf/me"):  # a sync view, and DRF
            headers = {"Authorization": f"Bearer {token(jti=f'jti-{path}')}"}
            assert client.get(path, headers=headers).status_code == 200
            revocations.revoked.add(f"jti-{path}")
            refused = client.get(path, headers=headers)
            assert (refused.status_code, json.loads(refused.content)["error"]["code"]) == (401, "INVALID_TOKEN")


def test_drf_refuses_a_guard_with_an_async_predicate_when_the_class_is_made() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from backendkit.auth import predicate
    from backendkit.django.drf import Require

    async def never(ctx: Any) -> bool:
        return False

    with pytest.raises(ImproperlyConfigured, match="async"):
        Require(predicate(never))


def test_a_guard_refuses_a_malformed_permission_name() -> None:
    for name in ("tasks:", ":read", "tasks::read", ""):
        with pytest.raises(ConfigurationError):
            require(permissions=[name])


def test_django_names_no_user_from_an_async_only_list_outside_a_view_that_authenticates() -> None:
    # The access log and by_user() keys ask for the user lazily, maybe on the event loop; with a
    # revocation list that can only be awaited that read cannot verify, so it names no one (before
    # issue 20 it raised a ConfigurationError on every such request, which the log path swallowed).
    from django.test import RequestFactory

    from backendkit.auth import BearerAuth, JWTVerifier
    from backendkit.django.auth import _subject_or_none
    from tests.auth.keys import AUDIENCE, ISSUER, NOW, verifying_keys

    verifier = JWTVerifier(
        verifying_keys(), issuer=ISSUER, audience=AUDIENCE, revocations=_AsyncOnlyList(), clock=lambda: NOW
    )
    settings = {**apps.DJANGO_SETTINGS, "BACKENDKIT": {"AUTH": BearerAuth(verifier)}}
    with override_settings(**settings):
        request = RequestFactory().get("/anywhere", headers={"Authorization": f"Bearer {token()}"})
        assert _subject_or_none(request) is None
