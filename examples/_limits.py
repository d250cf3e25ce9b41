"""The rate limit every example puts on ``GET /limited``: five a minute per client address.

The examples expect to run behind a reverse proxy on the same host, so the
loopback addresses are trusted proxies and the client is read from
``X-Forwarded-For`` (a client's own ``Forwarded`` is ignored); a request from anywhere else is keyed by its
own address, whatever it writes in those headers.
"""

from __future__ import annotations

from backendkit.ratelimit import Limit, SlidingWindow, by_ip

TRUSTED_PROXIES = ("127.0.0.0/8", "::1")


def limited() -> Limit:
    """A new limit (with its own memory store): ``5/minute`` per client, as a sliding window."""
    return Limit(SlidingWindow("5/minute"), key=by_ip(TRUSTED_PROXIES))
