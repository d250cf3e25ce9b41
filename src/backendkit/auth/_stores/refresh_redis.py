"""Refresh-token families in Redis, shared by every process: :class:`RedisRefreshStore`.

A family is one hash, ``prefix{family_id}``: its state in fields (``subject``,
``claims``, ``created_at``, ``current``, ``previous``, ``sealed``, ``access``...)
and one field per token it has spent, ``spent:`` and the first 32 hex digits
(128 bits) of its digest: a forged token matching one would be a guess of 128
bits (and would only revoke the family), and a family refreshed every 15 minutes
for 30 days keeps ~2,900 of them (~90 bytes each, against ~150 for all 64
digits and the time). Each operation on a
family is one Lua script on that one key, so one round trip and atomic:

- ``create``: the fields, and the key's TTL, the family's absolute end (a rotation
  writes fields, which keeps the TTL): Redis forgets a family when it has ended;
- ``rotate``: :func:`~backendkit.auth._core.refresh.decide`, line for line
  (``refresh_rotate.lua``); the golden vectors in the tests hold it to the Python;
- ``revoke``: a logout.

The family id sits in the key's hash tag, so a Redis Cluster client works as a
plain one does. A subject's families are listed in a second key,
``prefix subject:{<hash of the subject>}`` (a sorted set scored by each family's
end), in another hash slot: a login writes it with a second command, *before*
the family itself, so a family is never missing from its subject's index
(``logout_everywhere`` would miss it); a failure between the two leaves an id
in the index with no family, which a logout skips.

Every script is safe to send twice, so a stale pooled connection (after a Redis
restart) is retried once: ``create`` finds its own family, ``revoke`` keeps the
first revocation time, and a rotation sent again finds its token spent at the
very same ``now``, which is a retry: it answers the pair the first sending made.

Why not the state as one JSON field: Redis's cjson writes numbers with 14
significant digits, which would round a time such as ``1800000000.123456``,
and writes an empty list as ``{}``, which would change a claim. So the script
writes times as the caller sent them (Python's ``repr`` of a float: read back
exactly), never touches the claims, and keeps only ``access`` (whole seconds and
``jti`` strings) in cjson.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from importlib.resources import files
from typing import Any, cast

from backendkit._extras import require
from backendkit.auth._core.refresh import MAX_ACCESS, AccessEntry, Family, Kind, Outcome, RefreshPolicy, Rotation
from backendkit.errors import ConfigurationError

require("redis", extra="redis", module="backendkit.auth.redis")

from backendkit.stores.redis import DEFAULT_TIMEOUT, RedisConnection, Script, checked_url  # noqa: E402

DEFAULT_PREFIX = "backendkit:refresh:"
FIELDS = (
    "subject",
    "claims",
    "created_at",
    "last_used_at",
    "generation",
    "current",
    "previous",
    "spent_at",
    "sealed",
    "access",
    "revoked_at",
)
"""The fields of a family's hash, in the order the scripts answer them."""

_SCRIPTS = {
    name: Script(files("backendkit.auth._stores").joinpath(f"lua/refresh_{name}.lua").read_text("utf-8"))
    for name in ("create", "rotate", "revoke", "index")
}
_SUBJECT_DIGITS = 32  # of the SHA-256 of a subject in its index's key: 128 bits


def _time(value: float) -> str:
    """A time as the scripts take and keep it: Python's shortest text that reads back as the same float."""
    if not math.isfinite(value):
        raise ValueError(f"a time is a finite number of seconds, not {value!r}")
    return repr(float(value))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _entries(text: str | None) -> tuple[AccessEntry, ...]:
    listed = json.loads(text) if text else []
    if not isinstance(listed, list):  # cjson writes an empty list as {}
        return ()
    return tuple((str(jti), int(iat), int(exp)) for jti, iat, exp in listed)


def _optional(value: str | None) -> float | None:
    return None if value is None else float(value)


def _family(family_id: str, values: Sequence[Any]) -> Family:
    """The family from its fields (:data:`FIELDS`' order)."""
    subject, claims, created, used, generation, current, previous, spent_at, sealed, access, revoked = map(
        _text, values
    )
    if subject is None or created is None or used is None or current is None:
        raise ValueError(f"the Redis hash of family {family_id!r} is not one this store wrote")
    return Family(
        id=family_id,
        subject=subject,
        claims=json.loads(claims) if claims else {},
        created_at=float(created),
        last_used_at=float(used),
        generation=int(generation or 0),
        current=current,
        previous=previous,
        spent_at=_optional(spent_at),
        sealed=sealed,
        access=_entries(access),
        revoked_at=_optional(revoked),
    )


class RedisRefreshStore(RedisConnection):
    """Refresh-token families in Redis (``redis.Redis`` or ``RedisCluster``, or a URL): one script per operation.

    Args:
        client: A sync redis-py client, or a URL (``redis://``, ``rediss://``, ``unix://``).
        prefix: Prepended to every key.
        timeout: The longest each wait on Redis lasts, in seconds.

    A failure raises :class:`~backendkit.stores.StoreUnavailable`, which the issuer
    answers with a 503 (a rotation cannot be skipped). :meth:`close` closes the
    connections the store opened; a client given as it is stays yours.

    Example:
        >>> store = RedisRefreshStore.from_url("redis://localhost:6379/0", prefix="app:refresh:")
        >>> store.family_key("0123456789abcdefABCDEF")
        'app:refresh:{0123456789abcdefABCDEF}'
        >>> store.close()
    """

    store_name = "the Redis refresh-token store"  # in the issuer's outage log lines

    def __init__(self, client: Any, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix is a string, not {prefix!r}")
        self.prefix = prefix
        super().__init__(client, timeout=timeout)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisRefreshStore:
        """A store with clients of its own for ``url``; ``options`` are the constructor's (``prefix``, ``timeout``)."""
        return cls(checked_url(url), **options)

    def family_key(self, family_id: str) -> str:
        """The key of a family's hash: the id is its hash tag (one Cluster slot for all of the family)."""
        return f"{self.prefix}{{{family_id}}}"

    def subject_key(self, subject: str) -> str:
        """The key of a subject's index of families: 32 hex digits of its SHA-256, whatever the subject."""
        digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:_SUBJECT_DIGITS]
        return f"{self.prefix}subject:{{{digest}}}"

    def _run(self, name: str, key: str, *args: Any) -> Any:
        # Every script is safe to send twice (see the module's notes), so a stale connection is retried once.
        return self.call("EVALSHA", _SCRIPTS[name].sha, 1, key, *args, script=_SCRIPTS[name], repeatable=True)

    def create(self, family: Family, policy: RefreshPolicy) -> None:
        """Keep a new family: its subject's index first, then the family (two round trips, a login's)."""
        ends = family.created_at + policy.lifetime
        ttl_ms = max(1, math.ceil(policy.lifetime * 1000))
        self._run("index", self.subject_key(family.subject), family.id, _time(ends), _time(family.created_at), ttl_ms)
        state = {
            "subject": family.subject,
            "claims": json.dumps(dict(family.claims), separators=(",", ":"), ensure_ascii=False),
            "created_at": _time(family.created_at),
            "last_used_at": _time(family.last_used_at),
            "generation": str(family.generation),
            "current": family.current,
            "access": json.dumps([list(entry) for entry in family.access], separators=(",", ":")),
        }
        for name, value in (("previous", family.previous), ("sealed", family.sealed)):
            if value is not None:
                state[name] = value
        for name, time in (("spent_at", family.spent_at), ("revoked_at", family.revoked_at)):
            if time is not None:
                state[name] = _time(time)
        pairs = [part for item in state.items() for part in item]
        if not self._run("create", self.family_key(family.id), ttl_ms, family.current, *pairs):
            raise ValueError(f"family {family.id!r} exists")

    def rotate(self, family_id: str, presented: str, rotation: Rotation, now: float, policy: RefreshPolicy) -> Outcome:
        """:func:`~backendkit.auth._core.refresh.decide` in one script: one round trip."""
        jti, issued_at, expires_at = rotation.access
        reply = self._run(
            "rotate",
            self.family_key(family_id),
            presented,
            rotation.digest,
            rotation.sealed,
            jti,
            int(issued_at),
            int(expires_at),
            _time(now),
            _time(policy.idle),
            _time(policy.lifetime),
            _time(policy.reuse_window),
            MAX_ACCESS,
        )
        kind = cast(Kind, _text(reply[0]))
        if kind == "unknown":
            return Outcome("unknown")
        return Outcome(kind, _family(family_id, reply[3:]), spent=_text(reply[1]), evicted=_entries(_text(reply[2])))

    def revoke(self, family_id: str, now: float, policy: RefreshPolicy) -> Family | None:
        """Revoke the family (a logout) in one script; the family as it is now, or ``None`` when unknown."""
        reply = self._run("revoke", self.family_key(family_id), _time(now))
        return _family(family_id, reply) if reply else None

    def families(self, subject: str) -> list[str]:
        """The ids in ``subject``'s index (families ended by the last login are gone from it): one ``ZRANGE``."""
        return [str(_text(member)) for member in self.call("ZRANGE", self.subject_key(subject), 0, -1, repeatable=True)]

    def get(self, family_id: str) -> Family | None:
        """The family as kept, or ``None`` (for a list of a user's sessions, and for tests): one ``HMGET``."""
        values = self.call("HMGET", self.family_key(family_id), *FIELDS, repeatable=True)
        return _family(family_id, values) if values[0] is not None else None


__all__ = ["DEFAULT_PREFIX", "FIELDS", "RedisRefreshStore"]
