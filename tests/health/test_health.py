"""The Health object: concurrent checks cut at their timeouts, fixed outputs, caching, startup and draining."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from backendkit.errors import ConfigurationError
from backendkit.health import RAISED, STILL_RUNNING, TIMED_OUT, Health, Result


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _statuses(report: Any) -> dict[str, tuple[str, str | None]]:
    return {o.check.name: (o.result.status, o.result.output) for o in report.outcomes}


def test_sync_checks_run_concurrently_and_a_slow_one_is_cut_at_its_timeout() -> None:
    release = threading.Event()
    health = Health()
    health.add("fast:a", lambda: None)
    health.add("fast:b", lambda: Result.ok(1.5, "ms"))
    health.add("slow:c", lambda: release.wait(5), timeout=0.2)
    started = time.perf_counter()
    report = health.ready()
    took = time.perf_counter() - started
    release.set()
    # Cut at its timeout, not after the 5 s it would have taken (bounds a busy machine cannot miss).
    assert 0.15 < took < 3.0
    assert report.status == "fail"
    assert report.http_status == 503
    assert _statuses(report) == {"fast:a": ("pass", None), "fast:b": ("pass", None), "slow:c": ("fail", TIMED_OUT)}


def test_async_checks_are_cut_on_the_event_loop() -> None:
    async def hangs() -> None:
        await asyncio.sleep(5)

    unblock = threading.Event()

    def blocks() -> None:
        unblock.wait(5)

    health = Health()
    health.add("loop:hang", hangs, timeout=0.2)
    health.add("thread:block", blocks, timeout=0.2)
    health.add("loop:ok", lambda: True)

    async def main() -> Any:
        started = time.perf_counter()
        report = await health.aready()
        return report, time.perf_counter() - started

    report, took = asyncio.run(main())
    unblock.set()
    assert took < 3.0  # cut at 0.2 s, not after the 5 s either check would have taken
    assert _statuses(report)["loop:hang"] == ("fail", TIMED_OUT)
    assert _statuses(report)["thread:block"] == ("fail", TIMED_OUT)
    assert _statuses(report)["loop:ok"] == ("pass", None)


def test_an_exception_is_logged_but_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    secret = "postgresql://admin:hunter2@db.internal/prod"

    def broken() -> None:
        raise ConnectionError(f"could not connect to {secret}")

    health = Health()
    health.add("postgres:connections", broken)
    report = health.ready()
    assert _statuses(report) == {"postgres:connections": ("fail", RAISED)}
    assert secret not in repr(report.body(verbose=True))
    assert next(r.exc_info[1] for r in caplog.records if r.name == "backendkit.health").args[0].endswith(secret)  # type: ignore[index,union-attr]


def test_a_non_critical_failure_makes_the_report_warn() -> None:
    health = Health()
    health.add("search:responseTime", lambda: False, critical=False)
    health.add("db:responseTime", lambda: True)
    report = health.ready()
    assert (report.status, report.http_status) == ("warn", 200)
    assert report.body(verbose=True)["checks"]["search:responseTime"][0]["critical"] is False


def test_the_report_is_cached_for_the_interval() -> None:
    clock, calls = Clock(), []
    health = Health(interval=2.0, clock=clock)
    health.add("db:ping", lambda: calls.append(1))
    for _ in range(5):
        health.ready()
    assert len(calls) == 1
    clock.now += 2.0
    health.ready()
    assert len(calls) == 2


def test_concurrent_probes_share_one_run_sync_and_async() -> None:
    calls: list[int] = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.1)

    health = Health(interval=60)
    health.add("db:ping", slow)
    threads = [threading.Thread(target=health.ready) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1

    async def aslow() -> None:
        calls.append(2)
        await asyncio.sleep(0.1)

    other = Health(interval=60)
    other.add("db:ping", aslow)

    async def flood() -> set[str]:
        reports = await asyncio.gather(*(other.aready() for _ in range(1000)))
        return {r.status for r in reports}

    assert asyncio.run(flood()) == {"pass"}
    assert calls.count(2) == 1


def test_a_check_still_running_from_an_earlier_run_is_not_started_again() -> None:
    release, calls = threading.Event(), []

    def hangs() -> None:
        calls.append(1)
        release.wait(5)

    health = Health(interval=0)
    health.add("db:ping", hangs, timeout=0.1)
    assert _statuses(health.ready()) == {"db:ping": ("fail", TIMED_OUT)}
    assert _statuses(health.ready()) == {"db:ping": ("fail", STILL_RUNNING)}
    assert len(calls) == 1  # one thread held, not one per probe
    release.set()
    time.sleep(0.05)
    assert _statuses(health.ready()) == {"db:ping": ("pass", None)}


def test_readiness_waits_for_startup_checks_then_stops_running_them() -> None:
    warmed, calls = [False], []

    def warm() -> bool:
        calls.append(1)
        return warmed[0]

    health = Health(interval=0)
    health.add("cache:warm", warm, startup=True)
    assert health.startup().http_status == 503
    report = health.ready()
    assert report.http_status == 503
    assert "startup" in report.body(verbose=True)["notes"][0]
    warmed[0] = True
    assert health.ready().http_status == 200
    assert health.startup().http_status == 200
    health.ready()
    assert len(calls) == 3  # /startupz ran it, then /readyz twice; passed once: not run again


def test_draining_fails_readiness_and_not_liveness() -> None:
    health = Health()
    health.add("db:ping", lambda: True)
    assert health.ready().http_status == 200
    health.drain()
    assert health.ready().http_status == 503
    assert health.live().http_status == 200
    assert asyncio.run(health.aready()).http_status == 503


def test_an_async_check_from_sync_code_runs_on_one_background_loop() -> None:
    loops: set[int] = set()

    async def on_loop() -> Result:
        loops.add(id(asyncio.get_running_loop()))
        return Result.ok()

    health = Health(interval=0)
    health.add("db:ping", on_loop)
    for _ in range(3):
        assert health.ready().status == "pass"
    assert len(loops) == 1  # no event loop per request


def test_the_report_is_health_json() -> None:
    health = Health(wall_clock=lambda: 0.0)
    health.add("redis:responseTime", lambda: Result.ok(0.42, "ms"), component_type="datastore", component_id="r1")
    report = health.ready()
    assert report.body(verbose=False) == {"status": "pass"}
    assert report.body(verbose=True) == {
        "status": "pass",
        "checks": {
            "redis:responseTime": [
                {
                    "status": "pass",
                    "time": "1970-01-01T00:00:00.000Z",
                    "componentId": "r1",
                    "componentType": "datastore",
                    "observedValue": 0.42,
                    "observedUnit": "ms",
                }
            ]
        },
    }


def test_configuration_errors() -> None:
    health = Health()
    with pytest.raises(ConfigurationError):
        health.add("bad name with spaces", lambda: True)
    with pytest.raises(ConfigurationError):
        health.add("db:ping", lambda: True, timeout=0)
    health.add("db:ping", lambda: True)
    with pytest.raises(ConfigurationError):
        health.add("db:ping", lambda: True)
    with pytest.raises(ConfigurationError):
        Health(deadline=0)


def test_a_signal_drains_then_reaches_the_handler_installed_before() -> None:
    import signal

    seen: list[int] = []
    original = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        health = Health()
        assert health.drain_on_signals([signal.SIGUSR1])
        assert not health.draining
        signal.raise_signal(signal.SIGUSR1)
        assert health.draining
        assert seen == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, original)


def test_signals_are_not_hooked_off_the_main_thread() -> None:
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(Health().drain_on_signals()))
    thread.start()
    thread.join()
    assert answers == [False]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_raising_check_is_logged_with_the_callers_request_id(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    import json

    from backendkit.context import request_id_var
    from backendkit.logging import JSONFormatter

    def broken() -> None:
        raise RuntimeError("down")

    async def abroken() -> None:
        raise RuntimeError("down")

    health = Health()
    health.add("db:ping", broken if kind == "sync" else abroken)
    caplog.handler.setFormatter(JSONFormatter())
    token = request_id_var.set("probe-1234")
    try:
        with caplog.at_level("ERROR", logger="backendkit.health"):
            assert health.ready().status == "fail"  # from sync code: the pool, or the background loop
    finally:
        request_id_var.reset(token)
    [line] = [json.loads(text) for text in caplog.text.splitlines()]
    assert line["request_id"] == "probe-1234"


def test_the_startup_probe_runs_the_startup_checks_itself() -> None:
    calls: list[int] = []
    health = Health(interval=0)
    health.add("cache:warm", lambda: calls.append(1) or Result.warn("warm, slowly"), startup=True)
    assert health.startup().http_status == 200  # without any /readyz: a warning counts as started
    assert asyncio.run(health.astartup()).http_status == 200
    assert len(calls) == 1


def test_an_unusable_result_is_a_failure_not_a_500() -> None:
    health = Health(interval=0)
    health.add("a:alias", lambda: Result("up"))  # type: ignore[arg-type]
    health.add("b:nan", lambda: Result.ok(float("nan")))
    health.add("c:object", lambda: Result.ok(object()))  # type: ignore[arg-type]
    report = health.ready()
    assert _statuses(report) == {"a:alias": ("pass", None), "b:nan": ("fail", RAISED), "c:object": ("fail", RAISED)}
    assert report.http_status == 503


def test_sync_and_async_probes_from_many_threads_and_loops_share_one_run() -> None:
    # Django under WSGI or ASGI mixes sync views (threads) and async views (a loop per
    # thread with async_to_sync): a second run meeting the first's checks would read
    # "still running" and answer a false 503.
    calls: list[str] = []

    def slow() -> None:
        calls.append("sync")
        time.sleep(0.2)

    async def aslow() -> None:
        calls.append("async")
        await asyncio.sleep(0.2)

    health = Health(interval=60)
    health.add("db:ping", slow)
    health.add("cache:ping", aslow)
    reports: list[Any] = []
    lock = threading.Lock()

    def sync_probe() -> None:
        report = health.ready()
        with lock:
            reports.append(report)

    def async_probe() -> None:
        report = asyncio.run(health.aready())
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=sync_probe if i % 2 else async_probe) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 20
    assert {r.status for r in reports} == {"pass"}
    assert sorted(calls) == ["async", "sync"]


def test_a_run_abandoned_with_its_loop_does_not_hold_later_probes() -> None:
    clock = Clock()
    health = Health(interval=0, deadline=1, clock=clock)
    gate = threading.Event()

    async def waits() -> None:
        while not gate.is_set():
            await asyncio.sleep(0.01)

    health.add("db:ping", waits, timeout=0.9)
    loop = asyncio.new_event_loop()
    probe = loop.create_task(health.aready())
    loop.run_until_complete(asyncio.sleep(0.05))  # the run is in flight on this loop...
    gate.set()  # ...which stops running (its thread gave it up) without finishing it
    assert not probe.done()
    clock.now += 2  # past the deadline and the grace: the run is stale
    assert health.ready().status == "pass"
    loop.run_until_complete(probe)  # (the loop's task ends, for a clean close)
    loop.close()


@pytest.mark.parametrize("kind", ["lambda", "partial"])
def test_a_plain_callable_returning_a_coroutine_is_awaited(kind: str) -> None:
    import functools

    async def measure(value: float) -> Result:
        await asyncio.sleep(0)
        return Result.warn("slow", value, "ms")

    check = (lambda: measure(7.0)) if kind == "lambda" else functools.partial(measure, 7.0)
    for run in ("sync", "async", "sync"):
        health = Health(interval=0)
        health.add("db:responseTime", check)
        report = health.ready() if run == "sync" else asyncio.run(health.aready())
        (outcome,) = report.outcomes
        assert (outcome.result.status, outcome.result.observed_value, outcome.result.output) == ("warn", 7.0, "slow")


def test_the_thread_pool_grows_with_checks_added_after_a_first_run() -> None:
    health = Health(interval=0, deadline=3)
    health.add("a:ping", lambda: True)
    assert health.ready().status == "pass"  # the pool exists now, sized for one check
    barrier = threading.Barrier(5, timeout=2)  # breaks unless all five checks run at once
    for name in "bcdef":
        health.add(f"{name}:ping", lambda: barrier.wait() >= 0, timeout=2.5)
    report = health.ready()
    assert _statuses(report) == {f"{n}:ping": ("pass", None) for n in "abcdef"}


def test_a_startup_check_must_be_critical() -> None:
    with pytest.raises(ConfigurationError, match="critical"):
        Health().add("migrations:applied", lambda: True, startup=True, critical=False)


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("verbose", True),
        ("verbose=1", True),
        ("verbose=true", True),
        ("verbose=YES", True),
        ("verbose=on", True),
        ("a=1&verbose", True),
        ("verbose=off", False),
        ("verbose=false", False),
        ("verbose=0", False),
        ("verbose=no", False),
        ("verbose=maybe", False),
        ("verbose=1&verbose=off", False),  # the last one counts
        ("verbosely=1", False),
        ("", False),
    ],
)
def test_only_a_clear_yes_asks_for_details(query: str, shown: bool) -> None:
    health = Health(verbose_query=True)
    health.add("db:ping", lambda: True)
    _, _, body = health.response(health.ready(), query)
    assert (b'"checks"' in body) is shown
    _, _, hidden = Health(verbose_query=False).response(health.ready(), query)
    assert b'"checks"' not in hidden
