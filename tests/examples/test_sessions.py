"""The examples' users (``BACKENDKIT_EXAMPLE_USERS``) and their login check, ``examples/_sessions.py``."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from examples._sessions import BadCredentials, Login, authenticate, claims, parse_users, users

NAMES = st.text(st.characters(blacklist_characters=",:", blacklist_categories=("Cs",)), min_size=1, max_size=20)
PASSWORDS = st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), min_size=1, max_size=30)
ROLES = st.sampled_from(["viewer", "editor", "admin"])


def _strip(value: str) -> str:
    return value.strip()


@given(st.lists(st.tuples(NAMES.map(_strip).filter(bool), PASSWORDS, ROLES), max_size=5, unique_by=lambda u: u[0]))
def test_each_entry_is_a_user_who_logs_in_with_their_password_only(entries: list[tuple[str, str, str]]) -> None:
    known = parse_users(",".join(f"{name}:{password}:{role}" for name, password, role in entries))
    assert [(user.name, user.role) for user in known] == [(name, role) for name, _, role in entries]
    for name, password, role in entries:
        assert authenticate(known, Login(username=name, password=password)).role == role
        with pytest.raises(BadCredentials):
            authenticate(known, Login(username=name, password=password + "x"))


@pytest.mark.parametrize(
    ("raw", "entry"),
    [
        ("ada", 1),
        ("ada:pw", 1),
        ("ada::admin", 1),
        (":pw:admin", 1),
        ("ada:pw:", 1),
        ("ada:pw:admin,bob:pw:root", 2),  # not a role of the examples
        ("ada:pw:admin,ada:other:viewer", 2),
    ],
)
def test_a_bad_entry_is_refused_at_start_up_by_its_position_never_its_text(raw: str, entry: int) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_users(raw)
    assert f"entry {entry}" in str(refused.value)
    assert "pw" not in str(refused.value)


def test_empty_entries_and_spaces_around_them_are_allowed() -> None:
    assert [user.name for user in parse_users(" ada:pw:admin , ,bob:pw:viewer,")] == ["ada", "bob"]


def test_a_user_shows_no_digest() -> None:
    [user] = parse_users("ada:pw:admin")
    assert repr(user) == "User(name='ada', role='admin')"


def test_without_users_every_login_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKENDKIT_EXAMPLE_USERS", raising=False)
    assert users() == ()
    with pytest.raises(BadCredentials):
        authenticate(users(), Login(username="admin", password="admin"))
    from examples.fastapi_app import create_app

    reply = TestClient(create_app()).post("/auth/login", json={"username": "admin", "password": "admin"})
    assert (reply.status_code, reply.json()["error"]["code"]) == (401, "INVALID_CREDENTIALS")


def test_the_scope_is_the_roles_permissions() -> None:
    viewer, admin = parse_users("v:pw:viewer,a:pw:admin")
    assert claims(viewer) == {"roles": ["viewer"], "scope": "tasks:read"}
    assert json.loads(json.dumps(claims(admin)))["scope"] == "audit:read tasks:read tasks:write"
