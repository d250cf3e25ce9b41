"""``manage.py apikeys`` (in this process and in a real one), and the app's migration."""

from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from backendkit.apikeys import APIKeys
from backendkit.auth import InvalidToken
from backendkit.django.credentials import DjangoKeyStore, get_api_keys
from tests.django.credentials_db import PYTHON, ROOT, database, extra_database, project_env

A_KEY = r"bk_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}"


@pytest.fixture
def default(request: pytest.FixtureRequest) -> str:
    return database(request, "default")


def apikeys(*args: str) -> list[str]:
    out = StringIO()
    call_command("apikeys", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_prints_the_key_last_and_keeps_only_its_digest(default: str) -> None:
    lines = apikeys(
        "create", "--owner", "deploy-bot", "--name", "CI", "--roles", "deployer,viewer", "--expires-in", "60"
    )
    key = lines[-1]
    assert len(lines) == 3
    assert re.fullmatch(A_KEY, key)
    principal = get_api_keys().verifier().verify(key)
    assert (principal.subject, principal.roles) == ("deploy-bot", {"deployer", "viewer"})
    record = get_api_keys().list()[0]
    assert record.expires_at == pytest.approx(record.created_at + 60)
    assert key not in "\n".join(lines[:-1])
    assert record.digest not in "\n".join(lines)


def test_list_shows_neither_secret_nor_digest(default: str) -> None:
    alice = apikeys("create", "--owner", "alice", "--scopes", "tasks:read")[-1]
    apikeys("create", "--owner", "bob")
    table = apikeys("list")
    assert table[0].split() == [
        "ID",
        "OWNER",
        "NAME",
        "ROLES",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "STATUS",
    ]
    assert len(table) == 3
    records = get_api_keys().list()
    for record in records:
        assert any(line.startswith(record.id) and line.endswith("active") for line in table)
    rows = [json.loads(line) for line in apikeys("list", "--owner", "alice", "--json")]
    assert [(row["owner"], row["scopes"], row["status"]) for row in rows] == [("alice", ["tasks:read"], "active")]
    everything = "\n".join(table + apikeys("list", "--json"))
    assert alice not in everything
    assert alice.split("_")[-1] not in everything
    assert all(record.digest not in everything for record in records)
    assert "digest" not in everything


def test_rotate_prints_the_new_key_last_and_the_old_one_works_for_the_grace(default: str) -> None:
    old = apikeys("create", "--owner", "alice", "--roles", "viewer")[-1]
    old_id = old.split("_")[2]
    lines = apikeys("rotate", old_id, "--grace", "120")
    new = lines[-1]
    verifier = get_api_keys().verifier()
    assert verifier.verify(new).roles == verifier.verify(old).roles == {"viewer"}
    record = get_api_keys().get(old_id)
    assert record is not None
    assert record.rotated_to == new.split("_")[2]
    assert record.expires_at == pytest.approx(record.created_at + 120, abs=5)
    assert old_id in lines[0]
    assert "works until" in lines[0]


def test_revoke_and_the_errors(default: str) -> None:
    key = apikeys("create", "--owner", "alice")[-1]
    key_id = key.split("_")[2]
    assert apikeys("revoke", key_id) == [f"API key {key_id} is revoked."]
    with pytest.raises(InvalidToken):
        get_api_keys().verifier().verify(key)
    with pytest.raises(CommandError, match="no API key nope"):
        apikeys("revoke", "nope")
    with pytest.raises(CommandError, match="no API key nope"):
        apikeys("rotate", "nope")
    with pytest.raises(CommandError, match="revoked"):
        apikeys("rotate", key_id)
    with pytest.raises(CommandError, match="without spaces"):
        apikeys("create", "--owner", "alice", "--roles", "two words")
    with pytest.raises(CommandError, match="prefix"):
        apikeys("create", "--owner", "alice", "--prefix", "Not A Prefix")
    with pytest.raises(CommandError, match="--owner"):
        apikeys("create")
    with pytest.raises(CommandError, match="invalid choice"):
        apikeys("frobnicate")


def test_prefix_and_database(default: str, request: pytest.FixtureRequest) -> None:
    database(request, "postgres")
    key = apikeys("--database", "postgres", "create", "--owner", "alice", "--prefix", "bk_test_")[-1]
    assert key.startswith("bk_test_")
    assert get_api_keys().list() == []  # not in the default database
    in_postgres = APIKeys(DjangoKeyStore(using="postgres"), prefix="bk_test_")
    assert in_postgres.verifier().verify(key).subject == "alice"


def test_the_migration_is_complete_and_applies_both_ways(request: pytest.FixtureRequest) -> None:
    call_command("makemigrations", "backendkit_credentials", "--check", "--dry-run", verbosity=0)  # exit 1 if not
    alias = database(request, "postgres")
    call_command("migrate", "backendkit_credentials", "zero", database=alias, verbosity=0)
    tables = set(connections[alias].introspection.table_names())
    assert not {name for name in tables if name.startswith("backendkit_credentials_")}
    call_command("migrate", "backendkit_credentials", database=alias, verbosity=0)
    tables = set(connections[alias].introspection.table_names())
    assert {
        "backendkit_credentials_apikey",
        "backendkit_credentials_refreshfamily",
        "backendkit_credentials_spentrefreshtoken",
    } <= tables


def manage(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "tests/django/credentials_project/manage.py", *args],
        cwd=ROOT,
        env=project_env(f"sqlite:{db}"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "project.sqlite3"
    assert manage(db, "migrate", "--verbosity", "0").returncode == 0
    made = manage(db, "apikeys", "create", "--owner", "ci", "--roles", "deployer")
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[-1]
    key_id = key.split("_")[2]
    listed = manage(db, "apikeys", "list")
    assert key_id in listed.stdout
    assert key not in listed.stdout
    rotated = manage(db, "apikeys", "rotate", key_id, "--grace", "0")
    new = rotated.stdout.splitlines()[-1]
    assert rotated.returncode == 0
    assert new != key
    with extra_database("project", {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}):
        verifier = APIKeys(DjangoKeyStore(using="project")).verifier(cache_ttl=0)
        assert verifier.verify(new).roles == {"deployer"}
        with pytest.raises(InvalidToken):  # no grace: the old key stopped at the rotation
            verifier.verify(key)
        revoked = manage(db, "apikeys", "revoke", new.split("_")[2])
        assert revoked.returncode == 0
        with pytest.raises(InvalidToken):
            verifier.verify(new)
    unknown = manage(db, "apikeys", "revoke", "nope")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "CommandError: no API key nope")
