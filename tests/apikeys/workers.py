"""A worker process of its own, serving API key commands over a pipe (for tests/apikeys/test_processes.py).

Each worker keeps one manager and one verifier for its whole life, as a server
process does: its verifier's cache is what the cross-process test is about.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from typing import Any

from backendkit.apikeys import APIKeys
from backendkit.apikeys.redis import RedisKeyStore
from backendkit.auth import InvalidToken


def serve(url: str, prefix: str, cache_ttl: float, conn: Connection) -> None:
    """Answer ``(command, argument)`` messages until ``("stop", None)``."""
    store = RedisKeyStore.from_url(url, prefix=prefix)
    keys = APIKeys(store, prefix="bk_test_")
    verifier = keys.verifier(cache_ttl=cache_ttl)  # sees this process's revocations at once, others' within the ttl
    try:
        while True:
            command, argument = conn.recv()
            if command == "stop":
                break
            answer: Any
            if command == "create":
                made = keys.create(argument, roles=["viewer"])
                answer = (made.key, made.record.id)
            elif command == "revoke":
                answer = (keys.revoke(argument), time.time())
            elif command == "verify":
                answer = _verify(verifier, argument)
            else:  # "watch": verify every 10 ms until refused (10 s at most); each result and its time
                results = []
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    results.append((time.time(), _verify(verifier, argument)))
                    if results[-1][1][0] == "refused":
                        break
                    time.sleep(0.01)
                answer = results
            conn.send(answer)
    finally:
        store.close()


def _verify(verifier: Any, key: str) -> tuple[str, str]:
    try:
        return "ok", verifier.verify(key).subject
    except InvalidToken as exc:
        return "refused", exc.reason
