"""What the benchmarks share: where they ran (the CPU, the packages' versions) and the rounds they measure in."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (or what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    """An installed package's version, or ``"not installed"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


Samples = dict[str, list[float]]
Runner = Callable[[int], None]  # runs its contender n times


def measure_ns(runners: Mapping[str, Runner], rounds: int, sample_s: float, *, least: int, warmup: int) -> Samples:
    """Nanoseconds per run: each runner once per round, the order rotating, repeated to fill a sample.

    Each runner is first run ``warmup`` times (caches, the first call's imports, thread pools,
    connections), then timed over as many runs to choose its repetitions: at least ``least``,
    about ``sample_s`` seconds a sample.
    """
    reps: dict[str, int] = {}
    for name, run in runners.items():
        probe = max(1, warmup)
        run(probe)
        start = time.perf_counter()
        run(probe)
        reps[name] = max(least, int(sample_s / max((time.perf_counter() - start) / probe, 1e-7)))
    names = list(runners)
    samples: Samples = {name: [] for name in names}
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            run, n = runners[name], reps[name]
            start = time.perf_counter_ns()
            run(n)
            samples[name].append((time.perf_counter_ns() - start) / n)
    return samples


def repeated(run: Callable[[], object]) -> Runner:
    """A runner of ``run``, a call with no argument."""

    def run_n(n: int) -> None:
        for _ in range(n):
            run()

    return run_n


def ratio(samples: Samples, peer: str, base: str) -> float:
    """The median over rounds of peer / base, each round's pair measured side by side (> 1: base is faster)."""
    return statistics.median(p / b for p, b in zip(samples[peer], samples[base], strict=True))
