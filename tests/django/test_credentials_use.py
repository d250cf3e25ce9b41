"""The Django stores under the managers that use them: APIKeys and its verifier, TokenIssuer; sync, async, outages."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connections

from backendkit.apikeys import APIKeys, MemoryKeyStore
from backendkit.auth import HMACKey, InvalidGrant, InvalidToken, JWTVerifier, MemoryRevocations, TokenIssuer
from backendkit.auth._core.refresh import Family, RefreshPolicy, Rotation
from backendkit.django.credentials import DjangoKeyStore, DjangoRefreshStore
from backendkit.errors import ServiceUnavailable
from backendkit.stores import StoreUnavailable
from tests.django.credentials_db import ALIASES, database, extra_database, run_async
from tests.support.net import free_port
from tests.support.postgres import django_database, server_url

KEY = HMACKey("a-32-byte-secret-for-the-django-tests!")
PEPPER = "a-pepper-of-sixteen-bytes-or-more"


@pytest.fixture(params=ALIASES)
def alias(request: pytest.FixtureRequest) -> str:
    return database(request, request.param)


def issuer_on(alias: str, **options: Any) -> TokenIssuer:
    return TokenIssuer(KEY, refresh_store=DjangoRefreshStore(using=alias), pepper=PEPPER, **options)


def test_keys_made_rotated_and_revoked_through_the_manager(alias: str) -> None:
    keys = APIKeys(DjangoKeyStore(using=alias), prefix="bk_test_", pepper=PEPPER)
    verifier = keys.verifier(cache_ttl=0)
    made = keys.create("deploy-bot", name="CI", roles=["deployer"], scopes=["tasks:write"])
    principal = verifier.verify(made.key)
    assert (principal.subject, principal.roles, principal.scopes) == ("deploy-bot", {"deployer"}, {"tasks:write"})
    assert keys.get(made.record.id).last_used_at is not None  # type: ignore[union-attr]

    newer = keys.rotate(made.record.id, grace=60)
    assert verifier.verify(made.key).subject == verifier.verify(newer.key).subject == "deploy-bot"
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(made.key, now=time.time() + 61)
    assert caught.value.reason == "expired"

    assert keys.revoke(newer.record.id) is True
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(newer.key)
    assert caught.value.reason == "revoked"
    assert [record.id for record in keys.list("deploy-bot")] == [made.record.id, newer.record.id]


def test_a_key_checked_from_an_async_view_reads_the_store_in_a_worker_thread(alias: str) -> None:
    keys = APIKeys(DjangoKeyStore(using=alias), pepper=PEPPER)
    made = keys.create("alice")
    verifier = keys.verifier(cache_ttl=0)

    async def check() -> str:
        return (await verifier.averify(made.key)).subject

    assert run_async(check) == "alice"


def test_refresh_tokens_rotate_retry_and_catch_a_reuse(alias: str) -> None:
    revocations = MemoryRevocations()
    issuer = issuer_on(alias, revocations=revocations)
    verifier = JWTVerifier([KEY], revocations=revocations)
    first = issuer.issue_pair("alice", claims={"roles": ["viewer"]})
    second = issuer.refresh(first.refresh_token)
    assert issuer.refresh(first.refresh_token) == second  # a retry: the same pair, not a second one
    assert verifier.verify(second.access_token).subject == "alice"

    with pytest.raises(InvalidGrant) as caught:
        issuer.refresh(first.refresh_token, now=time.time() + 60)  # spent a minute ago: a reuse
    assert caught.value.reason == "reused"
    with pytest.raises(InvalidGrant) as caught:
        issuer.refresh(second.refresh_token)
    assert caught.value.reason == "revoked"
    with pytest.raises(InvalidToken):  # the family's access tokens went with it
        verifier.verify(second.access_token)


def test_logout_and_logout_everywhere(alias: str) -> None:
    issuer = issuer_on(alias)
    pairs = [issuer.issue_pair("alice") for _ in range(3)]
    other = issuer.issue_pair("bob")
    verifier = JWTVerifier([KEY])
    assert issuer.logout(verifier.verify(pairs[0].access_token)) is True  # by the access token's sid
    assert issuer.logout_everywhere("alice") == 2
    for pair in pairs:
        with pytest.raises(InvalidGrant, match="invalid"):
            issuer.refresh(pair.refresh_token)
    assert issuer.refresh(other.refresh_token).refresh_token != other.refresh_token


def test_refreshing_from_async_code(alias: str) -> None:
    issuer = issuer_on(alias)

    async def scenario() -> tuple[bool, int]:
        first = await issuer.aissue_pair("alice")
        second = await issuer.arefresh(first.refresh_token)
        again = await issuer.arefresh(first.refresh_token)
        return again == second, await issuer.alogout_everywhere("alice")

    assert run_async(scenario) == (True, 1)


# A database that cannot answer.


def dead(kind: str, tmp_path: Any) -> dict[str, Any]:
    if kind == "default":  # a file in a folder that does not exist
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "gone" / "keys.sqlite3")}
    entry = django_database()
    entry.update(PORT=str(free_port()), OPTIONS={"connect_timeout": 2})  # nothing listens there
    return entry


@pytest.mark.parametrize("kind", ALIASES)
def test_every_operation_on_a_dead_database_is_store_unavailable(kind: str, tmp_path: Any) -> None:
    policy = RefreshPolicy()
    family = Family("F" * 22, "alice", current="d0")
    rotation = Rotation("d1", "sealed", ("j", 0, 1))
    with extra_database("dead", dead(kind, tmp_path)):
        keys, families = DjangoKeyStore(using="dead"), DjangoRefreshStore(using="dead")
        calls = [
            lambda: keys.add(_record()),
            lambda: keys.get("k1"),
            lambda: keys.list(),
            lambda: keys.revoke("k1", 1.0),
            lambda: keys.rotate("k1", _record("k2"), 2.0),
            lambda: keys.touch("k1", 1.0),
            lambda: families.create(family, policy),
            lambda: families.rotate(family.id, "d0", rotation, 1.0, policy),
            lambda: families.revoke(family.id, 1.0, policy),
            lambda: families.families("alice"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable, match="'dead'"):
                call()
        # The managers' outage policy: a 503, never a 500 (nor a key taken unchecked).
        with pytest.raises(ServiceUnavailable):
            APIKeys(keys).verifier().verify(APIKeys(MemoryKeyStore()).create("alice").key)
        with pytest.raises(ServiceUnavailable):
            TokenIssuer(KEY, refresh_store=families).issue_pair("alice")


def _record(key_id: str = "k1") -> Any:
    from backendkit.apikeys import KeyRecord

    return KeyRecord(id=key_id, digest="00", owner="alice")


def _kill(backend_pid: int) -> None:
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))


def _backend_pid(alias: str) -> int:
    connection = connections[alias]
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def test_a_connection_the_server_dropped_is_one_unavailable_answer_then_a_new_connection(
    request: pytest.FixtureRequest,
) -> None:
    alias = database(request, "postgres")
    store = DjangoKeyStore(using=alias)
    store.add(_record())
    _kill(_backend_pid(alias))
    with pytest.raises(StoreUnavailable):
        store.get("k1")
    assert store.get("k1") == _record()  # the next call reconnects


def test_the_same_in_the_worker_thread_of_an_async_view(request: pytest.FixtureRequest) -> None:
    import asyncio

    alias = database(request, "postgres")
    keys = APIKeys(DjangoKeyStore(using=alias))
    made = keys.create("alice")
    verifier = keys.verifier(cache_ttl=0, retry_interval=0.05)

    async def scenario() -> list[str]:
        seen = [(await verifier.averify(made.key)).subject]
        _kill(await asyncio.to_thread(_backend_pid, alias))  # the worker thread's own connection
        try:
            await verifier.averify(made.key)
        except ServiceUnavailable:
            seen.append("503")
        await asyncio.sleep(0.1)  # the breaker's retry interval
        seen.append((await verifier.averify(made.key)).subject)
        return seen

    assert run_async(scenario) == ["alice", "503", "alice"]
