"""wrk for stack_bench.py: the Lua scripts of its routes, one run, and what wrk printed, parsed."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# A fresh Idempotency-Key on every request: a prefix of the run's own, then a counter (wrk -t1: one Lua state).
NEW_KEY = """
wrk.method = "POST"
wrk.body = '{"title":"write the report","priority":3}'
wrk.headers["Content-Type"] = "application/json"
local prefix, counter = "k", 0
function init(args) prefix = args[1] or "k" end
function request()
  counter = counter + 1
  return wrk.format(nil, nil, {["Content-Type"] = "application/json", ["Host"] = wrk.headers["Host"],
                               ["Idempotency-Key"] = prefix .. "-" .. counter}, nil)
end
"""
# The same key every time: after the first request, every answer is a replay.
REPLAY = """
wrk.method = "POST"
wrk.body = '{"title":"write the report","priority":3}'
wrk.headers["Content-Type"] = "application/json"
function init(args) wrk.headers["Idempotency-Key"] = "replay-" .. (args[1] or "k") end
"""
# The bearer token on every request.
BEARER = """
function init(args) wrk.headers["Authorization"] = "Bearer " .. args[1] end
"""


@dataclass(frozen=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers, socket errors and timeouts


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse(out: str) -> Result:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(found.group(1))
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(n) for n in found.groups())
    return Result(rate, p50, p99, errors)


class Wrk:
    """Runs ``wrk -t1 -c<connections> -d<seconds>s --latency`` with a route's script and arguments."""

    def __init__(self, binary: str, connections: int) -> None:
        self.binary = binary
        self.connections = connections
        self._dir = tempfile.TemporaryDirectory(prefix="stack-bench-")
        self.scripts = {}
        for name, text in (("new_key", NEW_KEY), ("replay", REPLAY), ("bearer", BEARER)):
            path = Path(self._dir.name) / f"{name}.lua"
            path.write_text(text, encoding="utf-8")
            self.scripts[name] = str(path)

    def run(self, url: str, seconds: float, script: str | None = None, args: tuple[str, ...] = ()) -> Result:
        command = [self.binary, "-t1", f"-c{self.connections}", f"-d{max(1, round(seconds))}s", "--latency"]
        if script is not None:
            command += ["-s", self.scripts[script]]
        command.append(url)
        if args:
            command += ["--", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
        return parse(done.stdout)

    def close(self) -> None:
        self._dir.cleanup()
