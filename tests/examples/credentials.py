"""What the tests of the examples' credentials send: logins, refresh grants, API keys, over a real socket."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any
from urllib.parse import urlencode

from tests.support.net import Reply, request
from tests.support.servers import ROOT

FORM = "application/x-www-form-urlencoded"
USERS = "ada:correct-horse:admin,bob:battery-staple:viewer"
ADA = {"username": "ada", "password": "correct-horse"}
INVALID_TOKEN = (
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
)
INVALID_REQUEST = 'Bearer realm="api", error="invalid_request"'


def login(port: int, credentials: dict[str, str] = ADA) -> Reply:
    """``POST /auth/login`` with JSON credentials."""
    body = json.dumps(credentials).encode()
    return request(port, "POST", "/auth/login", headers={"Content-Type": "application/json"}, body=body)


def tokens(port: int, credentials: dict[str, str] = ADA) -> dict[str, Any]:
    """A login's §5.1 body (the login must succeed)."""
    reply = login(port, credentials)
    assert reply.status == 200, reply
    body: dict[str, Any] = json.loads(reply.body)
    return body


def refresh(port: int, token: str | None, **extra: str) -> Reply:
    """``POST /auth/refresh``: the RFC 6749 §6 form with ``token`` (and ``extra`` fields, or none if ``None``)."""
    fields = {"grant_type": "refresh_token", **({"refresh_token": token} if token is not None else {}), **extra}
    return request(port, "POST", "/auth/refresh", headers={"Content-Type": FORM}, body=urlencode(fields).encode())


def me(port: int, headers: dict[str, str] | list[tuple[str, str | bytes]]) -> Reply:
    return request(port, "GET", "/me", headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def grant_error(reply: Reply) -> str:
    """The RFC 6749 §5.2 ``error`` of a refused refresh (and its headers checked: never cached)."""
    assert reply.status == 400, reply
    assert (reply.headers["cache-control"], reply.headers["pragma"]) == ("no-store", "no-cache"), reply.headers
    body = json.loads(reply.body)
    assert sorted(body) == ["error", "error_description"], body
    error: str = body["error"]
    return error


def apikeys(store: str, *args: str, env: dict[str, str] | None = None) -> str:
    """``python -m backendkit.apikeys --store STORE ARGS...``; its output (a new key is its last line)."""
    command = [sys.executable, "-m", "backendkit.apikeys", "--store", store, *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def new_key(store: str, owner: str, *options: str) -> str:
    """A key made with the command line, as the examples' README says: its last line of output."""
    return apikeys(store, "create", "--owner", owner, *options).strip().splitlines()[-1]
