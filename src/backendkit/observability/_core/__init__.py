"""The pure core of observability: the events the pieces emit and what each one measures.

No I/O, no clock, no metrics or tracing library: an event is a value, and
:mod:`.catalog` says, for every event, which instruments it moves and which span
it stands for. The Prometheus and OpenTelemetry observers only translate that.
"""
