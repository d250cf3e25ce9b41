"""The browser cases as rows of a table: what a page could read of each answer, per server.

:func:`observe` runs every case against one API from fresh pages and returns one
:class:`Outcome` per row; :func:`render` lays the observations of several servers
side by side in markdown. ``python -m tests.browser.peers`` does both for the
examples and the peers (docs/_browser_table.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tests.browser.harness import Outcome, Probe

READ = ("X-Request-ID", "WWW-Authenticate", "RateLimit", "RateLimit-Policy", "Retry-After", "Content-Type")
JSON = {"Content-Type": "application/json"}

# Row: (title, headers whose readability the cell names)
ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "200": ("200 JSON (`GET` with `Authorization`: preflighted)", ("X-Request-ID",)),
    "401": ("401 JSON", ("WWW-Authenticate", "X-Request-ID")),
    "422": ("422 JSON (`POST` JSON: preflighted)", ("X-Request-ID",)),
    "429": ("429 JSON", ("RateLimit", "Retry-After", "X-Request-ID")),
    "500": ("500 (an exception escapes)", ("X-Request-ID",)),
    "404": ("404 (no such route)", ("X-Request-ID",)),
    "PUT": ("`PUT` with `Authorization`, `Idempotency-Key`, JSON (preflighted)", ()),
    "DELETE": ("`DELETE` with `Authorization`, `Idempotency-Key`, JSON (preflighted)", ()),
    "another-host": ("a page on another host", ()),
    "localhost-for-127.0.0.1": ("`localhost` for `127.0.0.1` (look-alike)", ()),
    "another-port": ("another port (look-alike)", ()),
    "null-sandboxed-iframe": ("`null` (a sandboxed iframe)", ()),
    "csp": ("HTML route: inline script with the CSP nonce / without it", ()),
}
REFUSED_ROWS = ("another-host", "localhost-for-127.0.0.1", "another-port", "null-sandboxed-iframe")


def _until_refused(probe: Probe, url: str) -> Outcome:
    outcome = probe.fetch(url, read=READ)
    for _ in range(20):
        if not outcome.readable or outcome.status != 200:
            return outcome
        outcome = probe.fetch(url, read=READ)
    return outcome


def answers(probe: Probe, api: str, bearer: Mapping[str, str]) -> dict[str, Outcome]:
    """The read cases, from a page of the allowed origin (already open in ``probe``)."""
    key = {"Idempotency-Key": f"table-{time.monotonic_ns()}"}
    sent = {**bearer, **key, **JSON}
    return {
        "200": probe.fetch(f"{api}/me", headers=bearer, read=READ),
        "401": probe.fetch(f"{api}/me", read=READ),
        "422": probe.fetch(f"{api}/tasks", method="POST", headers=JSON, body='{"title": ""}', read=READ),
        "429": _until_refused(probe, f"{api}/limited"),
        "500": probe.fetch(f"{api}/boom", read=READ),
        "404": probe.fetch(f"{api}/no-such-route", read=READ),
        "PUT": probe.fetch(f"{api}/guarded", method="PUT", headers=sent, body="{}", read=READ),
        "DELETE": probe.fetch(
            f"{api}/guarded", method="DELETE", headers={**bearer, **key, **JSON}, body="{}", read=READ
        ),
    }


def refusals(browser: Any, pages: Mapping[str, str], api: str) -> dict[str, Outcome]:
    """A simple ``GET /me`` (the server answers it) from each refused origin's page (``pages``: name to URL)."""
    found: dict[str, Outcome] = {}
    for name, url in pages.items():
        probe = Probe(browser)
        try:
            if name.startswith("null-sandboxed-iframe"):
                probe.open_sandboxed(url)
            else:
                probe.open(url)
            found[name] = probe.fetch(f"{api}/me", read=READ)
        finally:
            probe.close()
    return found


def nonce_page(browser: Any, url: str) -> str:
    """Load an example's HTML page (one inline script with the nonce, one without): which ran."""
    probe = Probe(browser)
    try:
        probe.load(url)
        ran = [probe.page.text_content(f"#{which}") == "ran" for which in ("nonced", "unnonced")]
        violations = probe.violations
    finally:
        probe.close()
    with_nonce = "runs" if ran[0] else "**blocked**"
    without = "**runs**" if ran[1] else "blocked"
    seen = f" (`securitypolicyviolation`: {violations[0]['directive']})" if violations else ""
    return f"with: {with_nonce}; without: {without}{seen}"


def observe(
    browser: Any,
    allowed_page: str,
    refused_pages: Mapping[str, str],
    api: str,
    token: str,
    *,
    html_page: str | None = None,
) -> dict[str, Any]:
    """Every row's outcome for the API at ``api`` (``html_page``: its nonce'd HTML route, if it has one)."""
    probe = Probe(browser).open(allowed_page)
    try:
        found: dict[str, Any] = answers(probe, api, {"Authorization": f"Bearer {token}"})
    finally:
        probe.close()
    found.update(refusals(browser, refused_pages, api))
    found["csp"] = nonce_page(browser, html_page) if html_page else "no CSP: not what the tool does"
    return found


def cell(row: str, outcome: Outcome | str) -> str:
    """What the page saw, in a few words."""
    _, named = ROWS[row]
    if isinstance(outcome, str):
        return outcome
    if row in REFUSED_ROWS:
        return "blocked" if outcome.blocked else f"**readable** ({outcome.status})"
    if outcome.blocked:
        return f"**not readable** ({outcome.cors_error or 'blocked'})"
    kind = (outcome.headers.get("Content-Type") or "").split(";")[0]
    text = f"readable ({outcome.status}{', HTML' if kind == 'text/html' else ''})"
    if named:
        seen = [f"{name} {'yes' if outcome.headers.get(name) else '**no**'}" for name in named]
        text += "; " + ", ".join(seen)
    return text


def render(columns: Mapping[str, Mapping[str, Outcome | str]], notes: Callable[[], list[str]] | None = None) -> str:
    """A markdown table: one row per case, one column per server."""
    names = list(columns)
    lines = ["| case | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for row, (title, _) in ROWS.items():
        cells = [cell(row, columns[name][row]) if row in columns[name] else "" for name in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, *(notes() if notes else [])]) + "\n"
