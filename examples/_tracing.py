"""OpenTelemetry spans and metrics for the examples, when the standard ``OTEL_*`` variables ask for them.

Nothing happens (and the OpenTelemetry SDK is not even imported) unless one of these is set:

- ``OTEL_TRACES_EXPORTER``: ``console`` (spans printed as JSON on standard output),
  ``otlp`` (needs ``pip install opentelemetry-exporter-otlp``), several separated by
  commas, or ``none``;
- ``OTEL_METRICS_EXPORTER``: the same names, for metric points, exported every
  ``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds (60 s by default) and at a normal exit;
  a server stopped by SIGTERM (uvicorn re-raises it once it has shut down, waitress
  does not catch it) skips the last export, as any process killed by a signal does.

The SDK and the exporter read the rest themselves: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (the example names itself when the first is unset),
``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG``, and for OTLP
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``grpc`` by default,
or ``http/protobuf``), ``OTEL_EXPORTER_OTLP_HEADERS`` and their per-signal variants.
Other exporter names (``zipkin``, ``prometheus``...) are refused: the Prometheus
wiring is ``examples/_metrics.py``. For example::

    OTEL_TRACES_EXPORTER=console python -m examples.fastapi_app --port 8000

Each example app passes :func:`observers` to ``backendkit.observability.observe``
together with any other observer (``observe`` replaces what was installed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backendkit.observability import Observer

KNOWN = ("console", "otlp")


@dataclass
class Tracing:
    """What the variables configured: the observer, and the SDK providers behind it (to flush or shut down)."""

    observer: Observer
    tracer_provider: Any | None
    meter_provider: Any | None


def exporters(variable: str, environ: Mapping[str, str]) -> list[str]:
    """The exporter names a variable lists (``none`` and blanks dropped); an unknown one is refused by name."""
    names = [name.strip().lower() for name in environ.get(variable, "").split(",")]
    names = [name for name in names if name and name != "none"]
    for name in names:
        if name not in KNOWN:
            raise SystemExit(f"{variable}={name} is not supported by the examples: use one of {', '.join(KNOWN)}")
    return names


def configure(service: str, environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """Build the SDK providers and backendkit's observer the variables ask for; ``None`` when they ask for none."""
    traces = exporters("OTEL_TRACES_EXPORTER", environ)
    metrics = exporters("OTEL_METRICS_EXPORTER", environ)
    if not traces and not metrics:
        return None
    from opentelemetry.sdk.resources import Resource

    from backendkit.observability.opentelemetry import OpenTelemetry

    resource = Resource.create({} if environ.get("OTEL_SERVICE_NAME") else {"service.name": service})
    protocol = environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    tracer_provider = _tracer_provider(traces, resource, protocol) if traces else None
    meter_provider = _meter_provider(metrics, resource, protocol) if metrics else None
    observer = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return Tracing(observer, tracer_provider, meter_provider)


def observers(service: str, environ: Mapping[str, str] = os.environ) -> tuple[Observer, ...]:
    """backendkit's OpenTelemetry observer when the ``OTEL_*`` variables configure an exporter, else none."""
    tracing = configure(service, environ)
    return (tracing.observer,) if tracing is not None else ()


def _tracer_provider(names: list[str], resource: Any, protocol: str) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=resource)  # (it reads OTEL_TRACES_SAMPLER itself)
    for name in names:
        if name == "console":  # printed as each span ends, in the order they end
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            exporter = _otlp("trace_exporter", "OTLPSpanExporter", protocol)
            provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _meter_provider(names: list[str], resource: Any, protocol: str) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    readers = []
    for name in names:
        if name == "console":
            exporter = ConsoleMetricExporter()
        else:
            exporter = _otlp("metric_exporter", "OTLPMetricExporter", protocol)
        readers.append(PeriodicExportingMetricReader(exporter))  # (it reads OTEL_METRIC_EXPORT_INTERVAL)
    return MeterProvider(resource=resource, metric_readers=readers)


def _otlp(module: str, name: str, protocol: str) -> Any:
    """The OTLP exporter for the protocol ``OTEL_EXPORTER_OTLP_PROTOCOL`` names, or a clear refusal if not installed."""
    import importlib

    transport = "grpc" if protocol == "grpc" else "http"
    try:
        return getattr(importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{module}"), name)()
    except ImportError as exc:
        raise SystemExit(
            "OTEL_*_EXPORTER=otlp needs the OTLP exporter: pip install opentelemetry-exporter-otlp"
        ) from exc


__all__ = ["Tracing", "configure", "exporters", "observers"]
