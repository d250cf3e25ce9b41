"""The examples with ``BACKENDKIT_EXAMPLE_JWKS_URL`` set: RS256 and ES256 tokens by kid from a real JWKS server.

Each framework's example, on the seven targets of the conformance suite (test
clients and real servers), accepts tokens signed by the keys the loopback JWKS
publishes, refuses a kid it does not publish, and still accepts the HS256 secret;
a key rotated in is accepted within one cooldown while clients keep sending it.
The examples' clients are the library's own with a 1 s cooldown (30 s by default),
so a rotation takes a second to test, not half a minute.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from backendkit.auth import HMACKey, PrivateKey, issue, jwks
from examples import _auth
from tests.auth.jwks_server import JWKSServer, jwks_server
from tests.auth.test_jwks import ec_signer, rsa_signer
from tests.conformance.targets import Target, django_client, fastapi_client, flask_client, served
from tests.support.servers import uvicorn_server, waitress_server

COOLDOWN = 1.0


def _token(signer: Any = None, *, kid: str | None = None) -> str:
    key = HMACKey(_auth.secret()) if signer is None else PrivateKey(signer.pem, alg=signer.alg, kid=kid or signer.kid)
    return issue(key, "jwks-user", issuer=_auth.ISSUER, audience=_auth.AUDIENCE, claims={"roles": ["viewer"]})


@pytest.fixture(scope="module")
def server() -> Iterator[JWKSServer]:
    with jwks_server() as running:
        running.jwks = {"keys": [rsa_signer("example-rsa").jwk(), ec_signer("example-ec").jwk()]}
        yield running


@pytest.fixture(scope="module")
def targets(server: JWKSServer) -> Iterator[dict[str, Target]]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    from examples.fastapi_app import create_app as fastapi_app
    from examples.flask_app import create_app as flask_app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("BACKENDKIT_EXAMPLE_JWKS_URL", server.url)
        short = functools.partial(jwks.JWKSClient, cooldown=COOLDOWN, negative_ttl=COOLDOWN)
        env.setattr(jwks, "JWKSClient", short)  # examples/_auth.py imports it when it builds a verifier
        fastapi, flask = fastapi_app(), flask_app()  # the examples read the variable when they are made
        django_settings = {"BACKENDKIT": {"ERROR_FORMAT": "envelope", "AUTH": _auth.verifier()}}
        served_fastapi, served_flask = fastapi_app(), flask_app()
    with (
        override_settings(**django_settings),
        uvicorn_server(served_fastapi) as fastapi_port,
        waitress_server(served_flask) as flask_port,
        uvicorn_server(get_asgi_application()) as django_port,
        waitress_server(get_wsgi_application()) as django_wsgi_port,
    ):
        yield {
            "fastapi-testclient": Target("fastapi-testclient", "fastapi", fastapi_client(fastapi)),
            "flask-testclient": Target("flask-testclient", "flask", flask_client(flask)),
            "django-testclient": Target("django-testclient", "django", django_client()),
            "fastapi-uvicorn": served("fastapi-uvicorn", "fastapi", fastapi_port),
            "flask-waitress": served("flask-waitress", "flask", flask_port),
            "django-uvicorn-asgi": served("django-uvicorn-asgi", "django", django_port),
            "django-waitress-wsgi": served("django-waitress-wsgi", "django", django_wsgi_port),
        }


def _me(target: Target, token: str) -> tuple[int, Any]:
    reply = target.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
    return reply.status, json.loads(reply.body)


def test_tokens_by_kid_from_the_jwks_are_accepted_alongside_the_secret(targets: dict[str, Target]) -> None:
    for name, target in targets.items():
        for token in (_token(rsa_signer("example-rsa")), _token(ec_signer("example-ec")), _token()):
            status, body = _me(target, token)
            assert (status, body["sub"]) == (200, "jwks-user"), (name, body)
        status, body = _me(target, _token(rsa_signer("example-rsa"), kid="not-published"))
        assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN"), name
        status, body = _me(target, _token(rsa_signer("example-rsa"), kid="example-ec"))  # RS256 on the EC kid
        assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN"), name


def test_a_rotated_key_is_accepted_within_a_cooldown_while_clients_keep_sending_it(
    server: JWKSServer, targets: dict[str, Target]
) -> None:
    # Issue 19 §2: each miss renewed the kid's negative-cache entry, so a client retrying more often than
    # the cooldown kept a newly published key refused for ever (401 after 35 s of retries once a second).
    for name, target in targets.items():
        rotated = rsa_signer(f"rotated-{name}")
        token = _token(rotated, kid=rotated.kid)
        # The first token with the new kid arrives before the JWKS the client sees has it (a CDN's delay).
        first_miss = time.monotonic()
        assert _me(target, token)[0] == 401, name
        server.jwks = {"keys": [*server.jwks["keys"], rotated.jwk()]}
        while True:  # the client retries ten times a second
            status, body = _me(target, token)
            waited = time.monotonic() - first_miss
            if status == 200:
                break
            assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN"), name
            assert waited < COOLDOWN + 3, f"{name}: still refused {waited:.1f} s after the first miss"
            time.sleep(0.1)
        assert body["sub"] == "jwks-user"
