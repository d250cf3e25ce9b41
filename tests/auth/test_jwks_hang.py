"""A JWKS endpoint that hangs holds one thread, never the requests that do not need it (issue 19 §4).

Flask under waitress with 12 concurrent random-kid tokens while the JWKS hung:
``/livez``, ``/readyz``, ``GET /tasks`` and an HS256 ``/me`` took 1.7 s, because
every worker thread queued behind the one fetch. Here each example, over a real
server, is sent such a storm by a client whose fetch may take ``TIMEOUT`` seconds
(with no set ever fetched, the hardest case); requests that need no JWKS must
answer in well under that, and those that need it within it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.test import override_settings

from backendkit.auth import HMACKey, InvalidToken, PrivateKey, issue
from backendkit.auth.jwks import JWKSClient
from backendkit.errors import ConfigurationError
from examples import _auth
from tests.auth.hang_apps import TIMEOUT, built, slow_jwks_clients
from tests.auth.jwks_server import JWKSServer, jwks_server
from tests.auth.test_jwks import ec_signer, rsa_signer
from tests.support.net import free_port, request
from tests.support.servers import server_process, uvicorn_server, waitress_server

pytestmark = pytest.mark.socket

STORM = 12
BYSTANDERS = ("/livez", "/readyz", "/tasks", "/me")
FAST = TIMEOUT / 2  # generous: they answer in milliseconds when nothing holds them up


def _token(kid: str | None = None) -> str:
    if kid is None:
        key: Any = HMACKey(_auth.secret())
    else:
        key = PrivateKey(rsa_signer("example-rsa").pem, alg="RS256", kid=kid)
    return issue(key, "hang-user", issuer=_auth.ISSUER, audience=_auth.AUDIENCE, claims={"roles": ["viewer"]})


@contextmanager
def _served(target: str, url: str) -> Iterator[int]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BACKENDKIT_EXAMPLE_JWKS_URL", url)
        if target == "flask-gunicorn-threads":
            port = free_port()
            args = [sys.executable, "-m", "gunicorn", "tests.auth.hang_apps:flask_app()", "--bind", f"127.0.0.1:{port}"]
            args += ["--workers", "1", "--threads", "4", "--graceful-timeout", "1"]
            with server_process(args, port, env={"BACKENDKIT_EXAMPLE_JWKS_URL": url}):
                yield port
            return
        with ExitStack() as stack:
            if target.startswith("django"):
                from django.core.asgi import get_asgi_application
                from django.core.wsgi import get_wsgi_application

                with slow_jwks_clients():
                    verifier = _auth.verifier()
                stack.enter_context(override_settings(BACKENDKIT={"ERROR_FORMAT": "envelope", "AUTH": verifier}))
            if target == "flask-waitress":
                from examples.flask_app import create_app as flask_app

                port = stack.enter_context(waitress_server(built(flask_app)))
            elif target == "fastapi-uvicorn":
                from examples.fastapi_app import create_app as fastapi_app

                port = stack.enter_context(uvicorn_server(built(fastapi_app)))
            elif target == "django-waitress-wsgi":
                port = stack.enter_context(waitress_server(get_wsgi_application()))
            else:
                port = stack.enter_context(uvicorn_server(get_asgi_application()))
            yield port


def _timed(port: int, path: str, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    reply = request(port, "GET", path, headers={"Authorization": f"Bearer {token}"})
    return reply.status, time.perf_counter() - started


@pytest.fixture
def hanging() -> Iterator[JWKSServer]:
    with jwks_server() as server:
        server.mode = "stall"  # accepts the request, never answers
        yield server


@pytest.fixture
def server_with_keys() -> Iterator[JWKSServer]:
    with jwks_server() as server:
        server.jwks = {"keys": [rsa_signer("rsa-a").jwk(), ec_signer("ec-a").jwk()]}
        yield server


@pytest.mark.parametrize(
    "target",
    ["flask-waitress", "flask-gunicorn-threads", "django-waitress-wsgi", "fastapi-uvicorn", "django-uvicorn-asgi"],
)
def test_a_hanging_jwks_holds_up_only_the_requests_that_need_it(hanging: JWKSServer, target: str) -> None:
    rng = random.Random(19)
    with _served(target, hanging.url) as port:
        assert request(port, "GET", "/livez").status == 200  # up (and its first request served)
        storm: list[tuple[int, float]] = []

        def forged() -> None:
            storm.append(_timed(port, "/me", _token(f"{rng.getrandbits(64):016x}")))

        threads = [threading.Thread(target=forged) for _ in range(STORM)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while hanging.requests() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert hanging.requests() == 1  # the fetch has started, and hangs
        time.sleep(0.25)  # the storm has reached the server's threads (they answer after wait, 0.5 s, or 3 s)
        bystanders = {path: _timed(port, path, _token()) for path in BYSTANDERS}
        for thread in threads:
            thread.join()
    for path, (status, took) in bystanders.items():
        assert status == 200, (target, path)
        assert took < FAST, f"{target}: {path} took {took:.2f} s behind a hanging JWKS fetch"
    assert [status for status, _ in storm] == [401] * STORM
    assert max(took for _, took in storm) < TIMEOUT + 2  # bounded by the fetch's timeout
    assert hanging.requests() == 1  # one fetch for the whole storm


# The client itself: one fetch shared by every thread and event loop, and waits bounded by ``wait``.


def _until_fetching(server: JWKSServer) -> None:
    deadline = time.monotonic() + 5
    while server.requests() == 0:
        assert time.monotonic() < deadline, "the fetch never reached the JWKS server"
        time.sleep(0.01)


def _forged_kid(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _reason(client: JWKSClient, kid: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        client.select(kid, "RS256")
    return refused.value.reason


def test_threads_that_need_a_hung_fetch_wait_for_it_only_until_wait_after_its_start(hanging: JWKSServer) -> None:
    client = JWKSClient(hanging.url, timeout=TIMEOUT, wait=0.3)
    rng = random.Random(4)
    took: dict[str, float] = {}

    def lookup(name: str, kid: str) -> None:
        started = time.perf_counter()
        assert _reason(client, kid) == "keys_unavailable"
        took[name] = time.perf_counter() - started

    fetcher = threading.Thread(target=lookup, args=("fetcher", _forged_kid(rng)))
    fetcher.start()
    _until_fetching(hanging)
    waiters = [threading.Thread(target=lookup, args=(f"waiter-{i}", _forged_kid(rng))) for i in range(6)]
    for thread in waiters:
        thread.start()
    for thread in waiters:
        thread.join()
    assert max(took[f"waiter-{i}"] for i in range(6)) < FAST  # 0.3 s from the fetch's start, not its 3 s
    late = time.perf_counter()
    assert _reason(client, _forged_kid(rng)) == "keys_unavailable"  # past the wait: answered at once
    assert time.perf_counter() - late < 0.5  # at once: the fetch holds it 3 s
    fetcher.join()
    assert TIMEOUT - 0.5 < took["fetcher"] < TIMEOUT + 2  # the one thread the fetch holds, bounded by its timeout
    assert hanging.requests() == 1


def test_a_fetch_started_by_a_thread_is_shared_by_event_loops_and_threads(server_with_keys: JWKSServer) -> None:
    server_with_keys.delay = 0.2  # healthy, and slower than nothing: the lookups overlap it
    client = JWKSClient(server_with_keys.url)
    subjects: list[str] = []

    def in_a_thread() -> None:
        client.select("rsa-a", "RS256")
        subjects.append("thread")

    async def on_a_loop() -> None:
        await asyncio.sleep(0.05)  # the thread's fetch is in flight
        await asyncio.gather(*(client.aselect("rsa-a", "RS256") for _ in range(5)))
        subjects.append("loop")

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    asyncio.run(on_a_loop())
    thread.join()
    assert sorted(subjects) == ["loop", "thread"]
    assert server_with_keys.requests() == 1


def test_a_cancelled_waiter_does_not_cancel_the_fetch_for_the_others(server_with_keys: JWKSServer) -> None:
    server_with_keys.delay = 0.3
    client = JWKSClient(server_with_keys.url)

    async def main() -> list[Any]:
        fetcher = asyncio.create_task(client.aselect("rsa-a", "RS256"))
        await asyncio.sleep(0.05)
        impatient = asyncio.create_task(client.aselect("rsa-a", "RS256"))
        patient = asyncio.create_task(client.aselect("rsa-a", "RS256"))
        await asyncio.sleep(0.05)
        impatient.cancel()
        return await asyncio.gather(fetcher, impatient, patient, return_exceptions=True)

    fetched, cancelled, waited = asyncio.run(main())
    assert isinstance(cancelled, asyncio.CancelledError)
    assert callable(fetched)
    assert callable(waited)
    assert server_with_keys.requests() == 1


def test_a_cancelled_fetcher_still_fetches_for_the_others(server_with_keys: JWKSServer) -> None:
    # The fetch once ran in the loop's default executor: cancelled while still queued there (the
    # executor busy), it never ran, its flight never ended, and no lookup ever fetched again.
    from concurrent.futures import ThreadPoolExecutor

    client = JWKSClient(server_with_keys.url)
    release = threading.Event()

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1)
        loop.set_default_executor(executor)
        busy = loop.run_in_executor(None, release.wait, 5)  # the loop's executor is taken
        fetcher = asyncio.create_task(client.aselect("rsa-a", "RS256"))
        await asyncio.sleep(0.05)
        fetcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetcher
        release.set()
        await busy
        return await client.aselect("rsa-a", "RS256")

    assert callable(asyncio.run(main()))
    assert server_with_keys.requests() == 1


def test_with_wait_0_only_the_fetching_request_waits(hanging: JWKSServer) -> None:
    client = JWKSClient(hanging.url, timeout=TIMEOUT, wait=0)
    fetcher = threading.Thread(target=_reason, args=(client, "first"))
    fetcher.start()
    _until_fetching(hanging)

    async def waiter() -> float:
        started = time.perf_counter()
        with pytest.raises(InvalidToken):
            await client.aselect("second", "RS256")
        return time.perf_counter() - started

    assert asyncio.run(waiter()) < 0.5  # at once: the fetch holds it 3 s
    started = time.perf_counter()
    assert _reason(client, "third") == "keys_unavailable"
    assert time.perf_counter() - started < 0.5  # at once: the fetch holds it 3 s
    fetcher.join()


@pytest.mark.parametrize("wait", [-1, 61, "1", True, float("nan")])
def test_a_nonsensical_wait_is_refused(wait: Any) -> None:
    with pytest.raises(ConfigurationError, match="wait"):
        JWKSClient("https://auth.example.test/jwks", wait=wait)
