"""Idempotency keys: a retried POST runs once, and its retries get the first answer again.

The ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header-07, and
Stripe's bare form) names a request; the first one with a key runs, its response is
kept, and a retry with the same key and the same request gets that response again,
with ``Idempotent-Replayed: true``. See docs/idempotency.md.
"""

from backendkit.idempotency._core.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    IdempotencyKeyMissing,
)
from backendkit.idempotency._core.fingerprint import fingerprint, form_body, media_type, storage_key
from backendkit.idempotency._core.key import HEADER, MAX_LENGTH, parse_key
from backendkit.idempotency._core.policy import UNSTORED_STATUSES, principal_scope, storable
from backendkit.idempotency._core.record import StoredResponse, decode_record, kept_headers, record_value
from backendkit.idempotency._core.store import AsyncIdempotencyStore, IdempotencyStore, StoreUnavailable
from backendkit.idempotency._idempotency import (
    DEFAULT_PREFIX,
    REPLAYED,
    Attempt,
    Idempotency,
    KeyedRequest,
    OnError,
    Replay,
)
from backendkit.idempotency._stores.memory import MemoryStore

__all__ = [
    "DEFAULT_PREFIX",
    "HEADER",
    "MAX_LENGTH",
    "REPLAYED",
    "UNSTORED_STATUSES",
    "AsyncIdempotencyStore",
    "Attempt",
    "Idempotency",
    "IdempotencyKeyInUse",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyMismatch",
    "IdempotencyKeyMissing",
    "IdempotencyStore",
    "KeyedRequest",
    "MemoryStore",
    "OnError",
    "Replay",
    "StoreUnavailable",
    "StoredResponse",
    "decode_record",
    "fingerprint",
    "form_body",
    "kept_headers",
    "media_type",
    "parse_key",
    "principal_scope",
    "record_value",
    "storable",
    "storage_key",
]
