"""The probes' paths as an adapter mounts them, noted for the observers (they leave probes out)."""

from __future__ import annotations

from collections.abc import Mapping

from backendkit.health._core.http import probe_paths
from backendkit.observability._hub import hub


def mounted_probe_paths(paths: Mapping[str, str | None] | None) -> dict[str, str]:
    """:func:`~backendkit.health.probe_paths`, each path noted as one where probes are served."""
    found = dict(probe_paths(paths))
    for path in found.values():
        hub.monitor(path)
    return found


__all__ = ["mounted_probe_paths"]
