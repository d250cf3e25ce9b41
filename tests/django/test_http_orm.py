"""Django ORM: update_if_version, one UPDATE ... WHERE pk AND version, on SQLite and on the local PostgreSQL.

The concurrency tests run writers in threads, each on a connection of its own (Django keeps
one per thread), released together and all sending the version they read: exactly one
wins, every other gets the 412 with the winner's tag. The table lives in a schema the
test makes and drops; the model is registered in an isolated app registry, so no other
test sees it.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction

from backendkit.django.http import aupdate_if_version, update_if_version
from backendkit.errors import NotFound, PreconditionFailed
from tests.django.at_once import at_once
from tests.django.credentials_db import extra_database
from tests.support.postgres import django_database, own_schema, server_url

WRITERS = 8
ROUNDS = 15


@functools.cache
def models_() -> tuple[Any, Any]:
    """A model with a version column and one it refers to, in an app registry of their own."""
    from django.db import models
    from django.test.utils import isolate_apps

    with isolate_apps("tests.pagination.djangoapp"):

        class Team(models.Model):
            name = models.CharField(max_length=20)

            class Meta:
                app_label = "pagination_tests"
                db_table = "bk_http_team"

        class Note(models.Model):
            title = models.CharField(max_length=100)
            owner = models.CharField(max_length=20, default="alice")
            team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL)
            hits = models.IntegerField(default=0)
            version = models.IntegerField(default=1)

            class Meta:
                app_label = "pagination_tests"
                db_table = "bk_http_note"

    return Team, Note


def note_model() -> Any:
    return models_()[1]


def _with_table(alias: str) -> Iterator[str]:
    made = models_()
    with connections[alias].schema_editor() as editor:
        for model in made:
            editor.create_model(model)
    try:
        yield alias
    finally:
        with connections[alias].schema_editor() as editor:
            for model in reversed(made):
                editor.delete_model(model)


@pytest.fixture
def sqlite() -> Iterator[str]:
    yield from _with_table("default")


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("postgres_schema")  # (skips, or fails when required, if the server is not there)
    with (
        own_schema(server_url(), f"bk_http_{uuid.uuid4().hex[:12]}") as schema,
        extra_database("http_orm", django_database(schema.name)) as alias,
    ):
        yield from _with_table(alias)


@pytest.fixture(params=["sqlite", "postgres"])
def alias(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(request.param)
    return value


def notes(alias: str) -> Any:
    return note_model().objects.using(alias)


def test_a_current_version_updates_the_row_and_counts_one_more(alias: str) -> None:
    note = notes(alias).create(title="draft")
    assert update_if_version(notes(alias), note.pk, "1", title="final") == 2
    assert update_if_version(notes(alias), note.pk, 2, title="final, again") == 3
    stored = notes(alias).get(pk=note.pk)
    assert (stored.title, stored.version) == ("final, again", 3)


def test_a_stale_version_is_a_412_with_the_current_tag_and_changes_nothing(alias: str) -> None:
    note = notes(alias).create(title="draft", version=4)
    with pytest.raises(PreconditionFailed) as caught:
        update_if_version(notes(alias), note.pk, "3", title="lost")
    assert caught.value.headers == {"ETag": '"v4"'}
    assert caught.value.details == {"etag": '"v4"'}
    assert notes(alias).get(pk=note.pk).title == "draft"


@pytest.mark.parametrize("version", [None, "", "x1", "1.0", "٣", "1" * 40, "-1"])
def test_no_single_version_tag_never_matches(alias: str, version: Any) -> None:
    note = notes(alias).create(title="draft")
    with pytest.raises(PreconditionFailed):
        update_if_version(notes(alias), note.pk, version, title="lost")
    with pytest.raises(TypeError, match="not a bool"):  # a caller's bug, not a client's tag
        update_if_version(notes(alias), note.pk, True, title="lost")


def test_a_missing_row_is_a_404_and_so_is_one_outside_the_queryset(alias: str) -> None:
    note = notes(alias).create(title="bob's", owner="bob")
    with pytest.raises(NotFound):
        update_if_version(notes(alias), note.pk + 1, 1, title="x")
    with pytest.raises(NotFound):
        update_if_version(notes(alias).filter(owner="alice"), note.pk, 1, title="x")
    assert notes(alias).get(pk=note.pk).version == 1


def test_values_take_expressions_and_the_version_is_not_a_value(alias: str) -> None:
    from django.db.models import F

    note = notes(alias).create(title="draft")
    assert update_if_version(notes(alias), note.pk, 1, hits=F("hits") + 5) == 2
    assert notes(alias).get(pk=note.pk).hits == 5
    with pytest.raises(ValueError, match="version"):
        update_if_version(notes(alias), note.pk, 2, version=10)


def test_a_model_or_a_manager_will_do_on_the_default_database(sqlite: str) -> None:
    model = note_model()
    note = model.objects.create(title="draft")
    assert update_if_version(model, note.pk, 1, title="a") == 2
    assert update_if_version(model.objects, note.pk, 2, title="b") == 3


def test_the_async_twin_answers_alike(sqlite: str) -> None:
    note = notes(sqlite).create(title="draft")

    async def run() -> list[Any]:
        out: list[Any] = [await aupdate_if_version(notes(sqlite), note.pk, "1", title="async")]
        for version, pk in (("1", note.pk), ("2", note.pk + 1)):
            try:
                await aupdate_if_version(notes(sqlite), pk, version, title="lost")
            except (PreconditionFailed, NotFound) as exc:
                out.append(type(exc))
        return out

    assert asyncio.run(run()) == [2, PreconditionFailed, NotFound]
    connections.close_all()  # (the async ORM's worker thread opened one)
    assert notes(sqlite).get(pk=note.pk).title == "async"


def test_concurrent_writers_sending_one_version_exactly_one_wins_on_postgresql(postgres: str) -> None:
    for round_ in range(ROUNDS):
        note = notes(postgres).create(title=f"round {round_}", version=7)

        def write(i: int, pk: int = note.pk) -> int:
            return update_if_version(notes(postgres), pk, "7", title=f"writer {i}", hits=i)

        results = at_once([functools.partial(write, i) for i in range(WRITERS)])
        winners = [i for i, result in enumerate(results) if result == 8]
        refused = [result for result in results if isinstance(result, PreconditionFailed)]
        assert len(winners) == 1, results
        assert len(refused) == WRITERS - 1, results
        assert all(error.headers == {"ETag": '"v8"'} for error in refused)
        stored = notes(postgres).get(pk=note.pk)
        assert (stored.version, stored.title, stored.hits) == (8, f"writer {winners[0]}", winners[0])


def waiting_on_a_lock(alias: str) -> int:
    """How many sessions wait on a lock in a statement on this test's table (waiting up to 10 s for them all)."""
    deadline = time.monotonic() + 10
    with connections[alias].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # (a transaction sees one snapshot of the activity)
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                ["%bk_http_note%"],
            )
            (count,) = cursor.fetchone()
            if count >= WRITERS or time.monotonic() > deadline:
                return int(count)
            time.sleep(0.02)


@pytest.mark.parametrize("narrowed", ["all rows", "through a join"])
def test_writers_queued_behind_an_open_transaction_all_get_412_once_it_commits(postgres: str, narrowed: str) -> None:
    # Narrowed through a join, Django moved the version test into a subquery on another alias of the
    # table, which PostgreSQL does not re-check when the holder commits: every queued writer won too.
    team = models_()[0].objects.using(postgres).create(name="alice's")
    note = notes(postgres).create(title="held", team=team)

    def rows() -> Any:
        return notes(postgres) if narrowed == "all rows" else notes(postgres).filter(team__name="alice's")

    with transaction.atomic(using=postgres):
        assert update_if_version(rows(), note.pk, 1, title="holder") == 2  # the row is locked until commit
        threads: list[threading.Thread] = []
        results: list[Any] = [None] * WRITERS

        def write(i: int) -> None:
            try:
                results[i] = update_if_version(rows(), note.pk, 1, title=f"writer {i}")
            except Exception as exc:
                results[i] = exc
            finally:
                connections.close_all()

        for i in range(WRITERS):
            threads.append(threading.Thread(target=write, args=(i,)))
            threads[-1].start()
        assert waiting_on_a_lock(postgres) == WRITERS  # all queued behind the holder's row lock
    for thread in threads:
        thread.join(timeout=30)
    assert all(isinstance(result, PreconditionFailed) and result.headers == {"ETag": '"v2"'} for result in results)
    stored = notes(postgres).get(pk=note.pk)
    assert (stored.title, stored.version) == ("holder", 2)
