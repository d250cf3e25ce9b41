"""Check results and the report they make, as ``application/health+json`` (draft-inadarei-api-health-check).

Pure: results in, a report out; the time is passed in. A check's ``output`` is what
the check itself chose to say; a check that raises or overruns its timeout gets a
fixed output here, so no exception text (a connection string, a password in a URL)
ever reaches a body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, cast

from backendkit.errors import ConfigurationError

Status = Literal["pass", "warn", "fail"]
MEDIA_TYPE = "application/health+json"
TIMED_OUT = "timed out"
RAISED = "check failed"
STILL_RUNNING = "still running"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.\-]+)?")
_RANK = {"pass": 0, "warn": 1, "fail": 2}
_ALIASES = {"ok": "pass", "up": "pass", "error": "fail", "down": "fail"}  # the draft's aliases


@dataclass(frozen=True)
class Result:
    """What a check found: ``pass``, ``warn`` or ``fail``, with an optional observed value and short output.

    Example:
        >>> Result.ok(3.2, "ms").status
        'pass'
    """

    status: Status = "pass"
    observed_value: float | int | str | bool | None = None
    observed_unit: str | None = None
    output: str | None = None

    @classmethod
    def ok(cls, value: float | int | str | bool | None = None, unit: str | None = None) -> Result:
        """A passing result."""
        return cls("pass", value, unit)

    @classmethod
    def warn(cls, output: str, value: float | int | str | bool | None = None, unit: str | None = None) -> Result:
        """A result worth a look that does not make the service unready."""
        return cls("warn", value, unit, output)

    @classmethod
    def fail(cls, output: str, value: float | int | str | bool | None = None, unit: str | None = None) -> Result:
        """A failing result; ``output`` is shown to whoever may read details: keep secrets out of it."""
        return cls("fail", value, unit, output)


def as_result(returned: object) -> Result:
    """What a check returned, as a :class:`Result`: a ``Result``, ``None``/``True`` (pass) or ``False`` (fail)."""
    if isinstance(returned, Result):
        status = _ALIASES.get(returned.status, returned.status)
        value = returned.observed_value
        if status not in _RANK or not isinstance(value, (int, float, str, bool, type(None))):
            raise TypeError(f"a health check returned an unusable Result ({returned.status!r}, {type(value).__name__})")
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError("a health check's observed value is not finite")
        if status == returned.status:
            return returned
        return Result(cast(Status, status), value, returned.observed_unit, returned.output)
    if returned is None or returned is True:
        return Result.ok()
    if returned is False:
        return Result.fail(RAISED)
    raise TypeError(f"a health check returns a Result, None, True or False, not {type(returned).__name__}")


@dataclass(frozen=True)
class CheckInfo:
    """A check as configuration describes it.

    Attributes:
        name: ``component:measurement`` (``postgres:responseTime``), the key in the report.
        critical: A failure makes the service unready (``fail``); else it only makes it ``warn``.
        timeout: Seconds the check may take; past them it is ``fail`` with ``timed out``.
        startup: A startup check: readiness fails until it has passed once, and then it is not run again.
        component_type: ``datastore``, ``component`` or ``system`` in the draft's words.
        component_id: An identifier of the instance checked (never a URL with credentials).
    """

    name: str
    critical: bool = True
    timeout: float = 1.0
    startup: bool = False
    component_type: str | None = None
    component_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or _NAME.fullmatch(self.name) is None:
            raise ConfigurationError(f"a check is named component or component:measurement, not {self.name!r}")
        timeout = self.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ConfigurationError(f"a check's timeout is a positive number of seconds, not {timeout!r}")


@dataclass(frozen=True)
class Outcome:
    """One check's result at one time."""

    check: CheckInfo
    result: Result
    at: float  # seconds since the epoch


def overall(outcomes: Iterable[Outcome]) -> Status:
    """``fail`` if a critical check failed, ``warn`` if any check warned or a non-critical one failed, else ``pass``."""
    worst: Status = "pass"
    for outcome in outcomes:
        status = outcome.result.status
        if status == "fail" and not outcome.check.critical:
            status = "warn"
        if _RANK[status] > _RANK[worst]:
            worst = status
    return worst


def http_status(status: Status) -> int:
    """200 for ``pass`` and ``warn``, 503 for ``fail`` (probes pass on 200 to 399)."""
    return 503 if status == "fail" else 200


def _timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(
    status: Status, outcomes: Iterable[Outcome], *, verbose: bool, notes: Mapping[str, str] = {}
) -> dict[str, Any]:
    """The health+json document: ``status``, and with ``verbose`` the ``checks`` (and ``notes``) too.

    Example:
        >>> check = CheckInfo("redis:responseTime", component_type="datastore")
        >>> document = body("pass", [Outcome(check, Result.ok(0.4, "ms"), 0.0)], verbose=True)
        >>> document["checks"]["redis:responseTime"][0]["observedValue"], body("pass", [], verbose=False)
        (0.4, {'status': 'pass'})
    """
    document: dict[str, Any] = {"status": status}
    if not verbose:
        return document
    checks: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        check, result = outcome.check, outcome.result
        entry: dict[str, Any] = {"status": result.status, "time": _timestamp(outcome.at)}
        if check.component_id is not None:
            entry["componentId"] = check.component_id
        if check.component_type is not None:
            entry["componentType"] = check.component_type
        if result.observed_value is not None:
            entry["observedValue"] = result.observed_value
        if result.observed_unit is not None:
            entry["observedUnit"] = result.observed_unit
        if result.output is not None:
            entry["output"] = result.output
        if not check.critical:
            entry["critical"] = False
        checks.setdefault(check.name, []).append(entry)
    document["checks"] = checks
    if notes:
        document["notes"] = [f"{key}: {value}" for key, value in notes.items()]
    return document


@dataclass(frozen=True)
class Report:
    """A probe's answer: the overall status, each check's outcome, and notes (draining, startup)."""

    status: Status
    outcomes: tuple[Outcome, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        """200 for ``pass`` and ``warn``, 503 for ``fail``."""
        return http_status(self.status)

    _encoded: dict[bool, bytes] = field(default_factory=dict, repr=False, compare=False)

    def body(self, *, verbose: bool) -> dict[str, Any]:
        """The ``application/health+json`` document (details only with ``verbose``)."""
        return body(self.status, self.outcomes, verbose=verbose, notes=self.notes)

    def encoded(self, *, verbose: bool) -> bytes:
        """:meth:`body` as bytes, encoded once per report: a cached report costs no encoding (2 µs a probe)."""
        data = self._encoded.get(verbose)
        if data is None:
            data = self._encoded[verbose] = encode(self.body(verbose=verbose))
        return data


def encode(document: Mapping[str, object]) -> bytes:
    """The body's bytes (compact JSON)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


__all__ = [
    "MEDIA_TYPE",
    "RAISED",
    "STILL_RUNNING",
    "TIMED_OUT",
    "CheckInfo",
    "Outcome",
    "Report",
    "Result",
    "Status",
    "as_result",
    "body",
    "encode",
    "http_status",
    "overall",
]
