"""Worker processes of their own for the cross-process tests.

:func:`serve` answers API key commands over a pipe (tests/apikeys/test_processes.py): each
worker keeps one manager and one verifier for its whole life, as a server process does, and
its verifier's cache is what that test is about. :func:`rotate_in_rounds` races the other
workers to rotate keys (tests/apikeys/test_rotation_race.py).
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from typing import Any

from backendkit.apikeys import APIKeys
from backendkit.apikeys.redis import RedisKeyStore
from backendkit.auth import InvalidToken

RACE_TIMEOUT = 5.0  # seconds each Redis wait of a racing worker lasts at most (the SQL store's default too)


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


def rotate_in_rounds(kind: str, url: str, options: dict[str, Any], ids: list[str], barrier: Any, results: Any) -> None:
    """Rotate each of ``ids`` in turn, each time released with the other workers by ``barrier``; put the answers.

    An answer is ``("ok", key, key_id)``, ``("refused", message, "")`` (a ``ValueError``: the key was
    rotated already), or ``("failed", error's class, message)``.
    """
    store: Any
    if kind == "redis":  # a generous wait: 4 processes on a loaded 2-core machine, not the request path's 0.25 s
        store = RedisKeyStore.from_url(url, timeout=RACE_TIMEOUT, **options)
    else:
        from backendkit.apikeys.sqlalchemy import SQLKeyStore

        store = SQLKeyStore.from_url(url, **options)
    keys = APIKeys(store, prefix="bk_test_")
    store.get("warm-up")  # connected before the race: the barrier releases rotations, not connects
    answers: list[tuple[str, str, str]] = []
    try:
        for key_id in ids:
            barrier.wait(timeout=120)
            try:
                made = keys.rotate(key_id, grace=60)
            except ValueError as exc:
                answers.append(("refused", str(exc), ""))
            except Exception as exc:  # a store's failure would show here, by name
                answers.append(("failed", type(exc).__name__, str(exc)))
            else:
                answers.append(("ok", made.key, made.record.id))
    finally:
        results.put(answers)
        store.close()


def _verify(verifier: Any, key: str) -> tuple[str, str]:
    try:
        return "ok", verifier.verify(key).subject
    except InvalidToken as exc:
        return "refused", exc.reason
