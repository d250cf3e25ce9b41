"""The answers an idempotency key can get besides the handler's own: each an error in the envelope. Pure."""

from __future__ import annotations

from backendkit.errors import APIError, BadRequest, Conflict


class IdempotencyKeyMissing(BadRequest):
    """400: the route requires an ``Idempotency-Key`` and the request has none."""

    code = "IDEMPOTENCY_KEY_MISSING"
    message = "This request requires an Idempotency-Key header."


class IdempotencyKeyInvalid(BadRequest):
    """400: the ``Idempotency-Key`` is not one key of 1 to 255 safe characters."""

    code = "IDEMPOTENCY_KEY_INVALID"
    message = "The Idempotency-Key header must hold one key of 1 to 255 characters from A-Z a-z 0-9 - _ . ~ : + / =."


class IdempotencyKeyMismatch(APIError):
    """422: the key was used before with a different request (method, path, query, body or content type)."""

    status = 422
    code = "IDEMPOTENCY_KEY_MISMATCH"
    message = "This Idempotency-Key was used with a different request; use a new key for a new request."


class IdempotencyKeyInUse(Conflict):
    """409: the first request with this key is still being processed; retry after ``Retry-After`` seconds."""

    code = "IDEMPOTENCY_KEY_IN_USE"
    message = "A request with this Idempotency-Key is still being processed; retry later."


__all__ = ["IdempotencyKeyInUse", "IdempotencyKeyInvalid", "IdempotencyKeyMismatch", "IdempotencyKeyMissing"]
