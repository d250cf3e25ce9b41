"""Real servers on loopback, in a background thread of the test process.

Running them in-process lets a test add a route (the deliberate bug) to the very
app object the server serves, while every byte still crosses a real socket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.support.net import free_port, wait_for_port


@contextmanager
def uvicorn_server(app: Any, *, lifespan: str = "off") -> Iterator[int]:
    """Serve an ASGI app with uvicorn; yields the port (``lifespan="on"`` runs the app's start-up and shutdown)."""
    import uvicorn

    port = free_port()
    # proxy_headers off: backendkit decides who the client is (trusted_proxies), not the server as well.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def waitress_server(app: Any) -> Iterator[int]:
    """Serve a WSGI app with waitress; yields the port.

    Forwarding headers reach the app as they were sent (waitress would otherwise remove
    those of untrusted peers): backendkit decides who the client is (``trusted_proxies``),
    not the server as well.
    """
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4, clear_untrusted_proxy_headers=False)
    port: int = server.effective_port  # type: ignore[union-attr]
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # waitress has no stop(): closing its sockets under the loop is how it ends
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield port
    finally:
        stopping.set()
        server.task_dispatcher.shutdown()  # let the worker threads finish what they serve
        server.close()
        thread.join(timeout=10)
        # Its loop has ended: close the connections it still holds (a socket left to the garbage
        # collector is a ResourceWarning in whichever test happens to run then).
        from waitress import wasyncore

        wasyncore.close_all(server._map)  # type: ignore[union-attr]


ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def server_process(
    args: Sequence[str], port: int, *, env: Mapping[str, str] | None = None, output: IO[bytes] | None = None
) -> Iterator[int]:
    """Run a server command (``args``, which listens on ``port``) from the repository root; yields the port.

    For what cannot run in the test process: several worker processes, or a server
    that serves the app as it would in production (gunicorn). Its output goes to
    ``output`` when given (for the test to read once the server has stopped), else
    it is kept and shown if it never starts listening.
    """
    with tempfile.TemporaryFile() if output is None else nullcontext(output) as log:
        proc = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in its process group, for _stop
        )
        try:
            _wait_listening(args, port, log)
            yield port
        finally:
            stop_process(proc, timeout=15, group=True)


def _wait_listening(args: Sequence[str], port: int, errors: IO[bytes]) -> None:
    """Wait until the server listens on ``port``; else fail with what it wrote to ``errors``."""
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        errors.seek(0)
        raise TimeoutError(f"{args[0]} never listened on {port}: {errors.read().decode(errors='replace')}") from None


def stop_process(proc: subprocess.Popen[Any], *, timeout: float = 10.0, group: bool = False) -> None:
    """SIGTERM, as a process manager does; SIGKILL if it has not exited within ``timeout``.

    With ``group``, the SIGKILL goes to the whole process group (a server started in a session of
    its own): a master killed alone would leave its workers serving on the port.
    """
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(timeout=15)


@dataclass
class Output:
    """What a server process wrote, each stream apart; filled in once the process has stopped."""

    stdout: str = ""
    stderr: str = ""


@contextmanager
def logged_process(args: Sequence[str], port: int, *, env: Mapping[str, str]) -> Iterator[Output]:
    """:func:`server_process` keeping the server's standard output and error apart, for tests of its log.

    ``env`` is the whole environment of the process. The yielded :class:`Output` is
    filled in when the block ends and the process has been stopped (SIGTERM, as a
    process manager does, so what the server writes while it stops is in it too).
    """
    output = Output()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(list(args), cwd=ROOT, env=dict(env), stdout=out, stderr=err, start_new_session=True)
        try:
            _wait_listening(args, port, err)
            yield output
        finally:
            stop_process(proc, timeout=30, group=True)
            out.seek(0)
            err.seek(0)
            output.stdout = out.read().decode(errors="replace")
            output.stderr = err.read().decode(errors="replace")


def gunicorn(
    app: str,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
    output: IO[bytes] | None = None,
) -> Any:
    """``gunicorn app`` with sync workers on a free loopback port (a context manager yielding the port).

    ``options`` are more command-line options; ``output`` receives what the server writes.
    """
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), *options]
    return server_process(args, port, env=env, output=output)
