"""Racing rotations of one API key, for the tests of every key store (memory, Redis, SQL, the Django ORM).

:class:`PausedRotation` is mixed in before a real store class: the first ``rotate``
sent to the store stops until the test lets it go. ``APIKeys.rotate`` has read the
key and found it neither rotated nor revoked by then, so :func:`rotate_past_the_check`
runs a whole second rotation in that gap (the interleaving that made two live
successors before a store's rotation was conditional), and :func:`revoke_past_the_check`
a revocation (the one that left a revoked key a live successor before the condition
also asked for the key unrevoked): forced rather than hoped for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from backendkit.apikeys import APIKeys, KeyRecord, NewKey, RotationRefused

WAIT = 30.0  # seconds a thread or the test waits at most for the other
_T = TypeVar("_T")


class PausedRotation:
    """The first ``rotate`` waits for :attr:`release` (after setting :attr:`reached`); the others go straight on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached = threading.Event()
        self.release = threading.Event()
        self._pause_taken = threading.Lock()
        self._paused = False

    def rotate(self, key_id: str, successor: KeyRecord, until: float) -> str | RotationRefused | None:
        with self._pause_taken:
            first, self._paused = not self._paused, True
        if first:
            self.reached.set()
            if not self.release.wait(WAIT):
                raise TimeoutError("the test never let the paused rotation go")
        answer: str | RotationRefused | None = super().rotate(key_id, successor, until)  # type: ignore[misc]
        return answer


def rotate_past_the_check(
    keys: APIKeys, key_id: str, *, in_thread_after: Callable[[], None] = lambda: None
) -> tuple[BaseException | NewKey, NewKey]:
    """Rotate ``key_id`` in a thread that stops past its checks, rotate it whole meanwhile, then let the first go.

    The answers of the paused rotation and of the whole one. ``keys.store`` is a :class:`PausedRotation`'s.
    """
    return past_the_check(keys, key_id, lambda: keys.rotate(key_id, grace=60), in_thread_after=in_thread_after)


def revoke_past_the_check(
    keys: APIKeys, key_id: str, *, in_thread_after: Callable[[], None] = lambda: None
) -> tuple[BaseException | NewKey, bool]:
    """Rotate ``key_id`` in a thread that stops past its checks, revoke it meanwhile, then let the rotation go.

    The answers of the paused rotation and of the revocation. ``keys.store`` is a :class:`PausedRotation`'s.
    """
    return past_the_check(keys, key_id, lambda: keys.revoke(key_id), in_thread_after=in_thread_after)


def past_the_check(
    keys: APIKeys, key_id: str, meanwhile: Callable[[], _T], *, in_thread_after: Callable[[], None] = lambda: None
) -> tuple[BaseException | NewKey, _T]:
    """Rotate ``key_id`` in a thread that stops past its checks, run ``meanwhile`` here, then let the rotation go.

    The answers of the paused rotation and of ``meanwhile``; ``in_thread_after`` runs last in the thread.
    """
    store: Any = keys.store
    assert isinstance(store, PausedRotation)
    outcome: list[BaseException | NewKey] = []

    def paused() -> None:
        try:
            outcome.append(keys.rotate(key_id, grace=60))
        except Exception as exc:  # the test looks at it
            outcome.append(exc)
        finally:
            in_thread_after()

    thread = threading.Thread(target=paused)
    thread.start()
    try:
        assert store.reached.wait(WAIT), "the rotation never reached the store"
        done = meanwhile()  # after the paused rotation read the key, and before the store's step
    finally:
        store.release.set()
        thread.join(WAIT)
    assert not thread.is_alive()
    return outcome[0], done


def at_once(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Each task in a thread of its own, released together by a barrier; each one's answer or exception."""
    start = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def run(i: int) -> None:
        try:
            start.wait(timeout=WAIT)
            results[i] = tasks[i]()
        except Exception as exc:  # reported by the test, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * WAIT)
    return results


def rotated_already(key_id: str, to: str) -> str:
    """What a rotation of ``key_id``, rotated already to ``to``, is refused with (the CLI prints it)."""
    return f"key {key_id} was rotated already (to {to}): rotate that one"


def ended(key_id: str, why: str) -> str:
    """What a rotation of ``key_id``, revoked or expired (``why``), is refused with (the CLI prints it)."""
    return f"key {key_id} is {why}: make a new one instead"
