"""The credentials admin through Django's test client, in the test project (tests/django/test_credentials_admin.py
runs this file in a process of its own: the session's settings have no ``django.contrib.auth``)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import django
import pytest

django.setup()  # collected before the session's fixture sets Django up, and the models need it

from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from backendkit.apikeys import APIKeys, MemoryKeyStore  # noqa: E402
from backendkit.auth import HMACKey, InvalidGrant, InvalidToken, JWTVerifier, MemoryRevocations, TokenIssuer  # noqa: E402
from backendkit.django.credentials import DjangoRefreshStore, get_api_keys  # noqa: E402
from backendkit.django.credentials._config import check_settings  # noqa: E402
from backendkit.django.credentials.models import APIKey, RefreshFamily  # noqa: E402

KEYS = "/admin/backendkit_credentials/apikey/"
FAMILIES = "/admin/backendkit_credentials/refreshfamily/"
A_KEY = re.compile(r"bk_live_[0-9A-Za-z]{12}_[0-9A-Za-z]+")
SIGNING = HMACKey("a-32-byte-secret-for-the-admin-tests!")


@pytest.fixture(scope="module", autouse=True)
def _migrated() -> None:
    call_command("migrate", verbosity=0)


@pytest.fixture
def client() -> Iterator[Client]:
    for model in (APIKey, RefreshFamily, User):
        model.objects.all().delete()
    browser = Client()
    browser.force_login(User.objects.create_superuser("admin", "admin@example.test", "pw"))
    return browser


def page(response: object) -> str:
    return html.unescape(response.content.decode())  # type: ignore[attr-defined]


def messages(response: object) -> list[tuple[str, str]]:
    """The admin's messages on a page: (level, text)."""
    found = re.findall(r'<li class="(\w+)">(.*?)</li>', page(response), re.S)
    return [(level, re.sub(r"<[^>]+>", "", text).strip()) for level, text in found]


def everything_stored() -> str:
    """Every value in every table of the database, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            parts.extend(str(row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_the_add_form_asks_for_what_a_key_is_made_from(client: Client) -> None:
    form = page(client.get(f"{KEYS}add/"))
    for field in ("owner", "name", "roles", "scopes", "expires_in_days"):
        assert f'name="{field}"' in form
    assert 'name="digest"' not in form
    assert 'name="id"' not in form


def test_a_key_made_in_the_admin_is_shown_once_and_only_its_digest_is_kept(client: Client) -> None:
    form = {"owner": "deploy-bot", "name": "CI", "roles": "deployer, viewer", "scopes": "tasks:write"}
    shown = client.post(f"{KEYS}add/", {**form, "expires_in_days": "30"}, follow=True)
    assert shown.redirect_chain == [(KEYS, 302)]
    found = A_KEY.findall(page(shown))
    assert len(found) == 1
    key = found[0]
    assert any(level == "success" and key in text and "shown this once" in text for level, text in messages(shown))

    row = APIKey.objects.get()
    assert (row.owner, row.name, row.roles, row.scopes) == ("deploy-bot", "CI", ["deployer", "viewer"], ["tasks:write"])
    assert row.expires_at == pytest.approx(row.created_at + 30 * 86_400)
    principal = get_api_keys().verifier().verify(key)
    assert (principal.subject, principal.roles) == ("deploy-bot", {"deployer", "viewer"})

    for again in (KEYS, f"{KEYS}{row.pk}/change/", f"{KEYS}{row.pk}/history/"):
        seen = page(client.get(again))
        assert key not in seen, again
        assert row.digest not in seen, again
        assert row.pk in seen
    stored = everything_stored()
    assert key not in stored
    assert key.split("_")[-1] not in stored
    assert row.digest in stored


@pytest.mark.parametrize(
    ("form", "complaint"),
    [
        ({"owner": "", "roles": "viewer"}, "This field is required"),
        ({"owner": "alice", "roles": "two words"}, "without spaces or commas"),
        ({"owner": "alice", "expires_in_days": "0"}, "greater than or equal to 1"),
    ],
)
def test_a_bad_new_key_is_refused_and_none_is_made(client: Client, form: dict[str, str], complaint: str) -> None:
    answer = client.post(f"{KEYS}add/", form)
    assert answer.status_code == 200
    assert complaint in page(answer)
    assert not APIKey.objects.exists()


def test_the_change_page_edits_the_name_alone_and_a_revocation_made_meanwhile_stands(client: Client) -> None:
    made = get_api_keys().create("alice", name="old name", roles=["viewer"])
    change = f"{KEYS}{made.record.id}/change/"
    form = page(client.get(change))
    assert 'name="name"' in form
    assert 'name="owner"' not in form
    assert 'name="roles"' not in form
    assert made.record.digest not in form
    assert made.key not in form

    get_api_keys().revoke(made.record.id)  # in another tab, after the form was loaded
    assert client.post(change, {"name": "new name"}).status_code == 302
    record = get_api_keys().get(made.record.id)
    assert record is not None
    assert (record.name, record.roles, record.digest) == ("new name", ("viewer",), made.record.digest)
    assert record.revoked_at is not None


def test_the_revoke_action(client: Client) -> None:
    keep, drop = get_api_keys().create("alice"), get_api_keys().create("alice")
    done = client.post(KEYS, {"action": "revoke", "_selected_action": [drop.record.id]}, follow=True)
    assert ("success", f"Revoked 1 API key(s): {drop.record.id}.") in messages(done)
    verifier = get_api_keys().verifier()
    with pytest.raises(InvalidToken):
        verifier.verify(drop.key)
    assert verifier.verify(keep.key).subject == "alice"
    listed = page(client.get(KEYS, {"status": "revoked"}))
    assert drop.record.id in listed
    assert keep.record.id not in listed


def test_the_rotate_action_shows_each_new_key_once(client: Client) -> None:
    old = get_api_keys().create("alice", roles=["viewer"])
    done = client.post(KEYS, {"action": "rotate", "_selected_action": [old.record.id]}, follow=True)
    keys = [key for key in A_KEY.findall(page(done)) if key != old.key]
    assert len(keys) == 1
    new = keys[0]
    record = get_api_keys().get(old.record.id)
    assert record is not None
    assert record.rotated_to == new.split("_")[2]
    verifier = get_api_keys().verifier()
    assert verifier.verify(new).roles == verifier.verify(old.key).roles == {"viewer"}  # the old one, in its grace
    assert new not in page(client.get(KEYS))
    listed = page(client.get(KEYS, {"status": "rotated"}))
    assert old.record.id in listed
    assert record.rotated_to not in listed


def test_search_by_owner_name_and_id(client: Client) -> None:
    alice = get_api_keys().create("alice", name="deploys")
    bob = get_api_keys().create("bob", name="backups")
    for query, shown, hidden in [("alice", alice, bob), ("backups", bob, alice), (alice.record.id, alice, bob)]:
        listed = page(client.get(KEYS, {"q": query}))
        assert shown.record.id in listed, query
        assert hidden.record.id not in listed, query


def test_a_user_who_may_only_view_keys_gets_no_actions(client: Client) -> None:
    made = get_api_keys().create("alice")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    browser = Client()
    browser.force_login(viewer)
    assert 'name="action"' not in page(browser.get(KEYS))
    browser.post(KEYS, {"action": "revoke", "_selected_action": [made.record.id]})
    assert get_api_keys().get(made.record.id).revoked_at is None  # type: ignore[union-attr]


def test_families_are_read_only_and_hold_no_digest_on_screen(client: Client) -> None:
    issuer = TokenIssuer(SIGNING, refresh_store=DjangoRefreshStore())
    pair = issuer.issue_pair("alice", claims={"roles": ["viewer"]})
    row = RefreshFamily.objects.get()
    listed = page(client.get(FAMILIES))
    assert row.pk in listed
    assert "alice" in listed
    assert row.current not in listed
    shown = page(client.get(f"{FAMILIES}{row.pk}/change/"))
    assert row.pk in shown
    assert row.current not in shown
    assert 'name="_save"' not in shown
    assert pair.refresh_token not in listed + shown
    assert client.get(f"{FAMILIES}add/").status_code == 403
    assert client.post(f"{FAMILIES}{row.pk}/delete/").status_code == 403


def test_the_family_revoke_action_logs_out(client: Client) -> None:
    issuer = TokenIssuer(SIGNING, refresh_store=DjangoRefreshStore())
    pair = issuer.issue_pair("alice")
    row = RefreshFamily.objects.get()
    done = client.post(FAMILIES, {"action": "revoke", "_selected_action": [row.pk]}, follow=True)
    assert any("Revoked 1 family." in text for _, text in messages(done))
    with pytest.raises(InvalidGrant, match="invalid"):
        issuer.refresh(pair.refresh_token)


def test_with_the_token_issuer_set_the_family_access_tokens_are_revoked_too(client: Client) -> None:
    revocations = MemoryRevocations()
    issuer = TokenIssuer(SIGNING, refresh_store=DjangoRefreshStore(), revocations=revocations)
    pair = issuer.issue_pair("alice")
    verifier = JWTVerifier([SIGNING], revocations=revocations)
    assert verifier.verify(pair.access_token).subject == "alice"
    with override_settings(BACKENDKIT_TOKEN_ISSUER=issuer):
        done = client.post(FAMILIES, {"action": "revoke", "_selected_action": [RefreshFamily.objects.get().pk]})
    assert done.status_code == 302
    with pytest.raises(InvalidToken):
        verifier.verify(pair.access_token)


def test_the_settings_are_checked() -> None:
    assert check_settings() == []
    cases = [
        ("BACKENDKIT_API_KEYS", "nowhere.api_keys", "backendkit_credentials.E001"),
        ("BACKENDKIT_API_KEYS", APIKeys(MemoryKeyStore()), "backendkit_credentials.E001"),
        ("BACKENDKIT_TOKEN_ISSUER", TokenIssuer(SIGNING), "backendkit_credentials.E002"),
    ]
    for name, value, code in cases:
        with override_settings(**{name: value}):
            assert [message.id for message in check_settings()] == [code], name
