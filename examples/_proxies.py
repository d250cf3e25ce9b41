"""Who the client is, in every example: the ``trusted_proxies`` setting each app passes to backendkit.

The examples expect a reverse proxy on the same host: loopback addresses are
trusted proxies, and the client is read from the ``X-Forwarded-For`` they write
(a client's own ``Forwarded`` is never read). Set
``BACKENDKIT_EXAMPLE_TRUSTED_PROXIES`` to your proxies' networks, comma-separated,
or to nothing when no proxy stands in front: then the socket peer is the
client, whatever a request's headers say. Rate-limit keys, idempotency scopes
and the logs' ``client_ip`` all follow this one setting. The servers' own proxy
handling is off in the examples' ``__main__`` blocks, so nothing else trusts a
forwarding header.
"""

from __future__ import annotations

import os

LOOPBACK = "127.0.0.0/8,::1"


def trusted_proxies() -> str:
    """The networks of the proxies in front of the example, comma-separated (empty: none)."""
    return os.environ.get("BACKENDKIT_EXAMPLE_TRUSTED_PROXIES", LOOPBACK)
