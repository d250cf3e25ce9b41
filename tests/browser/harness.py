"""A real browser (headless Chromium, driven by Playwright) calling APIs from a page on another origin.

The page is served by a small server of its own on loopback (``PageServer``); the
APIs listen on other ports, so every ``fetch`` the page makes is a true cross-origin
request that the browser polices. A :class:`Probe` runs one ``fetch`` in the page and
says what the page could read (status, body, the headers it asked for), or that the
browser blocked it and why: the reason comes from the DevTools protocol's
``Network.loadingFailed`` event (``corsErrorStatus``) and from the console message,
never from whether the server saw the request (a blocked simple request still runs).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
REQUIRE_ENV = "BACKENDKIT_REQUIRE_BROWSER"
# A name of our own for a disallowed origin: Chromium resolves it to loopback (see launch()).
OTHER_HOST = "evil.test"

SANDBOXED_PATH = "/sandboxed"  # the page server sends this one with CSP "sandbox": its origin is "null"
PAGE = b"<!doctype html><html><head><meta charset=utf-8><title>probe</title></head><body>probe</body></html>"


def chromium_path() -> str | None:
    """Debian's Chromium binary (the real one, not the shell wrapper, where both exist)."""
    configured = os.environ.get("BACKENDKIT_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (``None`` when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "no Chromium binary (apt-get install chromium; or set BACKENDKIT_CHROMIUM)"
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def launch(playwright: Any) -> Any:
    """Headless Chromium from the system's binary; ``evil.test`` resolves to loopback in it."""
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=[f"--host-resolver-rules=MAP {OTHER_HOST} 127.0.0.1"],
    )


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        if self.path == SANDBOXED_PATH:  # a document of origin "null", served from loopback
            self.send_header("Content-Security-Policy", "sandbox allow-scripts")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def page_server() -> Iterator[int]:
    """A server of the blank page the probes run in, on a free loopback port; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="page-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Outcome:
    """What a page saw of one ``fetch``."""

    readable: bool
    status: int | None = None
    body: str | None = None
    headers: dict[str, str | None] = field(default_factory=dict)  # the names asked for: what the page read
    cors_error: str | None = None  # corsErrorStatus.corsError of Network.loadingFailed
    console: str | None = None  # the console's message about it
    error: str | None = None  # what the page's fetch rejected with

    @property
    def blocked(self) -> bool:
        return not self.readable

    def json(self) -> Any:
        import json

        assert self.body is not None, self
        return json.loads(self.body)

    def summary(self) -> str:
        """One cell of a results table."""
        if self.readable:
            return f"{self.status}"
        return f"blocked ({self.cors_error or self.console or self.error})"


FETCH = """async ({url, method, headers, body, read}) => {
  try {
    const r = await fetch(url, {method, headers, body, credentials: "include", cache: "no-store"});
    const text = await r.text();
    const got = {};
    for (const name of read) got[name] = r.headers.get(name);
    return {readable: true, status: r.status, body: text, headers: got};
  } catch (e) {
    return {readable: false, error: String(e)};
  }
}"""

# Every page records the CSP violations it sees, from before its own scripts run.
VIOLATIONS = """window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(
  {directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition}));"""

SANDBOX = """(html) => new Promise((resolve) => {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.srcdoc = html;
  frame.onload = () => resolve(true);
  document.body.appendChild(frame);
})"""


class Probe:
    """One fresh browser context and page, on one origin, and the fetches it runs."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.context.add_init_script(VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.failures: list[dict[str, Any]] = []  # Network.loadingFailed with the request's url and method
        self._requests: dict[str, tuple[str, str]] = {}
        self.page.on("console", lambda message: self.console.append(message.text))
        self._cdp = self.context.new_cdp_session(self.page)
        self._cdp.on("Network.requestWillBeSent", self._sent)
        self._cdp.on("Network.loadingFailed", self._failed)
        self._cdp.send("Network.enable")
        self.frame: Any = self.page.main_frame

    def _sent(self, event: Mapping[str, Any]) -> None:
        request = event["request"]
        self._requests[event["requestId"]] = (request["method"], request["url"])

    def _failed(self, event: Mapping[str, Any]) -> None:
        method, url = self._requests.get(event["requestId"], ("?", "?"))
        self.failures.append({**event, "method": method, "url": url})

    def close(self) -> None:
        self.context.close()

    def open(self, url: str) -> Probe:
        """Load the page the fetches run in (its origin is the one the API sees)."""
        self.page.goto(url)
        self.frame = self.page.main_frame
        return self

    def open_sandboxed(self, url: str) -> Probe:
        """Load ``url``, then run the fetches in a sandboxed iframe of it (origin ``null``)."""
        self.open(url)
        self.page.evaluate(SANDBOX, "<!doctype html><title>sandboxed</title>")
        self.frame = self.page.frames[-1]
        assert self.frame.evaluate("self.origin") == "null"
        return self

    @property
    def origin(self) -> str:
        origin: str = self.frame.evaluate("self.origin")
        return origin

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        read: Sequence[str] = (),
    ) -> Outcome:
        """``fetch(url)`` with credentials from the page; what it could read, or why it was blocked."""
        console_from, failures_from = len(self.console), len(self.failures)
        result = self.frame.evaluate(
            FETCH, {"url": url, "method": method, "headers": dict(headers or {}), "body": body, "read": list(read)}
        )
        if result["readable"]:
            return Outcome(True, result["status"], result["body"], result["headers"])
        # The page learns only "Failed to fetch"; the reason comes as events, which may trail the promise: the
        # console's message always, the DevTools event where the request was the page's own (not an iframe's).
        failure, message = None, None
        own = self.frame == self.page.main_frame  # an iframe's requests are not in this page's DevTools events
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            failure = next((f for f in self.failures[failures_from:] if f["url"] == url), None)
            message = next((m for m in self.console[console_from:] if "CORS" in m), None)
            if message is not None and (failure is not None or not own):
                break
            self.page.wait_for_timeout(10)
        cors = failure.get("corsErrorStatus", {}).get("corsError") if failure is not None else None
        return Outcome(False, cors_error=cors, console=message, error=result["error"])

    def load(self, url: str) -> Any:
        """Navigate to ``url`` (an HTML page of the API itself); returns the response."""
        return self.page.goto(url)

    @property
    def violations(self) -> list[dict[str, str]]:
        """The page's ``securitypolicyviolation`` events so far: directive, blocked URI, disposition."""
        found: list[dict[str, str]] = self.page.evaluate("window.violations")
        return found
