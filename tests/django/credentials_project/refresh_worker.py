"""One process of the concurrent-refresh test: it refreshes each token it reads and prints what it got.

Run with the project's settings on the test session's PostgreSQL schema; ``BK_JWT_SECRET`` and
``BK_PEPPER`` are the issuer's, the same as the test's own. It says ``ready`` once its database
connection is open, then answers each line of standard input with one JSON line.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    from backendkit.auth import HMACKey, InvalidGrant, TokenIssuer
    from backendkit.django.credentials import DjangoRefreshStore

    issuer = TokenIssuer(
        HMACKey(os.environ["BK_JWT_SECRET"]), refresh_store=DjangoRefreshStore(), pepper=os.environ["BK_PEPPER"]
    )
    connection.ensure_connection()
    print("ready", flush=True)
    for line in sys.stdin:
        try:
            pair = issuer.refresh(line.strip())
        except InvalidGrant as exc:
            answer = {"error": exc.reason}
        else:
            answer = {"access": pair.access_token, "refresh": pair.refresh_token}
        print(json.dumps(answer), flush=True)
    connection.close()


if __name__ == "__main__":
    main()
