"""The set-up blocks of docs/errors.md's "Client addresses behind proxies", run as written on each framework."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from backendkit.context import get_client_ip
from backendkit.proxies import TrustedProxies
from tests.support.asgi import from_peer
from tests.test_docs import run, section_blocks

BLOCKS = section_blocks("errors.md", "Client addresses behind proxies")
FORWARDED = {"X-Forwarded-For": "198.51.100.7, 10.0.0.9"}


@pytest.mark.parametrize("tab", ["FastAPI", "Starlette"])
def test_the_asgi_blocks(tab: str) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse

    app: Any = FastAPI() if tab == "FastAPI" else Starlette()
    run(BLOCKS[tab], {"app": app})

    async def who(request: Any) -> JSONResponse:
        return JSONResponse({"client": get_client_ip()})

    app.add_route("/who", who)
    proxied = TestClient(from_peer(app, "10.0.0.2", 5000)).get("/who", headers=FORWARDED)
    direct = TestClient(from_peer(app, "203.0.113.5", 5000)).get("/who", headers=FORWARDED)
    assert (proxied.json(), direct.json()) == ({"client": "198.51.100.7"}, {"client": "203.0.113.5"})


def test_the_flask_block() -> None:
    from flask import Flask, jsonify

    app = Flask(__name__)
    run(BLOCKS["Flask"], {"app": app})
    app.add_url_rule("/who", "who", lambda: jsonify(client=get_client_ip()))
    proxied = app.test_client().get("/who", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert proxied.json == {"client": "198.51.100.7"}


def test_the_django_block() -> None:
    from backendkit.django._state import get_state

    namespace = run(BLOCKS["Django"], {})
    with override_settings(BACKENDKIT=namespace["BACKENDKIT"]):
        assert get_state().trusted_proxies == TrustedProxies(["10.0.0.0/8"], header="Forwarded")
