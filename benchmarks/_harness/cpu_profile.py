"""Where a server's CPU goes under load: py-spy samples the process, and the samples are summed by component.

py-spy (``pip install py-spy``) samples the server from outside, so the server runs unchanged. Only samples
taken while a thread holds the GIL are kept (``--gil``): that is Python's CPU time, and a thread waiting on a
socket or a lock is not counted. The sampler does not pause the server (``--nonblocking``: pausing it 400 times a
second halved its throughput), so a sample's stack is now and then torn; and the server still runs slower while
sampled, so the microseconds are those of the sampled run (its requests/s is printed): read the shares.

Each sample is charged to the innermost frame that belongs to a component:

- ``backendkit.<piece>``: a file under ``src/backendkit/<piece>/`` (``backendkit`` for its top-level modules);
- a distribution's top-level package under ``site-packages`` (``fastapi``, ``starlette``, ``redis``, ...);
- ``app``: the benchmark's own routes (``benchmarks/``);
- ``logging``, ``json``, ``asyncio``, ``threading``, ``socket``, ``wsgiref``, ``concurrent``, ``http``,
  ``selectors``, ``queue``, ``ssl`` of the standard library: the work those do is theirs
  (the logger's records, handlers and lock are charged to ``logging``, not to the caller);
- any other standard-library frame (``typing``, ``re``, ``hmac``, ``base64``, ``contextlib``, ...) is a helper,
  charged to its caller.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]*):\d+\)$")
_OWN_STDLIB = frozenset(
    {
        "logging",
        "json",
        "asyncio",
        "threading",
        "socket",
        "wsgiref",
        "concurrent",
        "http",
        "selectors",
        "queue",
        "ssl",
        "socketserver",
    }
)
_STDLIB = str(Path(shutil.__file__).parent)


def available() -> str | None:
    """The py-spy executable beside this interpreter or on ``PATH``, or ``None``."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Sampler:
    """``py-spy record`` on a process and its children for ``seconds``, in py-spy's raw (collapsed) format."""

    def __init__(self, binary: str, pid: int, seconds: float, out: Path, rate: int = 250) -> None:
        self.rate = rate
        self.out = out
        command = [binary, "record", "--pid", str(pid), "--subprocesses", "--gil", "--nonblocking", "--full-filenames"]
        command += ["--rate", str(rate), "--duration", str(max(1, round(seconds))), "--format", "raw"]
        command += ["--output", str(out)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait(self) -> Counter[str]:
        """Samples by component, once py-spy has written them."""
        _, errors = self._process.communicate(timeout=120)
        if self._process.returncode != 0:
            raise RuntimeError(f"py-spy failed ({self._process.returncode}): {errors.strip()[-500:]}")
        return components(self.out.read_text(encoding="utf-8"))


def components(collapsed: str) -> Counter[str]:
    """Samples by component, from py-spy's collapsed stacks (``frame;frame;... count``, outermost first)."""
    found: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        found[component(stack.split(";"))] += int(count)
    return found


def component(frames: list[str]) -> str:
    """The component a stack's sample is charged to (see the module's docstring)."""
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        if match is None:
            continue  # py-spy's process and thread labels
        owner = _owner(match["path"])
        if owner is not None:
            return owner
    return "python (interpreter, server loop)"


def _owner(path: str) -> str | None:
    parts = Path(path).parts
    if "site-packages" in parts:
        after = parts[parts.index("site-packages") + 1 :]
        return _package(after[0]) if after else None
    if "backendkit" in parts and "src" in parts:
        after = parts[parts.index("backendkit") + 1 :]
        return "backendkit" if len(after) < 2 else f"backendkit.{after[0].lstrip('_')}"
    if "benchmarks" in parts:
        return "app"
    if path.startswith(_STDLIB):
        top = Path(path).relative_to(_STDLIB).parts[0].removesuffix(".py")
        return top if top in _OWN_STDLIB else None
    return None


def _package(name: str) -> str:
    return name.removesuffix(".py").split(".")[0]


def table(samples: dict[str, Counter[str]], requests: dict[str, float], rate: int, top: int = 12) -> list[str]:
    """CPU µs per request by component, one column per variant, the largest first (and the rest summed)."""
    per_request = {
        variant: {name: count / rate / max(requests[variant], 1) * 1e6 for name, count in found.items()}
        for variant, found in samples.items()
    }
    names = Counter[str]()
    for values in per_request.values():
        names.update(values)
    order = [name for name, _ in names.most_common()]
    shown, rest = order[:top], order[top:]
    variants = list(samples)
    totals = {v: sum(per_request[v].values()) or 1.0 for v in variants}

    def row(name: str, values: dict[str, float]) -> str:
        cells = "".join(f"{values[v]:10.1f} {values[v] / totals[v]:5.0%}" for v in variants)
        return f"    {name:<34}{cells}"

    lines = ["    " + f"{'CPU µs per request, share':<34}" + "".join(f"{v:>16}" for v in variants)]
    lines += [row(name, {v: per_request[v].get(name, 0.0) for v in variants}) for name in shown]
    if rest:
        lines.append(row("(the rest)", {v: sum(per_request[v].get(name, 0.0) for name in rest) for v in variants}))
    ours = [name for name in order if name.split(".")[0] == "backendkit"]
    if ours:  # backendkit's pieces together, shown or not
        lines.append(
            row("backendkit, all pieces", {v: sum(per_request[v].get(n, 0.0) for n in ours) for v in variants})
        )
    lines.append(row("total (GIL held)", totals))
    return lines
