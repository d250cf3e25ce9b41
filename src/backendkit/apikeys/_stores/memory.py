"""The key store protocol, and the store in this process's memory (tests, one-process services).

Every store changes a record one field at a time (:meth:`KeyStore.revoke`,
:meth:`KeyStore.rotate`, :meth:`KeyStore.touch`), never by writing back a whole
record it read: a revocation made meanwhile is never undone by a rotation or a
``last_used_at`` write. A rotation keeps the successor and retires the old key in
one atomic step, on condition that the old key is neither rotated already nor
revoked: of two rotations racing, one wins and the other writes nothing, and a
rotation that read the key before a revocation made meanwhile writes nothing either
(a revoked key never gets a successor made after its revocation).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol, runtime_checkable

from backendkit.apikeys._core.record import KeyIdTaken, KeyRecord, RotationRefused


@runtime_checkable
class KeyStore(Protocol):
    """Where key records live. A store that cannot answer raises :class:`~backendkit.stores.StoreUnavailable`."""

    def add(self, record: KeyRecord) -> None:
        """Keep a new record (:class:`~backendkit.apikeys.KeyIdTaken`, a ``ValueError``, when its id is taken)."""
        ...

    def get(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id``, or ``None``."""
        ...

    def list(self, owner: str | None = None) -> list[KeyRecord]:
        """Every record (of ``owner``), oldest first."""
        ...

    def revoke(self, key_id: str, now: float) -> bool:
        """Set ``revoked_at`` (unless set already); whether the key exists."""
        ...

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        """Keep ``successor`` and retire ``key_id`` for it, all or nothing, unless it is rotated already or revoked.

        Retiring sets ``rotated_to`` to the successor's id, and ``expires_at`` to ``until`` unless it is
        sooner already (``revoked_at`` is left alone). The answer, checked in this order
        (:meth:`~backendkit.apikeys.KeyRecord.rotation_refused`), is:

        - ``None``: there is no ``key_id``;
        - an id: whom ``key_id`` is rotated to now. ``successor.id`` when this call rotated it (or did so
          already, the same call sent again); another id when another rotation came first;
        - :attr:`~backendkit.apikeys.RotationRefused.REVOKED`: ``key_id`` is revoked (at any time) and not rotated;
        - :class:`~backendkit.apikeys.KeyIdTaken` (a ``ValueError``) raised: ``successor.id`` is taken.

        Nothing is written but when the answer is ``successor.id`` the first time. Expiry is not checked
        here: a store has no clock (times are its callers'), and a successor inherits the old key's end.
        """
        ...

    def touch(self, key_id: str, now: float) -> None:
        """Set ``last_used_at`` (nothing when the key is gone)."""
        ...


class MemoryKeyStore:
    """Key records in a dict: one process only (a key made in another worker is unknown here).

    Example:
        >>> store = MemoryKeyStore()
        >>> store.add(KeyRecord(id="k1", digest="00", owner="alice"))
        >>> store.revoke("k1", now=10.0), store.get("k1").revoked_at
        (True, 10.0)
    """

    def __init__(self) -> None:
        self._records: dict[str, KeyRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: KeyRecord) -> None:
        with self._lock:
            if record.id in self._records:
                raise KeyIdTaken(f"key id {record.id!r} is taken")
            self._records[record.id] = record

    def get(self, key_id: str) -> KeyRecord | None:
        return self._records.get(key_id)

    def list(self, owner: str | None = None) -> list[KeyRecord]:
        with self._lock:
            held = list(self._records.values())
        records = sorted(held, key=lambda record: (record.created_at, record.id))
        return [record for record in records if owner is None or record.owner == owner]

    def revoke(self, key_id: str, now: float) -> bool:
        with self._lock:
            record = self._records.get(key_id)
            if record is None:
                return False
            self._records[key_id] = record.revoked(now)
            return True

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        with self._lock:
            record = self._records.get(key_id)
            refused = None if record is None else record.rotation_refused()
            if record is None or refused is not None:
                return refused
            if successor.id in self._records:
                raise KeyIdTaken(f"key id {successor.id!r} is taken")
            self._records[successor.id] = successor
            self._records[key_id] = record.rotated(successor.id, until)
            return successor.id

    def touch(self, key_id: str, now: float) -> None:
        with self._lock:
            record = self._records.get(key_id)
            if record is not None:
                self._records[key_id] = replace(record, last_used_at=now)


__all__ = ["KeyStore", "MemoryKeyStore"]
