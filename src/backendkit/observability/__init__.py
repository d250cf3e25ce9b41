"""Metrics and traces of every piece's decisions, for Prometheus and OpenTelemetry.

Install observers once, at start-up::

    from backendkit.observability import observe
    from backendkit.observability.prometheus import PrometheusMetrics

    observe(PrometheusMetrics())

Each piece (rate limits, auth, idempotency, health, pagination, the stores) and
every adapter's request handling then tells them what it decided. With no
observer installed, a piece pays one attribute check.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from backendkit.errors import ConfigurationError
from backendkit.observability._core.catalog import INSTRUMENTS, Instrument, prometheus_name
from backendkit.observability._core.events import Event, RequestEnd, RequestStart
from backendkit.observability._hub import Observer, hub


class Observation:
    """What :func:`observe` installed: :meth:`close` it (or leave its ``with`` block) to put back what was before."""

    def __init__(self, previous: tuple[Observer, ...], exclude: frozenset[str], probes: bool) -> None:
        self._previous = (previous, exclude, probes)

    def close(self) -> None:
        """Uninstall these observers, reinstalling the ones that were there before."""
        previous, exclude, probes = self._previous
        hub.install(previous, exclude_paths=exclude, probes=probes)

    def __enter__(self) -> Observation:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def observe(*observers: Observer, exclude_paths: Iterable[str] = (), probes: bool = False) -> Observation:
    """Install the observers every piece and adapter of this process reports to.

    Args:
        *observers: Such as :class:`~backendkit.observability.prometheus.PrometheusMetrics`
            and :class:`~backendkit.observability.opentelemetry.OpenTelemetry`.
        exclude_paths: Request paths left out of request metrics and traces,
            beside the probes and scrapes.
        probes: ``True`` to measure and trace probes and metrics scrapes like any
            other request. By default they are left out: the default probe paths
            and every path ``health_routes`` and ``metrics_routes`` mount (a probe
            mounted under a prefix they cannot see is left out of the request
            metrics when it answers, but is traced: name it in ``exclude_paths``).

    Returns:
        An :class:`Observation`: close it to uninstall (tests do).
    """
    for observer in observers:
        if isinstance(observer, type) or not isinstance(observer, Observer):  # (a class has the methods too)
            raise ConfigurationError(
                f"observe() takes observers (PrometheusMetrics(), OpenTelemetry()), not {observer!r}"
            )
    if isinstance(exclude_paths, str):
        raise ConfigurationError("exclude_paths is a list of paths, not one string")
    previous = Observation(hub.observers, hub.exclude_paths, hub.probes)
    hub.install(observers, exclude_paths=exclude_paths, probes=bool(probes))
    return previous


def observers() -> tuple[Observer, ...]:
    """The observers installed now (to add one to them: ``observe(*observers(), another)``)."""
    return hub.observers


__all__ = [
    "INSTRUMENTS",
    "Event",
    "Instrument",
    "Observation",
    "Observer",
    "RequestEnd",
    "RequestStart",
    "observe",
    "observers",
    "prometheus_name",
]
