"""JSONFormatter against the JSON formatters people use, formatting the same records.

Each formatter formats the same LogRecord (a message with three extra fields, and
an error with a traceback); structlog's native pipeline renders the equivalent
event dict. Rounds are interleaved; the best and median round are reported in
microseconds per record, with ratios to python-json-logger and to the stdlib
text formatter (the floor: no JSON, no redaction).

Then the same message and extras through ``logging.Logger`` calls
(``logger.info(msg, arg, extra=...)``), each logger with one ``StreamHandler``
writing to a sink that drops what it gets: the stdlib text formatter, backendkit's
``JSONFormatter`` and python-json-logger's orjson formatter (orjson for both JSON
formatters). Here the order of the contenders turns by one each round; the
ratios are best against best and the median of each round's own ratio.

    python benchmarks/logging_bench.py [--records 20000] [--rounds 7] [--logger-rounds 15] [--cpu-time]
                                       [--only-logger] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks._harness.measure import Runner, measure_fixed, ratio
from benchmarks._harness.run import Run, parse

EXTRA = {"user_id": 42, "order": {"id": "A-17", "items": 3}, "client_ip": "10.0.0.7"}


def make_records() -> dict[str, logging.LogRecord]:
    logger = logging.getLogger("bench")
    plain = logger.makeRecord("bench", logging.INFO, "app.py", 10, "order %s paid", ("A-17",), None, extra=EXTRA)
    try:
        raise ValueError("card declined")
    except ValueError as exc:
        failed = logger.makeRecord(
            "bench", logging.ERROR, "app.py", 20, "payment failed", (), (type(exc), exc, exc.__traceback__), extra=EXTRA
        )
    return {"3 extras": plain, "exception": failed}


def formatters() -> dict[str, Callable[[logging.LogRecord], Any]]:
    import structlog
    from pythonjsonlogger.json import JsonFormatter as PythonJsonFormatter

    from backendkit.logging import JSONFormatter

    def structlog_native() -> Callable[[logging.LogRecord], Any]:
        processors = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]

        def render(record: logging.LogRecord) -> Any:
            event: Any = {"event": record.getMessage(), **EXTRA}
            if record.exc_info:
                event["exc_info"] = record.exc_info
            for processor in processors:
                event = processor(None, record.levelname.lower(), event)
            return event

        return render

    via_stdlib = structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ExtraAdder(),
            structlog.processors.format_exc_info,
        ],
    )
    return {
        "backendkit JSONFormatter": JSONFormatter(json="stdlib").format,
        "backendkit JSONFormatter + orjson": JSONFormatter(json="orjson").format,
        "python-json-logger JsonFormatter": PythonJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s"
        ).format,
        "structlog ProcessorFormatter": via_stdlib.format,
        "structlog native JSONRenderer": structlog_native(),
        "stdlib text formatter": logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format,
    }


class NullSink:
    """A stream that drops what it is given: the handler's own work stays, no I/O."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _Constant(logging.Formatter):
    """Formats nothing: what is left is the cost of the call, the record and the handler."""

    def format(self, record: logging.LogRecord) -> str:
        return "-"


def loggers() -> dict[str, logging.Logger]:
    """One logger per formatter, each with one StreamHandler into a NullSink; the same fields in every line."""
    from pythonjsonlogger.json import JsonFormatter as PythonJsonFormatter
    from pythonjsonlogger.orjson import OrjsonFormatter

    from backendkit.logging import JSONFormatter

    fields = "%(asctime)s %(levelname)s %(name)s %(message)s"
    formatters: dict[str, logging.Formatter] = {
        "stdlib text formatter": logging.Formatter(fields),
        "backendkit JSONFormatter + orjson": JSONFormatter(json="orjson"),
        "python-json-logger OrjsonFormatter": OrjsonFormatter(fields),
        "python-json-logger JsonFormatter": PythonJsonFormatter(fields),
        "no formatting (the logger's own cost)": _Constant(),
    }
    out: dict[str, logging.Logger] = {}
    for index, (name, formatter) in enumerate(formatters.items()):
        logger = logging.Logger(f"bench.logger{index}", logging.INFO)  # not in the manager: no parents
        logger.propagate = False
        handler = logging.StreamHandler(NullSink())  # type: ignore[arg-type]
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        out[name] = logger
    return out


def logger_runner(logger: logging.Logger) -> Runner:
    info = logger.info

    def run(n: int) -> None:
        for _ in range(n):
            info("order %s paid", "A-17", extra=EXTRA)

    return run


def rotating(
    runners: dict[str, Runner], n: int, rounds: int, *, warmup: int, clock: Callable[[], int] = time.perf_counter_ns
) -> dict[str, list[float]]:
    """Microseconds per run, each runner ``n`` times a round; the order turns by one each round.

    ``clock`` may be ``time.process_time_ns``: this process's CPU time, which other busy processes
    inflate far less than the wall clock (caches and frequency are still shared).
    """
    for run in runners.values():
        run(warmup)
    names = list(runners)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        turn = index % len(names)
        for name in names[turn:] + names[:turn]:
            start = clock()
            runners[name](n)
            samples[name].append((clock() - start) / n / 1000)
    return samples


def through_loggers(records: int, rounds: int, *, cpu_time: bool) -> None:
    clock = time.process_time_ns if cpu_time else time.perf_counter_ns
    runners = {name: logger_runner(lg) for name, lg in loggers().items()}
    samples = rotating(runners, records, rounds, warmup=2000, clock=clock)
    text, pjl = "stdlib text formatter", "python-json-logger OrjsonFormatter"
    timed = "CPU time of this process" if cpu_time else "wall clock"
    print(f"through a logger (logger.info with 3 extras, one StreamHandler, null sink; {timed}):")
    print(f"  {'formatter':<36}{'us/call':>9}{'median':>9}{'vs text':>18}{'pjl faster by':>18}")
    for name, values in samples.items():
        best = min(values)
        vs_text = f"{best / min(samples[text]):.3f}/{ratio(samples, name, text):.3f}"
        by_pjl = f"{min(samples[pjl]) / best:.3f}/{ratio(samples, pjl, name):.3f}"
        print(f"  {name:<36}{best:>9.2f}{statistics.median(values):>9.2f}{vs_text:>18}{by_pjl:>18}")
    print("  (ratios: best/best, then the median of per-round ratios; 'vs text' is the cost over the text formatter,")
    print("   'pjl faster by' > 1 means faster than python-json-logger)")
    print()


def runner(func: Callable[[logging.LogRecord], Any], record: logging.LogRecord) -> Runner:
    def run(n: int) -> None:
        for _ in range(n):
            record.exc_text = None  # the stdlib formatters cache the traceback text on the record
            func(record)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--logger-rounds", type=int, default=15)
    parser.add_argument("--only-logger", action="store_true", help="only the through-a-logger case")
    parser.add_argument("--cpu-time", action="store_true", help="time the logger case in CPU time (a busy machine)")
    args = parse(parser, quick={"records": 200, "rounds": 2, "logger_rounds": 3})

    Run(("backendkit", "structlog", "python-json-logger", "orjson")).header(
        f"{args.records} records x {args.rounds} rounds, interleaved; microseconds per record (best; median)"
    )
    through_loggers(args.records, args.logger_rounds, cpu_time=args.cpu_time)
    if args.only_logger:
        return
    funcs = formatters()
    for case, record in make_records().items():
        runners = {name: runner(func, record) for name, func in funcs.items()}
        samples = measure_fixed(runners, args.records, args.rounds, warmup=1000)
        best = {name: min(values) for name, values in samples.items()}
        pjl, text = best["python-json-logger JsonFormatter"], best["stdlib text formatter"]
        print(f"{case}:")
        print(f"  {'formatter':<36}{'us/record':>10}{'median':>9}{'vs pjl':>9}{'vs text':>9}")
        for name, values in samples.items():
            b = best[name]
            print(f"  {name:<36}{b:>10.2f}{statistics.median(values):>9.2f}{pjl / b:>8.2f}x{b / text:>8.2f}x")
        print()
    print("'vs pjl' > 1 means faster than python-json-logger; 'vs text' is the cost relative to the text formatter.")


if __name__ == "__main__":
    main()
