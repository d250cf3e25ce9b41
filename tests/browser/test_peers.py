"""The peers' columns of the side-by-side table (docs/_browser_table.md), observed again on every run.

Nothing here says the peers ought to fail: each test states what a page could read
when the same routes sit behind the peer, as the table in the docs says, so that the
table stays true (``python -m tests.browser.peers --write`` rewrites it from a run).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import apps, peers, table
from tests.browser.conftest import Origins

pytestmark = pytest.mark.socket

READABLE_HEADERS_NOT = {
    "200": "readable (200); X-Request-ID **no**",
    "401": "readable (401); WWW-Authenticate **no**, X-Request-ID **no**",
    "422": "readable (422); X-Request-ID **no**",
    "429": "readable (429); RateLimit **no**, Retry-After **no**, X-Request-ID **no**",
}
BLOCKED = dict.fromkeys(table.REFUSED_ROWS, "blocked")
NOT_SENT = {"csp": "no CSP: not what the tool does"}
PREFLIGHT_FAILS = "**not readable** (PreflightInvalidStatus)"

EXPECTED: dict[str, dict[str, str]] = {
    # Its defaults allow GET only and the safelisted headers: every preflight is a 400.
    "Starlette CORSMiddleware (origins, credentials)": {
        **READABLE_HEADERS_NOT,
        "200": PREFLIGHT_FAILS,
        "422": PREFLIGHT_FAILS,
        "500": "**not readable** (MissingAllowOriginHeader)",  # the 500 is made outside it
        "404": "readable (404); X-Request-ID **no**",
        "PUT": PREFLIGHT_FAILS,
        "DELETE": PREFLIGHT_FAILS,
        **BLOCKED,
        **NOT_SENT,
    },
    "Starlette CORSMiddleware (+ `*` methods, headers)": {
        **READABLE_HEADERS_NOT,
        "500": "**not readable** (MissingAllowOriginHeader)",
        "404": "readable (404); X-Request-ID **no**",
        "PUT": "readable (200)",
        "DELETE": "readable (200)",
        **BLOCKED,
        **NOT_SENT,
    },
    "flask-cors": {
        **READABLE_HEADERS_NOT,
        "500": "readable (500, HTML); X-Request-ID **no**",
        "404": "readable (404, HTML); X-Request-ID **no**",
        "PUT": "readable (200)",
        "DELETE": "readable (200)",
        **BLOCKED,
        **NOT_SENT,
    },
    # Idempotency-Key is not among its default CORS_ALLOW_HEADERS.
    "django-cors-headers": {
        **READABLE_HEADERS_NOT,
        "500": "readable (500, HTML); X-Request-ID **no**",
        "404": "readable (404, HTML); X-Request-ID **no**",
        "PUT": "**not readable** (HeaderDisallowedByPreflightResponse)",
        "DELETE": "**not readable** (HeaderDisallowedByPreflightResponse)",
        **BLOCKED,
        **NOT_SENT,
    },
}


@pytest.fixture(scope="module", params=list(EXPECTED))
def observed(request: pytest.FixtureRequest, browser: Any, origins: Origins) -> Iterator[tuple[str, dict[str, Any]]]:
    """One peer served and every case run against it from fresh pages, once for the module."""
    allowed, refused = peers.pages(origins.port, origins.other_port)
    with peers.served(request.param, origins.allowed) as api:
        yield request.param, table.observe(browser, allowed, refused, api, apps.token())


@pytest.mark.parametrize("row", list(table.ROWS))
def test_the_peer_column_is_what_the_docs_say(observed: tuple[str, dict[str, Any]], row: str) -> None:
    peer, outcomes = observed
    assert table.cell(row, outcomes[row]) == EXPECTED[peer][row]
