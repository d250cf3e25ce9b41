"""JSONFormatter against the JSON formatters people use, formatting the same records.

Each formatter formats the same LogRecord (a message with three extra fields, and
an error with a traceback); structlog's native pipeline renders the equivalent
event dict. Rounds are interleaved; the best and median round are reported in
microseconds per record, with ratios to python-json-logger and to the stdlib
text formatter (the floor: no JSON, no redaction).

    python benchmarks/logging_bench.py [--records 20000] [--rounds 7] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from benchmarks._harness.measure import Runner, measure_fixed
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
    args = parse(parser, quick={"records": 200, "rounds": 2})

    Run(("backendkit", "structlog", "python-json-logger", "orjson")).header(
        f"{args.records} records x {args.rounds} rounds, interleaved; microseconds per record (best; median)"
    )
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
