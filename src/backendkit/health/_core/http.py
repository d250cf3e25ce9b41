"""Probe responses as every adapter sends them: status, headers and body, decided once.

Pure. ``/livez`` never runs a check, ``/readyz`` runs them, ``/startupz`` says whether
the startup checks have passed, and ``/healthz`` is liveness under its old name.
"""

from __future__ import annotations

from collections.abc import Mapping

from backendkit._settings import PROBE_PATHS
from backendkit.errors import ConfigurationError
from backendkit.health._core.report import MEDIA_TYPE, encode

PROBES = ("live", "ready", "startup", "healthz")
DEFAULT_PATHS: Mapping[str, str] = dict(zip(PROBES, PROBE_PATHS, strict=True))
"""Where each probe is served: ``healthz`` is an alias of liveness, for probes configured before ``/livez``."""

_YES = frozenset(("", "1", "true", "yes", "on"))
HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", MEDIA_TYPE), ("Cache-Control", "no-store"))


def probe_paths(paths: Mapping[str, str | None] | None) -> dict[str, str]:
    """The probes' paths: the defaults, overridden by ``paths`` (``None`` leaves a probe out)."""
    chosen: dict[str, str | None] = {**DEFAULT_PATHS, **(paths or {})}
    unknown = set(chosen) - set(PROBES)
    if unknown:
        raise ConfigurationError(f"unknown probes {sorted(unknown)}; they are {list(PROBES)}")
    served = {probe: path for probe, path in chosen.items() if path is not None}
    for path in served.values():
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigurationError(f"a probe's path starts with '/', not {path!r}")
    return served


def wants_verbose(default: bool, allow_query: bool, query: str) -> bool:
    """Whether a probe shows each check: the setting, or ``?verbose`` where the query is allowed to ask."""
    if default:
        return True
    if not allow_query or "verbose" not in query:
        return False
    values = [pair.partition("=")[2] for pair in query.split("&") if pair.partition("=")[0] == "verbose"]
    # Only a clear yes asks (?verbose, =1, =true, =yes, =on): ?verbose=off must not show the details.
    return bool(values) and values[-1].lower() in _YES


__all__ = ["DEFAULT_PATHS", "HEADERS", "PROBES", "encode", "probe_paths", "wants_verbose"]
