"""The queue of an async store's checks on one loop: first come, first served, opened up by successes."""

from __future__ import annotations

import asyncio

import pytest

from backendkit.ratelimit import StoreError, _turns
from backendkit.ratelimit._turns import CheckQueue


def test_waiters_are_served_first_come_first_served_and_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_turns, "QUEUE_TIMEOUT", 0.05)

    async def main() -> list[str]:
        queue = CheckQueue(1, first=1)
        order: list[str] = []
        assert queue.take()
        assert not queue.take()

        async def check(name: str) -> None:
            await queue.wait()
            order.append(name)
            queue.done(succeeded=True)

        first, second = asyncio.create_task(check("first")), asyncio.create_task(check("second"))
        await asyncio.sleep(0)
        queue.done(succeeded=True)
        await asyncio.gather(first, second)
        assert (queue.running, queue.take()) == (0, True)
        with pytest.raises(StoreError, match="no turn free"):
            await queue.wait()  # nobody gives the turn back within QUEUE_TIMEOUT
        queue.done(succeeded=True)
        return order

    assert asyncio.run(main()) == ["first", "second"]


def test_no_turn_is_lost_to_a_cancelled_waiter() -> None:
    async def main() -> int:
        queue = CheckQueue(1, first=1)
        assert queue.take()
        gone = asyncio.create_task(queue.wait())
        await asyncio.sleep(0)
        gone.cancel()  # cancelled while waiting: it leaves the queue
        await asyncio.gather(gone, return_exceptions=True)
        leaving, staying = asyncio.create_task(queue.wait()), asyncio.create_task(queue.wait())
        await asyncio.sleep(0)
        queue.done(succeeded=True)  # to the first in the queue...
        leaving.cancel()  # ...cancelled before it could run
        [outcome] = await asyncio.gather(leaving, return_exceptions=True)
        if not isinstance(outcome, BaseException):
            queue.done(succeeded=True)  # 3.11's wait_for returns a result that came first: the check gives it back
        await asyncio.wait_for(staying, 1)  # either way, the next in the queue gets the turn
        queue.done(succeeded=True)
        return queue.running

    assert asyncio.run(main()) == 0


def test_a_cold_queue_opens_up_one_turn_per_success_while_others_wait() -> None:
    async def main() -> list[int]:
        queue = CheckQueue(10, first=2)
        seen: list[int] = []

        async def check() -> None:
            if not queue.take():
                await queue.wait()
            seen.append(queue.running)
            await asyncio.sleep(0.001)
            queue.done(succeeded=True)

        await asyncio.gather(*(check() for _ in range(60)))
        assert queue.in_flight == 10  # grown to the most, and no further
        return seen

    seen = asyncio.run(main())
    assert max(seen[:2]) <= 2  # the burst starts with two in flight, not sixty
    assert max(seen) == 10


def test_a_failure_fails_every_waiting_check_over_at_once_and_starts_small_again() -> None:
    async def main() -> list[object]:
        queue = CheckQueue(10, first=1)
        queue.in_flight = 5  # grown while Redis answered
        for _ in range(5):
            assert queue.take()
        waiting = [asyncio.create_task(queue.wait()) for _ in range(20)]
        await asyncio.sleep(0)
        queue.fail_waiting(ConnectionError("refused"))
        queue.done(succeeded=False)
        outcomes = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 1)
        assert queue.in_flight == 1
        return outcomes

    outcomes = asyncio.run(main())
    assert all(isinstance(o, StoreError) and "refused" in str(o) for o in outcomes)


def test_a_queue_lets_at_least_one_check_through() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CheckQueue(0)
