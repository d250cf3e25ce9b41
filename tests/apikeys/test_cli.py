"""``python -m backendkit.apikeys``, run as a real subprocess against SQLite and Redis.

The key is the last line of output, alone on standard output (its id and the
warning that it is shown once go to standard error first); ``list`` never shows a
secret or a digest; exit 0 done, 1 no such key or refused, 2 usage, 3 store down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

import backendkit
from backendkit.apikeys import APIKeyVerifier, KeyStore, store_from_url
from backendkit.auth import InvalidToken
from tests.support.net import free_port

SRC = str(Path(backendkit.__file__).resolve().parents[1])  # the code under test, in the child too
PEPPER = "a-pepper-of-the-tests-own-32-bytes"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.rstrip("\n").rsplit("\n", 1)[-1]


def cli(*args: str, pepper: str | None = None) -> Ran:
    env = {k: v for k, v in os.environ.items() if k != "BACKENDKIT_APIKEYS_PEPPER"}
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    if pepper is not None:
        env["BACKENDKIT_APIKEYS_PEPPER"] = pepper
    done = subprocess.run(
        [sys.executable, "-m", "backendkit.apikeys", *args], capture_output=True, text=True, env=env, timeout=60
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    server = request.getfixturevalue("redis_server")
    made = f"redis://{server.host}:{server.port}/9"  # a database of these tests' own: the default prefix
    client = redis.Redis.from_url(made)
    client.flushdb()
    yield made
    client.flushdb()
    client.close()


@pytest.fixture
def store(url: str) -> Iterator[KeyStore]:
    opened = store_from_url(url)
    yield opened
    opened.close()  # type: ignore[attr-defined]


def test_create_prints_the_key_last_and_once(url: str, store: KeyStore) -> None:
    ran = cli("--store", url, "create", "--owner", "deploy-bot", "--name", "CI", "--roles", "editor,viewer")
    assert ran.code == 0, ran.err
    key = ran.last_line
    assert ran.out == key + "\n"  # alone on standard output: KEY=$(python -m backendkit.apikeys ...)
    assert key.startswith("bk_live_")
    principal = APIKeyVerifier(store).verify(key)
    assert (principal.subject, principal.roles) == ("deploy-bot", frozenset({"editor", "viewer"}))
    key_id = principal.claims["key_id"]
    assert key_id in ran.err
    assert "only time the key is shown" in ran.err
    assert key not in ran.err


def test_create_takes_scopes_a_lifetime_and_a_prefix(url: str, store: KeyStore) -> None:
    before = time.time()
    ran = cli("--store", url, "create", "--owner", "ci", "--scopes", "tasks:read", "--expires-in", "3600")
    test = cli("--store", url, "create", "--owner", "ci", "--prefix", "bk_test_")
    assert (ran.code, test.code) == (0, 0)
    record = store.list("ci")[0]
    assert record.scopes == ("tasks:read",)
    assert record.expires_at is not None
    assert before + 3600 <= record.expires_at <= time.time() + 3600
    assert test.last_line.startswith("bk_test_")


def test_list_shows_keys_never_a_secret_or_a_digest(url: str, store: KeyStore) -> None:
    made = [cli("--store", url, "create", "--owner", owner).last_line for owner in ("alice", "bob", "alice")]
    listed = cli("--store", url, "list")
    assert listed.code == 0
    records = store.list()
    for key, record in zip(made, records, strict=True):
        assert record.id in listed.out
        assert key[-49:-20] not in listed.out
        assert record.digest not in listed.out
    assert listed.out.splitlines()[0].split()[:3] == ["ID", "OWNER", "NAME"]
    mine = cli("--store", url, "list", "--owner", "alice", "--json")
    rows = [json.loads(line) for line in mine.out.splitlines()]
    assert [row["id"] for row in rows] == [r.id for r in records if r.owner == "alice"]
    assert all("digest" not in row and row["state"] == "active" for row in rows)
    assert cli("--store", url, "list", "--owner", "nobody").out == ""


def test_rotate_prints_the_new_key_last_and_the_old_works_for_the_grace(url: str, store: KeyStore) -> None:
    old = cli("--store", url, "create", "--owner", "alice", "--prefix", "bk_test_", "--roles", "editor").last_line
    old_id = APIKeyVerifier(store).verify(old).claims["key_id"]
    ran = cli("--store", url, "rotate", old_id, "--grace", "600")
    assert ran.code == 0, ran.err
    new = ran.last_line
    assert ran.out == new + "\n"
    assert new.startswith("bk_test_")  # the old key's environment, whatever the default
    verifier = APIKeyVerifier(store, cache_ttl=0)
    assert verifier.verify(new).roles == frozenset({"editor"})
    assert verifier.verify(old).subject == "alice"  # within the grace
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(old, now=time.time() + 601)
    assert caught.value.reason == "expired"
    retired = store.get(old_id)
    assert retired is not None
    assert retired.rotated_to == verifier.verify(new).claims["key_id"]
    assert "only time the key is shown" in ran.err


def test_revoke_and_what_is_refused(url: str, store: KeyStore) -> None:
    key = cli("--store", url, "create", "--owner", "alice").last_line
    key_id = APIKeyVerifier(store).verify(key).claims["key_id"]
    revoked = cli("--store", url, "revoke", key_id)
    assert revoked.code == 0
    assert "Revoked" in revoked.out
    with pytest.raises(InvalidToken):
        APIKeyVerifier(store).verify(key)
    again = cli("--store", url, "revoke", key_id)
    assert again.code == 0
    assert "already" in again.out
    assert cli("--store", url, "revoke", "NoSuchKey123").code == 1
    unknown = cli("--store", url, "rotate", "NoSuchKey123")
    assert unknown.code == 1
    assert "No API key NoSuchKey123." in unknown.err
    assert unknown.out == ""
    refused = cli("--store", url, "rotate", key_id)
    assert refused.code == 1
    assert "revoked" in refused.err
    assert refused.out == ""


def test_the_pepper_comes_from_the_environment(url: str, store: KeyStore) -> None:
    key = cli("--store", url, "create", "--owner", "alice", pepper=PEPPER).last_line
    assert APIKeyVerifier(store, pepper=PEPPER).verify(key).subject == "alice"
    with pytest.raises(InvalidToken) as caught:
        APIKeyVerifier(store).verify(key)
    assert caught.value.reason == "bad_secret"
    short = cli("--store", url, "create", "--owner", "alice", pepper="short")
    assert short.code == 2
    assert "pepper" in short.err


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("list",),  # no --store
        ("--store", "not-a-url", "list"),
        ("--store", "sqlite://", "create"),  # no --owner
        ("--store", "sqlite://", "create", "--owner", "a", "--roles", "two words"),
        ("--store", "sqlite://", "create", "--owner", "a", "--expires-in", "soon"),
        ("--store", "sqlite://", "create", "--owner", "a", "--expires-in", "-5"),
        ("--store", "sqlite://", "create", "--owner", "a", "--prefix", "BK-"),
        ("--store", "sqlite://", "create", "--owner", ""),
        ("--store", "sqlite://", "frobnicate"),
    ],
)
def test_a_usage_error_exits_2(args: tuple[str, ...]) -> None:
    ran = cli(*args)
    assert ran.code == 2, ran
    assert ran.out == ""
    assert ran.err


def test_a_store_that_cannot_be_reached_exits_3() -> None:
    ran = cli("--store", f"redis://127.0.0.1:{free_port()}/0", "create", "--owner", "alice")
    assert ran.code == 3
    assert "could not be reached" in ran.err
    assert ran.out == ""  # no key was shown: none was kept
    dead_sql = cli("--store", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test", "list")
    assert dead_sql.code == 3
