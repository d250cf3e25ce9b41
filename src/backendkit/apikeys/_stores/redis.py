"""API keys in Redis, shared by every process: :class:`RedisKeyStore`.

One hash per key, ``<prefix>{k}:key:<id>``, a field per attribute of the record
(a field that is ``None`` is absent); and two sorted sets of ids scored by
``created_at``: the owner's, ``<prefix>{k}:owner:<owner>``, and every key's,
``<prefix>{k}:keys``. A change writes the one field it changes, in a Lua script
that also checks the key exists (a write never leaves a stray hash behind):
``revoke`` sets ``revoked_at`` only when it is unset (``HSETNX``), ``rotate`` sets
the old key's ``rotated_to`` only when it is unset and ``revoked_at`` absent,
lowers its ``expires_at`` and keeps the successor in the same script (of two
rotations racing, the second writes nothing; nor does one racing a revocation
that came first), ``touch`` sets ``last_used_at``. No change ever writes back a
record read earlier, so a revocation is never undone by a rotation or a
``last_used_at`` write made meanwhile.

Every key of a store carries the hash tag ``{k}``: they share one hash slot, so
:meth:`~RedisKeyStore.add` keeps the record and both indexes in one script (all
or nothing) on a Redis Cluster as on one server. Keys are few and, behind the
verifier's cache, read rarely, so one slot is no hot spot. ``get`` is one
``HGETALL``: one round trip.

The client, the bounded waits, the error mapping and the retry rule are the store
kernel's (:mod:`backendkit.stores.redis`). Every script is safe to send twice
(``add`` recognises its own record by its digest), so a stale pooled connection
is retried once. A failure raises :class:`~backendkit.stores.StoreUnavailable`,
and the verifier's ``on_store_error`` decides the answer.
"""

from __future__ import annotations

import builtins
from importlib.resources import files
from typing import Any

from backendkit._extras import require
from backendkit.apikeys._core.record import KeyIdTaken, KeyRecord, RotationRefused
from backendkit.errors import ConfigurationError
from backendkit.stores import OnStoreError
from backendkit.stores._core import check_on_store_error

require("redis", extra="redis", module="backendkit.apikeys.redis")

from backendkit.stores.redis import DEFAULT_TIMEOUT, RedisConnection, Script, checked_url  # noqa: E402

DEFAULT_PREFIX = "backendkit:apikeys:"
_SCRIPTS = {
    name: Script(files("backendkit.apikeys._stores").joinpath(f"lua/{name}.lua").read_text("utf-8"))
    for name in ("add", "revoke", "rotate", "touch", "records")
}
_TIMES = ("created_at", "expires_at", "last_used_at", "revoked_at")
_NAMES = ("roles", "scopes")
_BATCH = 500  # records read by one script of a list


def _fields(record: KeyRecord) -> list[str]:
    """The record as a hash's fields and values, flat; a field that is ``None`` is left out."""
    out: list[str] = []
    for field, value in record.to_dict().items():
        if value is None:
            continue
        if field in _NAMES:
            value = ",".join(value)  # (a role or scope name holds no comma: KeyRecord refuses one)
        elif field in _TIMES:
            value = repr(float(value))  # the shortest text that reads back as the same float
        out += [field, value]
    return out


def _text(value: Any) -> str:
    # Bytes from a client as redis-py makes it by default; already text from one with decode_responses=True.
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _record(reply: Any) -> KeyRecord | None:
    """The record from a hash's fields (``HGETALL``'s dict, or a script's flat list), or ``None`` for none."""
    if not reply:
        return None
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
    data: dict[str, Any] = {_text(k): _text(v) for k, v in pairs}
    for field in _TIMES:
        if field in data:
            data[field] = float(data[field])
    for field in _NAMES:
        data[field] = tuple(data[field].split(",")) if data.get(field) else ()
    return KeyRecord.from_dict(data)


class RedisKeyStore(RedisConnection):
    """API key records in Redis (``redis.Redis`` or ``RedisCluster``, or a URL): every process sees the same keys.

    Args:
        client: A sync redis-py client, or a URL (``redis://``, ``rediss://``, ``unix://``).
        prefix: Prepended to every Redis key of the store (no ``{`` or ``}``: the store puts its own
            hash tag after it).
        on_store_error: The policy a verifier applies to this store when it is not given one:
            ``"closed"`` (a 503 when a key must be read and Redis cannot answer) or ``"open"``
            (keys in the verifier's cache keep working).
        timeout: The longest each wait on Redis lasts, in seconds.

    A failed command raises :class:`~backendkit.stores.StoreUnavailable`. :meth:`close`
    closes the connections the store opened; a client given as it is stays yours.

    Example:
        >>> store = RedisKeyStore.from_url("redis://localhost:6379/0", prefix="app:keys:")
        >>> store.key("4bXq9ZtLm2Kp")
        'app:keys:{k}:key:4bXq9ZtLm2Kp'
        >>> store.close()
    """

    store_name = "the Redis API key store"  # in the verifier's outage log lines

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_store_error: OnStoreError = "closed",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise ConfigurationError(f"prefix is a string without braces (the store adds a hash tag), not {prefix!r}")
        self.prefix = prefix
        self.on_store_error = check_on_store_error(on_store_error)
        super().__init__(client, timeout=timeout)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisKeyStore:
        """A store with clients of its own for ``url`` (``redis://``, ``rediss://`` or ``unix://``).

        ``options`` are the constructor's: ``prefix``, ``on_store_error``, ``timeout``.
        """
        return cls(checked_url(url), **options)

    def key(self, key_id: str) -> str:
        """The Redis key of the record of ``key_id``."""
        return f"{self.prefix}{{k}}:key:{key_id}"

    def _owner_index(self, owner: str) -> str:
        return f"{self.prefix}{{k}}:owner:{owner}"

    def _script(self, name: str, keys: builtins.list[str], *args: Any) -> Any:
        script = _SCRIPTS[name]
        return self.call("EVALSHA", script.sha, len(keys), *keys, *args, script=script, repeatable=True)

    def add(self, record: KeyRecord) -> None:
        """Keep a new record and index it, in one script (``KeyIdTaken`` when its id is another key's)."""
        keys = [self.key(record.id), self._owner_index(record.owner), f"{self.prefix}{{k}}:keys"]
        created = repr(float(record.created_at))
        if not self._script("add", keys, record.digest, created, record.id, *_fields(record)):
            raise KeyIdTaken(f"key id {record.id!r} is taken")

    def get(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id``, or ``None``: one ``HGETALL``."""
        return _record(self.call("HGETALL", self.key(key_id), repeatable=True))

    def list(self, owner: str | None = None) -> builtins.list[KeyRecord]:
        """Every record (of ``owner``), oldest first: the index, then the records, 500 a round trip."""
        index = f"{self.prefix}{{k}}:keys" if owner is None else self._owner_index(owner)
        ids = [_text(member) for member in self.call("ZRANGE", index, 0, -1, repeatable=True)]
        records: builtins.list[KeyRecord] = []
        for start in range(0, len(ids), _BATCH):
            replies = self._script("records", [self.key(key_id) for key_id in ids[start : start + _BATCH]])
            records += [record for record in map(_record, replies) if record is not None]
        return records

    def revoke(self, key_id: str, now: float) -> bool:
        """Set ``revoked_at`` unless it is set; whether the key exists. One script."""
        return bool(self._script("revoke", [self.key(key_id)], repr(float(now))))

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        """Keep ``successor`` and retire ``key_id`` for it unless it is rotated already or revoked.

        One script (:meth:`~backendkit.apikeys.KeyStore.rotate` says what it answers).
        """
        keys = [
            self.key(key_id),
            self.key(successor.id),
            self._owner_index(successor.owner),
            f"{self.prefix}{{k}}:keys",
        ]
        created = repr(float(successor.created_at))
        reply = self._script("rotate", keys, successor.id, repr(float(until)), created, *_fields(successor))
        if reply == -1:
            raise KeyIdTaken(f"key id {successor.id!r} is taken")
        if reply == -2:
            return RotationRefused.REVOKED
        return None if reply == 0 else _text(reply)

    def touch(self, key_id: str, now: float) -> None:
        """Set ``last_used_at`` (nothing when the key is gone). One script."""
        self._script("touch", [self.key(key_id)], repr(float(now)))


__all__ = ["DEFAULT_PREFIX", "RedisKeyStore"]
