"""The examples on FastAPI (uvicorn), Flask (waitress) and Django (uvicorn, ASGI), called from a page on another origin.

The same cases on each: an allowed origin reads every answer and the headers a client
needs; other origins, look-alikes and ``null`` are blocked by the browser; a preflighted
``PUT``/``DELETE`` passes without being authenticated or counted; an HTML route's nonce
lets its own inline script run and no other, and the violation reaches the log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from examples._security import REPORT_PATH
from tests.browser import apps, fastapi_example
from tests.browser.conftest import Origins
from tests.browser.harness import SANDBOXED_PATH, Outcome, Probe
from tests.support.servers import uvicorn_server, waitress_server

pytestmark = pytest.mark.socket

FRAMEWORKS = ["fastapi-uvicorn", "flask-waitress", "django-uvicorn-asgi"]
READ = ("X-Request-ID", "WWW-Authenticate", "RateLimit", "RateLimit-Policy", "Retry-After", "Content-Type")


@pytest.fixture(scope="module", params=FRAMEWORKS)
def api(request: pytest.FixtureRequest, origins: Origins) -> Iterator[str]:
    """The example, served on its own port; yields its base URL."""
    with ExitStack() as stack:
        with apps.allowing(origins.allowed):  # the examples read it as they are built
            if request.param == "fastapi-uvicorn":
                served = uvicorn_server(fastapi_example.fastapi_app())
            elif request.param == "flask-waitress":
                served = waitress_server(apps.flask_app())
            else:
                from django.core.asgi import get_asgi_application

                stack.enter_context(apps.django_settings())
                served = uvicorn_server(get_asgi_application())
        yield f"http://127.0.0.1:{stack.enter_context(served)}"


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {apps.token()}"}


def remaining(outcome: Outcome, policy: str) -> int:
    """``r`` of ``policy`` in the ``RateLimit`` the page read."""
    field = outcome.headers.get("RateLimit") or ""
    found = re.search(rf'"{policy}";r=(\d+)', field)
    assert found, (policy, field)
    return int(found.group(1))


def until_refused(probe: Probe, url: str) -> Outcome:
    """Call ``url`` until the rate limit answers 429 (the example's is five a minute)."""
    for _ in range(20):
        outcome = probe.fetch(url, read=READ)
        if outcome.status == 429:
            return outcome
        assert outcome.status == 200, outcome
    raise AssertionError(f"{url} never answered 429")


def read_answer(probe: Probe, api: str, status: int) -> Outcome:
    """The request of each case, made from the page."""
    json = {"Content-Type": "application/json"}
    if status == 200:
        return probe.fetch(f"{api}/me", headers=bearer(), read=READ)  # preflighted (Authorization)
    if status == 401:
        return probe.fetch(f"{api}/me", read=READ)
    if status == 422:
        return probe.fetch(f"{api}/tasks", method="POST", headers=json, body='{"title": ""}', read=READ)
    if status == 429:
        return until_refused(probe, f"{api}/limited")
    if status == 500:
        return probe.fetch(f"{api}/boom", read=READ)
    raise AssertionError(status)


@pytest.mark.parametrize("status", [200, 401, 422, 429, 500])
def test_the_allowed_origin_reads_the_answer_and_its_headers(
    probe: Probe, origins: Origins, api: str, status: int
) -> None:
    probe.open(f"{origins.allowed}/")
    outcome = read_answer(probe, api, status)
    assert outcome.readable, outcome
    assert outcome.status == status
    body = outcome.json()
    request_id = outcome.headers["X-Request-ID"]
    assert request_id, "X-Request-ID is not exposed"
    if status == 200:
        assert body["sub"] == "browser-user"
        return
    assert body["error"]["request_id"] == request_id  # the id a user quotes to support, readable by the page
    expected = {401: "UNAUTHORIZED", 422: "VALIDATION_ERROR", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR"}[status]
    assert body["error"]["code"] == expected
    if status == 401:
        assert (outcome.headers["WWW-Authenticate"] or "").startswith("Bearer")
    if status == 429:
        assert outcome.headers["Retry-After"], outcome.headers
        assert outcome.headers["RateLimit-Policy"], outcome.headers
        assert re.search(r";r=0;", outcome.headers["RateLimit"] or ""), outcome.headers
    if status == 500:
        assert apps.BUG not in (outcome.body or "")


REFUSED = ["another-host", "localhost-for-127.0.0.1", "another-port", "null-sandboxed-page", "null-sandboxed-iframe"]


def open_refused(probe: Probe, origins: Origins, which: str) -> str:
    """Open a page on a refused origin; returns the origin the page has."""
    if which == "null-sandboxed-page":
        # (Not a data: page: Chromium blocks its calls to loopback for another reason, Private Network Access.)
        probe.open(f"{origins.allowed}{SANDBOXED_PATH}")
    elif which == "null-sandboxed-iframe":
        probe.open_sandboxed(f"{origins.allowed}/")  # inside a page of the allowed origin, even
    else:
        probe.open(f"{origins.refused[which]}/")
    return probe.origin


@pytest.mark.parametrize("which", REFUSED)
def test_other_origins_look_alikes_and_null_are_blocked(probe: Probe, origins: Origins, api: str, which: str) -> None:
    origin = open_refused(probe, origins, which)
    assert origin != origins.allowed
    simple = probe.fetch(f"{api}/me", read=READ)  # the server answers (401); the page may not read it
    assert simple.blocked, simple
    assert simple.cors_error == "MissingAllowOriginHeader" or "Access-Control-Allow-Origin" in (simple.console or "")
    preflighted = probe.fetch(
        f"{api}/guarded", method="PUT", headers={**bearer(), "Content-Type": "application/json"}, body="{}"
    )
    assert preflighted.blocked, preflighted  # refused at the preflight: the PUT is never sent
    assert "preflight" in (preflighted.console or "").lower() or (preflighted.cors_error or "").startswith(
        "Preflight"
    ), preflighted


def test_preflights_are_neither_authenticated_nor_counted(
    probe: Probe, origins: Origins, api: str, log_lines: Any
) -> None:
    probe.open(f"{origins.allowed}/")
    seen = [probe.fetch(f"{api}/me", read=READ)]  # a simple request: no preflight
    for method in ("PUT", "DELETE"):
        headers = {**bearer(), "Idempotency-Key": f"browser-{time.monotonic_ns()}", "Content-Type": "application/json"}
        # Another URL for each: the browser would reuse the first preflight's answer for the same one.
        outcome = probe.fetch(f"{api}/guarded?{method}", method=method, headers=headers, body="{}", read=READ)
        assert outcome.readable, outcome
        assert outcome.status == 200
        assert outcome.json() == {"method": method}
        seen.append(outcome)
    # The site-wide limit counts every request the application sees: one per call, none for their preflights.
    left = [remaining(outcome, apps.SITE_POLICY) for outcome in seen]
    assert left == [left[0], left[0] - 1, left[0] - 2]
    asked = [x for x in log_lines.lines if x.get("http_method") == "OPTIONS"]
    preflights = [x for x in asked if x.get("http_path", "").startswith("/guarded")]
    assert [x["http_status"] for x in preflights] == [204, 204], preflights  # the browser did ask, and was answered


def test_the_nonce_lets_its_script_run_and_no_other(probe: Probe, api: str, log_lines: Any) -> None:
    response = probe.load(f"{api}/")  # the example's HTML page: one inline script with the nonce, one without
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    assert f"report-uri {REPORT_PATH}" in policy, policy
    assert probe.page.evaluate("document.querySelector('script[nonce]').nonce") == nonce.group(1)
    assert probe.page.text_content("#nonced") == "ran"
    assert probe.page.text_content("#unnonced") == "waiting"
    assert [v["directive"] for v in probe.violations] == ["script-src-elem"], probe.violations
    assert probe.violations[0]["blocked"] == "inline"
    assert probe.violations[0]["disposition"] == "enforce"
    # The browser reports it to report-uri; the application logs it.
    reports: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while not reports and time.monotonic() < deadline:
        probe.page.wait_for_timeout(50)
        reports = [line for line in log_lines.lines if line.get("logger") == "backendkit.security.csp"]
    assert reports, "no CSP report reached the log"
    assert "script-src-elem" in reports[0]["message"], reports[0]
