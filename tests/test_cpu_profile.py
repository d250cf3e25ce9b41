"""How stack_bench.py's profile charges a py-spy sample to a component (benchmarks/_harness/cpu_profile.py)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from benchmarks._harness.cpu_profile import component, components, table

STDLIB = str(Path(shutil.__file__).parent)
SITE = "/venv/lib/python3.11/site-packages"
SRC = "/checkout/src/backendkit"
PROCESS = 'process 1:"python -m benchmarks._stack_serve flask backendkit 8000"'


def frame(function: str, path: str) -> str:
    return f"{function} ({path}:10)"


def test_a_sample_is_charged_to_the_innermost_component() -> None:
    stack = [
        PROCESS,
        frame("Thread.run", f"{STDLIB}/threading.py"),
        frame("handle", f"{SITE}/gunicorn/workers/gthread.py"),
        frame("Flask.__call__", f"{SITE}/flask/app.py"),
        frame("paginate_sequence", f"{SRC}/pagination/_core/sequence.py"),
    ]
    assert component(stack) == "backendkit.pagination"
    assert component(stack[:-1]) == "flask"
    assert component(stack[:-2]) == "gunicorn"
    assert component(stack[:-3]) == "threading"
    assert component(stack[:1]) == "python (interpreter, server loop)"


def test_standard_library_helpers_are_charged_to_their_caller_and_the_big_ones_to_themselves() -> None:
    caller = frame("CursorCodec.encode", f"{SRC}/pagination/_core/cursor.py")
    assert component([caller, frame("new", f"{STDLIB}/hmac.py"), frame("_b", f"{STDLIB}/base64.py")]) == (
        "backendkit.pagination"
    )
    assert component([caller, frame("Logger.info", f"{STDLIB}/logging/__init__.py")]) == "logging"
    assert component([caller, frame("dumps", f"{STDLIB}/json/__init__.py")]) == "json"
    assert component([frame("main", f"{SRC}/_runtime.py")]) == "backendkit"
    assert component([frame("route", "/checkout/benchmarks/_stack_flask.py")]) == "app"
    assert component([frame("encode", f"{SITE}/jwt/api_jwt.py")]) == "jwt"
    assert component([frame("f", f"{SITE}/six.py")]) == "six"


def test_collapsed_stacks_are_summed_by_component_and_printed_per_request() -> None:
    flask = frame("Flask.__call__", f"{SITE}/flask/app.py")
    redis = frame("execute_command", f"{SITE}/redis/client.py")
    collapsed = f"{PROCESS};{flask} 30\n{PROCESS};{flask};{redis} 10\n\nnot a stack\n{PROCESS};{flask} 10\n"
    found = components(collapsed)
    assert found == Counter({"flask": 40, "redis": 10})
    lines = table({"backendkit": found, "peers": Counter({"redis": 50})}, {"backendkit": 100, "peers": 50}, rate=100)
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    # 40 samples at 100 Hz over 100 requests: 4,000 µs per request, 80 % of this variant's samples.
    assert rows["flask"] == ["4000.0", "80%", "0.0", "0%"]
    assert rows["redis"] == ["1000.0", "20%", "10000.0", "100%"]
    assert rows["total"] == ["(GIL", "held)", "5000.0", "100%", "10000.0", "100%"]
    assert "backendkit," not in rows  # no backendkit piece sampled, no subtotal


def test_backendkits_pieces_are_summed_whether_shown_or_not() -> None:
    pieces = Counter({"backendkit.auth": 10, "backendkit.asgi": 5, "backendkit": 1, "starlette": 84})
    lines = table({"backendkit": pieces}, {"backendkit": 1}, rate=1_000_000, top=2)
    rows = {line[:38].strip(): line.split()[-2:] for line in lines[1:]}
    assert rows["starlette"] == ["84.0", "84%"]
    assert rows["backendkit.auth"] == ["10.0", "10%"]
    assert rows["(the rest)"] == ["6.0", "6%"]
    assert rows["backendkit, all pieces"] == ["16.0", "16%"]
