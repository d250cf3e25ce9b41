"""The key store and the refresh store on the Django ORM, over this app's tables.

Both follow their protocols (:class:`~backendkit.apikeys.KeyStore`,
:class:`~backendkit.auth.RefreshStore`) to the letter:

- a key is changed one field at a time, by an ``UPDATE`` that reads nothing first
  (``revoked_at = COALESCE(revoked_at, now)``): a rotation or a ``last_used_at``
  write never undoes a revocation made meanwhile, whichever process made it;
- a key's rotation is one transaction: an ``UPDATE ... WHERE rotated_to IS NULL AND
  revoked_at IS NULL`` (which holds the old key's row, or SQLite's write lock), then
  the successor's ``INSERT`` only when the row changed: of two rotations racing, the
  second writes nothing and reads whom the key was rotated to; a rotation behind a
  revocation writes nothing either (a revoked key never gets a successor after it).
  At REPEATABLE READ or SERIALIZABLE, where that second ``UPDATE`` fails to serialize,
  the row is read afresh and answered the same way;
- a refresh-token rotation runs :func:`~backendkit.auth._core.refresh.decide` in one transaction,
  under a row lock on the family (``SELECT ... FOR UPDATE``): two refreshes with one
  token take turns, and the second sees what the first wrote (a retry gets the same
  pair, a reuse revokes the family).

A database that cannot answer (Django's ``OperationalError`` or ``InterfaceError``:
the server down, the connection dropped, a lock wait timed out, SQLite's "database is
locked") raises :class:`~backendkit.stores.StoreUnavailable`, which the verifier and the
token issuer turn into their outage policy. A connection that failed is replaced at the
next call, also in the worker threads where async views run the stores
(``asyncio.to_thread``), which Django's request cycle never tidies up.

The stores are plain objects; they find their models when first used, so they can be
made before Django's apps are loaded (in a module the settings name by dotted path).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Least
from django.db.utils import InterfaceError, OperationalError

from backendkit.apikeys import KeyIdTaken, KeyRecord, RotationRefused, rotation_refused
from backendkit.auth._core.refresh import Family, Outcome, RefreshPolicy, Rotation, decide
from backendkit.errors import ConfigurationError
from backendkit.stores import StoreUnavailable

if TYPE_CHECKING:
    from backendkit.django.credentials.models import APIKey, RefreshFamily, SpentRefreshToken

_SERIALIZATION_FAILURE = "40001"  # SQLSTATE serialization_failure: REPEATABLE READ, SERIALIZABLE
_SERIALIZATION_TRIES = 3  # a key's rotation, when its UPDATE met a row changed since its snapshot

# What a rotation or a revocation changes in a family's row (the rest is written once, at the login).
_CHANGING = ("last_used_at", "generation", "current", "previous", "spent_at", "sealed", "access", "revoked_at")


@contextmanager
def _database(alias: str) -> Iterator[None]:
    """Run a store operation on ``alias``: a failed connection replaced first, outage errors as StoreUnavailable."""
    try:
        connection = connections[alias]
        if connection.errors_occurred and not connection.in_atomic_block:
            # The last call failed on this thread's connection: ping it, reconnect if it is dead. A request
            # thread gets this from Django between requests; a worker thread of asyncio.to_thread never does.
            connection.close_if_unusable_or_obsolete()
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(f"database {alias!r}: {exc}") from exc


def _api_key() -> type[APIKey]:
    from backendkit.django.credentials.models import APIKey

    return APIKey


_BY_ID: dict[str, str] = {}  # backend (connection.vendor) → SELECT of a key's row by its id


def _by_id(alias: str) -> str:
    """The ``SELECT`` of one ``APIKey`` row by its id (``%s``), quoted for the backend of ``alias``."""
    connection = connections[alias]
    sql = _BY_ID.get(connection.vendor)
    if sql is None:
        meta, quote = _api_key()._meta, connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in meta.concrete_fields if field.column is not None)
        # Identifiers from the model, quoted by the backend; the id is a parameter.
        sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
        _BY_ID[connection.vendor] = sql
    return sql


def _refresh_models() -> tuple[type[RefreshFamily], type[SpentRefreshToken]]:
    from backendkit.django.credentials.models import RefreshFamily, SpentRefreshToken

    return RefreshFamily, SpentRefreshToken


class DjangoKeyStore:
    """API key records in the ``APIKey`` table of database ``using`` (the router's choice for writes by default).

    Example::

        from backendkit.apikeys import APIKeys
        from backendkit.django.credentials import DjangoKeyStore

        api_keys = APIKeys(DjangoKeyStore(), prefix="bk_live_", pepper=os.environ["API_KEY_PEPPER"])
        verifier = api_keys.verifier()          # BACKENDKIT = {"AUTH": BearerAuth(api_keys=verifier)}
    """

    store_name = "the API key table"  # in the verifier's outage log lines

    def __init__(self, using: str | None = None) -> None:
        if using is not None and not isinstance(using, str):
            raise TypeError(f"using is a database alias, not {using!r}")
        self.using = using

    def __repr__(self) -> str:
        return f"DjangoKeyStore(using={self.using!r})"

    @property
    def alias(self) -> str:
        """The database the keys are in: ``using``, or where the router writes ``APIKey`` rows.

        One database for reads and writes alike: a key revoked is refused at once, never read
        back from a replica that has not caught up.
        """
        return self.using or router.db_for_write(_api_key())

    def add(self, record: KeyRecord) -> None:
        alias = self.alias
        try:
            with _database(alias), transaction.atomic(using=alias):  # a savepoint inside the caller's transaction
                _api_key().objects.using(alias).create(**record.to_dict())
        except IntegrityError:
            raise KeyIdTaken(f"key id {record.id!r} is taken") from None

    def get(self, key_id: str) -> KeyRecord | None:
        # A verifier's read on a cache miss, on the request path: one SELECT by primary key, written
        # out once per backend. Compiling filter(pk=...).first() afresh each time was most of a miss,
        # and put the check behind djangorestframework-api-key's (benchmarks/credentials_bench.py).
        alias = self.alias
        with _database(alias):
            row = next(iter(_api_key().objects.using(alias).raw(_by_id(alias), [key_id])), None)
        return None if row is None else row.to_record()

    def list(self, owner: str | None = None) -> list[KeyRecord]:
        alias = self.alias
        rows = _api_key().objects.using(alias).order_by("created_at", "id")
        if owner is not None:
            rows = rows.filter(owner=owner)
        with _database(alias):
            return [row.to_record() for row in rows]

    def revoke(self, key_id: str, now: float) -> bool:
        alias = self.alias
        with _database(alias):
            found = (
                _api_key()
                .objects.using(alias)
                .filter(pk=key_id)
                .update(revoked_at=Coalesce(F("revoked_at"), Value(float(now))))
            )
        return bool(found)

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        """Keep ``successor`` and retire ``key_id`` for it, in one transaction (a savepoint in the caller's).

        At REPEATABLE READ or SERIALIZABLE (PostgreSQL's ``isolation_level`` option), the ``UPDATE`` of a
        row another transaction changed since this one began fails (``could not serialize access``):
        the rotation's own transaction then reads the row afresh and answers as a rotation behind that
        change does (rotated already, revoked), or, when the change was another (a ``last_used_at``),
        tries again, up to three times in all. Inside the caller's transaction that failure has broken
        the caller's transaction too, whose snapshot no retry can refresh: it is raised as it is
        (``StoreUnavailable``), for the caller to roll back and retry.
        """
        alias = self.alias
        rows = _api_key().objects.using(alias)
        failure: StoreUnavailable | None = None
        for _ in range(_SERIALIZATION_TRIES):
            try:
                with _database(alias):
                    return self._rotate_once(alias, key_id, successor, until)
            except StoreUnavailable as exc:
                if not _serialization_failure(exc.__cause__) or connections[alias].in_atomic_block:
                    raise
                failure = exc
            # Rolled back: a fresh read, in a transaction of its own, sees what the failed UPDATE could not.
            with _database(alias):
                state = _rotation_fields(rows, key_id)
            if state is None:
                return None
            refused = rotation_refused(*state)
            if refused is not None:
                return refused
        assert failure is not None
        raise failure

    def _rotate_once(self, alias: str, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        rows = _api_key().objects.using(alias)
        # LEAST is NULL on SQLite when expires_at is (PostgreSQL skips the NULL): COALESCE makes both "until".
        expires = Coalesce(Least(F("expires_at"), Value(float(until))), Value(float(until)))
        try:
            with transaction.atomic(using=alias):  # a savepoint inside the caller's transaction
                unrotated = rows.filter(pk=key_id, rotated_to__isnull=True, revoked_at__isnull=True)
                if unrotated.update(rotated_to=successor.id, expires_at=expires):
                    rows.create(**successor.to_dict())
                    return successor.id
                # Another rotation or a revocation came first (committed: the UPDATE waited for it), or no key.
                state = _rotation_fields(rows, key_id)
                return None if state is None else rotation_refused(*state)
        except IntegrityError:
            raise KeyIdTaken(f"key id {successor.id!r} is taken") from None

    def touch(self, key_id: str, now: float) -> None:
        alias = self.alias
        with _database(alias):
            _api_key().objects.using(alias).filter(pk=key_id).update(last_used_at=now)


class DjangoRefreshStore:
    """Refresh-token families in the ``RefreshFamily`` and ``SpentRefreshToken`` tables of database ``using``.

    A family's row is deleted, with its spent digests, once its ``ends_at`` (the sooner of its
    idle and absolute ends) has passed: each login clears the ended ones, as the memory
    store does.

    Example::

        from backendkit.auth import HMACKey, TokenIssuer
        from backendkit.django.credentials import DjangoRefreshStore

        issuer = TokenIssuer(HMACKey(settings.JWT_SECRET), refresh_store=DjangoRefreshStore())
        pair = issuer.issue_pair(user.username, claims={"roles": ["viewer"]})
        later = issuer.refresh(pair.refresh_token)
    """

    store_name = "the refresh-token tables"  # in the issuer's outage log lines

    def __init__(self, using: str | None = None) -> None:
        if using is not None and not isinstance(using, str):
            raise TypeError(f"using is a database alias, not {using!r}")
        self.using = using

    def __repr__(self) -> str:
        return f"DjangoRefreshStore(using={self.using!r})"

    @property
    def alias(self) -> str:
        """The database the families are in: ``using``, or where the router writes ``RefreshFamily`` rows."""
        return self.using or router.db_for_write(_refresh_models()[0])

    def create(self, family: Family, policy: RefreshPolicy) -> None:
        families, _ = _refresh_models()
        alias = self.alias
        try:
            with _database(alias), transaction.atomic(using=alias):
                families.objects.using(alias).filter(ends_at__lte=family.created_at).delete()
                families.objects.using(alias).create(**families.columns(family, policy))
        except IntegrityError:
            raise ValueError(f"family {family.id!r} exists") from None

    def rotate(self, family_id: str, presented: str, rotation: Rotation, now: float, policy: RefreshPolicy) -> Outcome:
        families, spent = _refresh_models()
        alias = self.alias
        with _database(alias), _own_transaction(alias):
            # The row lock makes concurrent rotations of one family take turns; on SQLite, which
            # has no row locks, the transaction's database lock does (a waiter past the timeout: a 503).
            row = families.objects.using(alias).select_for_update().filter(pk=family_id).first()
            family = None if row is None else row.to_family()
            was_spent = (
                family is not None
                and presented not in (family.current, family.previous)  # decide() looks at those two first
                and spent.objects.using(alias).filter(pk=presented, family_id=family_id).exists()
            )
            outcome = decide(family, presented, was_spent, rotation, now, policy)
            if outcome.family is not None and outcome.family is not family:
                columns = families.columns(outcome.family, policy)
                changed = {name: columns[name] for name in (*_CHANGING, "ends_at")}
                families.objects.using(alias).filter(pk=family_id).update(**changed)
            if outcome.spent is not None:
                spent.objects.using(alias).create(digest=outcome.spent, family_id=family_id)
        return outcome

    def revoke(self, family_id: str, now: float, policy: RefreshPolicy) -> Family | None:
        families, _ = _refresh_models()
        alias = self.alias
        rows = families.objects.using(alias).filter(pk=family_id)
        with _database(alias):
            # One UPDATE that keeps a first revocation's time; the row read after it is the revoked
            # family (a rotation waiting on it finds it revoked and writes nothing).
            if not rows.update(revoked_at=Coalesce(F("revoked_at"), Value(float(now))), sealed=None):
                return None
            row = rows.first()
        return None if row is None else row.to_family()

    def families(self, subject: str) -> list[str]:
        families, _ = _refresh_models()
        alias = self.alias
        live = families.objects.using(alias).filter(subject=subject, revoked_at__isnull=True)
        with _database(alias):
            return list(live.order_by("created_at", "id").values_list("id", flat=True))


def _rotation_fields(rows: Any, key_id: str) -> tuple[str | None, float | None] | None:
    """``key_id``'s ``rotated_to`` and ``revoked_at`` as stored now (what decides a rotation), or ``None``."""
    found: tuple[str | None, float | None] | None = (
        rows.filter(pk=key_id).values_list("rotated_to", "revoked_at").first()
    )
    return found


def _serialization_failure(error: BaseException | None) -> bool:
    """Whether ``error`` (Django's) is PostgreSQL's ``could not serialize access`` (SQLSTATE 40001)."""
    cause = getattr(error, "__cause__", None)  # the driver's: psycopg's ``sqlstate``, psycopg2's ``pgcode``
    return (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) == _SERIALIZATION_FAILURE


@contextmanager
def _own_transaction(alias: str) -> Iterator[None]:
    """A transaction of the rotation's own, committed when it ends.

    Inside the caller's transaction (``ATOMIC_REQUESTS``, an ``atomic()`` block) it would be a
    savepoint: the revocation of a reused family would roll back with the 400 that follows it, and
    the family's row would stay locked until the request ended. So that is refused, clearly.
    """
    try:
        block = transaction.atomic(using=alias, durable=True)
        block.__enter__()
    except RuntimeError:
        raise ConfigurationError(
            "a refresh-token rotation must not run inside another transaction (ATOMIC_REQUESTS, atomic()): "
            "a reuse's revocation would be rolled back with it; mark the view non_atomic_requests"
        ) from None
    try:
        yield
    except BaseException as exc:
        block.__exit__(type(exc), exc, exc.__traceback__)  # rolled back
        raise
    block.__exit__(None, None, None)


__all__ = ["DjangoKeyStore", "DjangoRefreshStore"]
