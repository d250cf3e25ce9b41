"""Where a benchmark ran (the CPU, the packages' versions, the load), its summary lines and its common switches."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version

# BACKENDKIT_BENCH_QUICK=1 makes every benchmark run as with --quick (the smoke test sets it).
QUICK_ENV = "BACKENDKIT_BENCH_QUICK"


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


class Run:
    """One benchmark run: the machine and versions printed first (and again at the end), the load, the time taken.

    ``versions`` is a dict: a benchmark may add what it learns on the way (a server's version).
    """

    def __init__(self, packages: Iterable[str]) -> None:
        self.started = time.perf_counter()
        self.machine = f"{cpu_model()}, {os.cpu_count()} cpu(s), {platform.machine()}, {platform.platform()}"
        self.versions = {"python": platform.python_version()} | {p: package_version(p) for p in packages}
        self.load_before = os.getloadavg()[0]

    def versions_line(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.versions.items())

    def header(self, *more: str) -> None:
        """The lines docs/benchmarks.md quotes: the machine, the versions, the load at the start; then ``more``."""
        print(f"machine: {self.machine}\nversions: {self.versions_line()}")
        for line in more:
            print(line)
        print(f"load average at the start: {self.load_before:.2f}\n")

    def footer(self) -> None:
        """The machine and versions again, under the summary, with the load and the time the run took."""
        load_after = os.getloadavg()[0]
        print(f"  machine: {self.machine}\n  versions: {self.versions_line()}")
        print(f"  load average: {self.load_before:.2f} at the start, {load_after:.2f} at the end", end="")
        busy = max(self.load_before, load_after) > 1.5  # a run is one busy cpu; more means others competed
        print(" (others were running: the medians are noisier than usual)" if busy else "")
        print(f"  total time: {time.perf_counter() - self.started:.0f} s")


class Summary:
    """The lines of the summary at the end: (label, figure, verdict); a verdict is PASS, MISS, ``unknown`` or none."""

    def __init__(self, unknown: str = "NOT RUN") -> None:
        self.unknown = unknown
        self.lines: list[tuple[str, str, str]] = []

    def note(self, label: str, figure: str) -> None:
        """A figure with no target."""
        self.lines.append((label, figure, ""))

    def judge(self, label: str, figure: str, ok: bool | None) -> None:
        """A figure and whether it met its target (``None``: not judged)."""
        self.lines.append((label, figure, self.unknown if ok is None else "PASS" if ok else "MISS"))

    def target(self, label: str, value: float | None, med: float | None, ok: bool | None, fmt: str = "{:.2f}x") -> None:
        """A target judged on ``value`` (the best rounds), the median's figure beside; ``None``: not run."""
        if value is None or ok is None:
            self.lines.append((label, "n/a", self.unknown))
            return
        shown = fmt.format(value) + (f" (median {fmt.format(med)})" if med is not None else "")
        self.judge(label, shown, ok)

    def print(self, title: str = "summary") -> None:
        print(title)
        width = max((len(label) for label, _, _ in self.lines), default=0) + 2
        figures = max((len(figure) for _, figure, _ in self.lines), default=0) + 2
        for label, figure, verdict in self.lines:
            print(f"  {label:<{width}}{figure:<{figures}}{verdict}".rstrip())


def parse(parser: argparse.ArgumentParser, quick: Mapping[str, object]) -> argparse.Namespace:
    """The arguments, with ``--quick`` added: a smoke run, the options set to ``quick`` (also if QUICK_ENV is set).

    A smoke run proves that every case runs and prints its figures; its figures mean nothing.
    """
    shown = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in quick.items())
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {shown} (or {QUICK_ENV}=1)")
    args = parser.parse_args()
    if args.quick or os.environ.get(QUICK_ENV, "") not in ("", "0"):
        args.quick = True
        for name, value in quick.items():
            setattr(args, name, value)
    return args


def add_only(parser: argparse.ArgumentParser, sections: Sequence[str]) -> None:
    parser.add_argument("--only", default=",".join(sections), help=f"sections to run, comma-separated: {sections}")


def only(parser: argparse.ArgumentParser, args: argparse.Namespace, sections: Sequence[str]) -> list[str]:
    """The sections ``--only`` names, in the order given; an unknown one is a usage error."""
    chosen = [section.strip() for section in args.only.split(",") if section.strip()]
    if unknown := set(chosen) - set(sections):
        parser.error(f"--only: unknown sections {sorted(unknown)}; choose among {', '.join(sections)}")
    return chosen
