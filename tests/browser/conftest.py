"""A browser for the session's browser tests, the pages the probes run in, and a fresh page per test.

The browser and the page servers live as long as this package's tests (``scope="package"``), not
the whole session: Playwright's sync API keeps an event loop on the main thread while it runs,
and a test after it that calls async code from sync code (Django's test client) would find it.

Skips (with the reason) where Playwright or Chromium is missing, unless
BACKENDKIT_REQUIRE_BROWSER=1 (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.harness import OTHER_HOST, REQUIRE_ENV, Probe, browser_required, launch, missing_browser, page_server


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    reason = missing_browser()
    if reason is not None:
        if browser_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class Origins:
    """The origins the probe pages are served from: one allowed, the others not."""

    port: int  # the allowed page's
    other_port: int

    @property
    def allowed(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def refused(self) -> dict[str, str]:
        """A disallowed origin and the look-alikes of the allowed one, by what they are."""
        return {
            "another-host": f"http://{OTHER_HOST}:{self.port}",
            "localhost-for-127.0.0.1": f"http://localhost:{self.port}",
            "another-port": f"http://127.0.0.1:{self.other_port}",
        }


@pytest.fixture(scope="package")
def origins() -> Iterator[Origins]:
    """Two page servers; the apps the tests build allow the first one's origin (only)."""
    with page_server() as port, page_server() as other_port:
        yield Origins(port, other_port)


@pytest.fixture
def probe(browser: Any) -> Iterator[Probe]:
    """A fresh context and page (no cookies, no cached preflights from another test)."""
    opened = Probe(browser)
    try:
        yield opened
    finally:
        opened.close()
