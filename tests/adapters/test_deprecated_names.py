"""Every renamed entry point still works for one release, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.usefixtures("collected")  # (tests/conftest.py: warnings recorded here are theirs)

# (module, old name, new name): the old name answers the same act as the new one.
RENAMED = [
    ("backendkit.fastapi.health", "health_router", "health_routes"),
    ("backendkit.fastapi.health", "add_health_routes", None),  # onto the app itself: no object of the new name
    ("backendkit.fastapi.auth", "jwks_router", "jwks_routes"),
    ("backendkit.fastapi.auth", "add_jwks_routes", None),
    ("backendkit.flask.health", "health_blueprint", "health_routes"),
    ("backendkit.flask.auth", "jwks_blueprint", "jwks_routes"),
    ("backendkit.flask.ratelimit", "apply_to_every_request", "limit_every_request"),
    ("backendkit.flask.idempotency", "apply_to_every_request", "idempotent_every_request"),
    ("backendkit.django.health", "health_urls", "health_routes"),
    ("backendkit.django.auth", "jwks_urls", "jwks_routes"),
    ("backendkit.django.auth", "established", "current_principal"),
    ("backendkit.fastapi.pagination", "page_params", "page_request"),
]


@pytest.mark.parametrize(("module", "old", "new"), RENAMED)
def test_an_old_name_warns_and_still_works(module: str, old: str, new: str | None) -> None:
    imported = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is deprecated.*use "):
        value = getattr(imported, old)
    assert callable(value)
    if new is not None:
        assert value is getattr(imported, new)
        assert new in imported.__all__
    assert old not in imported.__all__


def test_the_fastapi_aliases_onto_the_app_serve_the_same_routes() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from backendkit.auth import JWKSDocument, PublicKey
    from backendkit.fastapi import auth, health
    from backendkit.health import Health

    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    app = FastAPI()
    with pytest.deprecated_call():
        health.add_health_routes(app, Health())
    with pytest.deprecated_call():
        auth.add_jwks_routes(app, JWKSDocument([PublicKey(jwk, alg="EdDSA", kid="k1")]))
    client = TestClient(app)
    assert client.get("/livez").status_code == 200
    assert client.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == "k1"


def test_a_name_never_defined_is_still_an_attribute_error() -> None:
    import backendkit.flask.health

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        backendkit.flask.health.nothing  # noqa: B018
