"""The rate limit every example puts on ``GET /limited``: five a minute per client address.

The client address is the one every piece uses, decided by the app's ``trusted_proxies``
setting (``examples/_proxies.py``): behind a proxy on this host, the client it forwards.
"""

from __future__ import annotations

from backendkit.ratelimit import Limit, SlidingWindow, by_ip


def limited() -> Limit:
    """A new limit (with its own memory store): ``5/minute`` per client, as a sliding window."""
    return Limit(SlidingWindow("5/minute"), key=by_ip())
