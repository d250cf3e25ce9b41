"""What a request with a key gets, and which responses are kept for its retries. Pure.

Stored (replayed to a retry): every 2xx and 3xx, and the 4xx a handler answers
(404, 409, 410...). Not stored, so that the same key can be sent again:

- refusals of the request itself, before any handler acted on it: 400, 401, 403,
  405, 408, 413, 415, 422 and 429. A client that fixes its body and retries with
  the same key must not be told the key belongs to the broken request (the draft
  and Stripe agree: validation failures are not saved);
- 5xx, unless ``store_server_errors``: a failure is most often transient (a
  dependency down, a rolled-back transaction), and a retry should run again. A
  handler with side effects that survive its own failure should turn this on;
- a response larger than ``max_size``, and a streamed one.

An unstored answer releases the key: the next request with it runs the handler.
"""

from __future__ import annotations

from backendkit.idempotency._core.errors import IdempotencyKeyInUse, IdempotencyKeyMismatch
from backendkit.idempotency._core.record import StoredResponse, decode_record, fingerprint_of, is_lock

UNSTORED_STATUSES = frozenset((400, 401, 403, 405, 408, 413, 415, 422, 429))
RETRY_AFTER = "1"  # seconds: most first requests finish well within one


def storable(
    status: int,
    size: int | None,
    *,
    max_size: int,
    store_server_errors: bool = False,
    unstored: frozenset[int] = UNSTORED_STATUSES,
) -> bool:
    """Whether a response is kept for the retries; ``size`` ``None`` is a streamed body (never kept)."""
    if size is None or size > max_size or status in unstored:
        return False
    return status < 500 or store_server_errors


def found(value: bytes | None, fingerprint: str) -> StoredResponse | None:
    """What the store's answer means: ``None``, the lock is ours (run the handler), or the response to replay.

    Raises:
        IdempotencyKeyMismatch: the key belongs to a request with another fingerprint.
        IdempotencyKeyInUse: the key's first request is still running.
    """
    if value is None:
        return None
    if fingerprint_of(value) != fingerprint:
        raise IdempotencyKeyMismatch()
    if is_lock(value):
        raise IdempotencyKeyInUse(headers={"Retry-After": RETRY_AFTER})
    return decode_record(value)


def principal_scope(user_id: str | None, api_key: str | None, client: str | None) -> str:
    """Whose keys these are: the authenticated user, else the API key's holder, else the client's address."""
    if user_id:
        return f"user:{user_id}"
    if api_key:
        return f"api-key:{api_key}"  # (hashed into the storage key with the rest: never stored as it is)
    return f"client:{client or ''}"


__all__ = ["RETRY_AFTER", "UNSTORED_STATUSES", "found", "principal_scope", "storable"]
