"""The loops that time the contenders, and what is read from their samples: medians, bests, ratios, differences.

A sample is one timing of one contender; ``Samples`` maps each contender to its samples, one per round, so
that two contenders' samples of the same round can be compared side by side.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

Samples = dict[str, list[float]]
Runner = Callable[[int], None]  # runs its contender n times


def repeated(run: Callable[[], object]) -> Runner:
    """A runner of ``run``, a call with no argument."""

    def run_n(n: int) -> None:
        for _ in range(n):
            run()

    return run_n


def awaited(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]], times: int) -> Callable[[], None]:
    """A call that awaits ``call()`` ``times`` times in a row in one ``run_until_complete``: the loop's cost spread."""

    async def many() -> None:
        for _ in range(times):
            await call()

    return lambda: loop.run_until_complete(many())


def measure_ns(
    runners: Mapping[str, Runner],
    rounds: int,
    sample_s: float,
    *,
    least: int,
    warmup: int,
    most: int | None = None,
    rotate: bool = True,
) -> Samples:
    """Nanoseconds per run: each runner once per round, repeated to fill a sample of about ``sample_s`` seconds.

    Each runner is first run ``warmup`` times (caches, the first call's imports, thread pools,
    connections), then timed over as many runs to choose its repetitions: at least ``least``, at most
    ``most``. With ``rotate``, the order of the runners turns by one each round.
    """
    reps: dict[str, int] = {}
    for name, run in runners.items():
        probe = max(1, warmup)
        run(probe)
        start = time.perf_counter()
        run(probe)
        reps[name] = max(least, int(sample_s / max((time.perf_counter() - start) / probe, 1e-7)))
        if most is not None:
            reps[name] = min(most, reps[name])
    names = list(runners)
    samples: Samples = {name: [] for name in names}
    for index in range(rounds):
        turn = index % len(names) if rotate else 0
        for name in names[turn:] + names[:turn]:
            run, n = runners[name], reps[name]
            start = time.perf_counter_ns()
            run(n)
            samples[name].append((time.perf_counter_ns() - start) / n)
    return samples


def measure_us(runners: Mapping[str, Runner], rounds: int, sample_s: float, *, least: int, warmup: int) -> Samples:
    """``measure_ns`` in microseconds per run."""
    return scaled(measure_ns(runners, rounds, sample_s, least=least, warmup=warmup), 1000)


def measure_fixed(runners: Mapping[str, Runner], n: int, rounds: int, *, warmup: int) -> Samples:
    """Microseconds per run: each runner ``warmup`` times first, then ``n`` times a round, in turn."""
    for run in runners.values():
        run(warmup)
    samples: Samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter_ns()
            run(n)
            samples[name].append((time.perf_counter_ns() - start) / n / 1000)
    return samples


def scaled(samples: Samples, divisor: float) -> Samples:
    """Every sample divided by ``divisor`` (another unit, or runners that do ``divisor`` operations a run)."""
    return {name: [value / divisor for value in values] for name, values in samples.items()}


def best(samples: Samples, name: str) -> float:
    return min(samples[name])


def median(samples: Samples, name: str) -> float:
    return statistics.median(samples[name])


def ratio(samples: Samples, peer: str, base: str) -> float:
    """The median over rounds of peer / base, each round's pair measured side by side (> 1: base is faster)."""
    return statistics.median(p / b for p, b in zip(samples[peer], samples[base], strict=True))


def ratio_of_bests(samples: Samples, num: str, den: str) -> tuple[float, float]:
    """best / best and median / median: the ratios of the benchmarks that judge on their best rounds."""
    return best(samples, num) / best(samples, den), median(samples, num) / median(samples, den)


def differences(samples: Samples, name: str, base: str) -> list[float]:
    """What ``name`` costs over ``base`` in each round, the two measured side by side."""
    return [n - b for n, b in zip(samples[name], samples[base], strict=True)]


def added(samples: Samples, name: str, base: str) -> float:
    """The median over rounds of what ``name`` costs over ``base`` in the same round."""
    return statistics.median(differences(samples, name, base))


def added_ratio(samples: Samples, peer: str, mine: str, base: str) -> float | None:
    """The median over rounds of (peer - base) / (mine - base); ``None`` unless both medians add something."""
    if added(samples, peer, base) <= 0 or added(samples, mine, base) <= 0:
        return None
    pairs = zip(samples[peer], samples[mine], samples[base], strict=True)
    return statistics.median((p - b) / (m - b) for p, m, b in pairs if m - b > 0)


def print_rows(
    samples: Samples,
    base: str | None = None,
    compare: Collection[str] | None = None,
    *,
    width: int = 58,
    digits: int = 2,
    indent: str = "  ",
    header: bool = True,
) -> None:
    """Median and best per runner; with ``base``, what each of ``compare`` (default: all others) adds to it.

    "added" is the median over rounds of the runner's time minus the base's in the same round.
    """
    if compare is None:
        compare = [name for name in samples if name != base]
    show = base is not None and bool(compare)
    if header:
        print(f"{indent}{'':<{width}}{'median':>9}{'best':>9}" + (f"{'added':>10}" if show else ""))
    for name, values in samples.items():
        extra = f"{added(samples, name, base):>+10.{digits}f}" if base is not None and name in compare else ""
        print(f"{indent}{name:<{width}}{statistics.median(values):>9.{digits}f}{min(values):>9.{digits}f}{extra}")
