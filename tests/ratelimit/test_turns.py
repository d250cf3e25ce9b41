"""The queue of an async store's checks on one loop: first come, first served, opened up by successes."""

from __future__ import annotations

import asyncio

import pytest

from backendkit.ratelimit import StoreError
from backendkit.stores.redis import _turns
from backendkit.stores.redis._turns import CheckQueue


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


def test_an_unreachable_store_fails_every_waiting_check_over_at_once_and_starts_small_again() -> None:
    async def main() -> list[object]:
        queue = CheckQueue(10, first=1)
        queue.in_flight = 5  # grown while Redis answered
        for _ in range(5):
            assert queue.take()
        waiting = [asyncio.create_task(queue.wait()) for _ in range(20)]
        await asyncio.sleep(0)
        queue.unreachable(ConnectionError("refused"))
        queue.done(succeeded=False)
        outcomes = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 1)
        assert queue.in_flight == 1
        return outcomes

    outcomes = asyncio.run(main())
    assert all(isinstance(o, StoreError) and "refused" in str(o) for o in outcomes)


def test_a_timeout_is_a_suspicion_that_a_later_check_confirms_or_clears() -> None:
    async def main() -> None:
        queue = CheckQueue(10, first=4)
        for _ in range(4):
            assert queue.take()  # four checks in flight since loop time 1.0
        waiting = [asyncio.create_task(queue.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        # The loop was blocked: all four time out together. Nobody waiting fails over;
        # one check at a time tries again.
        for _ in range(4):
            assert queue.timed_out(1.0, 1.3, TimeoutError("timeout"))  # they may try again
            queue.done(succeeded=False)
        await asyncio.sleep(0.01)
        assert [t.done() for t in waiting] == [True, False, False]
        assert (queue.running, queue.in_flight) == (1, 1)
        queue.done(succeeded=True)  # the retry went through: the suspicion is cleared, turns grow again
        await asyncio.sleep(0.01)
        assert all(t.done() and t.exception() is None for t in waiting)
        assert (queue.running, queue.in_flight) == (2, 2)
        queue.done(succeeded=True)
        queue.done(succeeded=True)
        assert queue.running == 0

        # Redis hangs: a check that started after the first timeout times out as well.
        queue.in_flight = 3
        for _ in range(3):
            assert queue.take()
        waiting = [asyncio.create_task(queue.wait()) for _ in range(5)]
        await asyncio.sleep(0)
        queue.timed_out(2.0, 2.25, TimeoutError("timeout"))
        queue.done(succeeded=False)
        queue.timed_out(2.0, 2.25, TimeoutError("timeout"))  # in flight at the same time: no confirmation
        queue.done(succeeded=False)
        await asyncio.sleep(0.01)
        assert sum(t.done() for t in waiting) == 0
        assert not queue.timed_out(2.3, 2.55, TimeoutError("timeout"))  # started after the suspicion: confirmed
        queue.done(succeeded=False)
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(o, StoreError) for o in outcomes)

    asyncio.run(main())


def test_a_queue_lets_at_least_one_check_through() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CheckQueue(0)
