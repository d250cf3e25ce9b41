"""The browser cases against the examples and the CORS peers, side by side: ``python -m tests.browser.peers``.

Serves the three examples (backendkit's CORS) and the same routes behind Starlette's
CORSMiddleware (its defaults plus the origin and credentials, and with ``*`` methods
and headers), flask-cors and django-cors-headers, runs :func:`tests.browser.table.observe`
on each in headless Chromium, and prints the markdown table (``--write`` also puts it in
docs/_browser_table.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.browser import apps, peer_apps, peer_starlette, table
from tests.browser.harness import OTHER_HOST, launch, missing_browser, page_server
from tests.support.net import free_port
from tests.support.servers import server_process, uvicorn_server, waitress_server

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "_browser_table.md"

OURS = ("FastAPI example", "Flask example", "Django example")
PEERS = (
    "Starlette CORSMiddleware (origins, credentials)",
    "Starlette CORSMiddleware (+ `*` methods, headers)",
    "flask-cors",
    "django-cors-headers",
)


@contextmanager
def django_peer(origin: str) -> Iterator[int]:
    """django-cors-headers in a process of its own (Django's settings are one per process)."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "tests.browser.peer_django:application", "--port", str(port)]
    args += ["--lifespan", "off", "--log-level", "warning"]
    env = {"DJANGO_SETTINGS_MODULE": "tests.browser.peer_django", apps.ORIGINS_ENV: origin}
    with server_process(args, port, env=env) as served:
        yield served


@contextmanager
def served(name: str, origin: str) -> Iterator[str]:
    """The API called ``name``, allowing ``origin``, served; yields its base URL."""
    with ExitStack() as stack, apps.allowing(origin):
        if name == "FastAPI example":
            from tests.browser.fastapi_example import fastapi_app

            port = stack.enter_context(uvicorn_server(fastapi_app()))
        elif name == "Flask example":
            port = stack.enter_context(waitress_server(apps.flask_app()))
        elif name == "Django example":
            from django.core.asgi import get_asgi_application

            stack.enter_context(apps.django_settings())
            port = stack.enter_context(uvicorn_server(get_asgi_application()))
        elif name.startswith("Starlette"):
            wide = "`*`" in name
            port = stack.enter_context(uvicorn_server(peer_starlette.starlette_app(methods_and_headers=wide)))
        elif name == "flask-cors":
            port = stack.enter_context(waitress_server(peer_apps.flask_app()))
        elif name == "django-cors-headers":
            port = stack.enter_context(django_peer(origin))
        else:
            raise ValueError(name)
        yield f"http://127.0.0.1:{port}"


def pages(port: int, other_port: int) -> tuple[str, dict[str, str]]:
    """The allowed page's URL, and the refused ones' by row."""
    allowed = f"http://127.0.0.1:{port}/"
    return allowed, {
        "another-host": f"http://{OTHER_HOST}:{port}/",
        "localhost-for-127.0.0.1": f"http://localhost:{port}/",
        "another-port": f"http://127.0.0.1:{other_port}/",
        "null-sandboxed-iframe": allowed,
    }


def observe_all(browser: Any, names: tuple[str, ...], port: int, other_port: int) -> dict[str, dict[str, Any]]:
    """Serve each API in turn (allowing the first page's origin only) and observe it."""
    allowed, refused = pages(port, other_port)
    columns: dict[str, dict[str, Any]] = {}
    for name in names:
        with served(name, allowed.rstrip("/")) as api:
            html = f"{api}/" if name in OURS else None
            columns[name] = table.observe(browser, allowed, refused, api, apps.token(), html_page=html)
    return columns


def merged(columns: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The three examples as one column when the browser saw the same on each (as it should)."""
    cells = [{row: table.cell(row, outcome) for row, outcome in columns[name].items()} for name in OURS]
    if any(c != cells[0] for c in cells[1:]):
        return columns
    return {"backendkit (FastAPI, Flask, Django examples)": columns[OURS[0]], **{p: columns[p] for p in PEERS}}


def notes(chromium: str) -> list[str]:
    from importlib.metadata import version

    tools = ", ".join(f"{name} {version(name)}" for name in ("starlette", "flask-cors", "django-cors-headers"))
    return [
        "",
        f"Measured by `python -m tests.browser.peers` in headless Chromium {chromium} (Debian's, driven by",
        f"Playwright {version('playwright')}), with {tools}. The page calling the API is on another loopback",
        'origin, the only one allowed, with credentials (`fetch(..., {credentials: "include"})`). *Readable*:',
        "the page got the status and the body; a header marked *no* was sent but the page could not read it",
        "(not exposed). Blocked calls name Chromium's reason: `PreflightInvalidStatus`, the preflight was",
        "refused (Starlette's defaults allow `GET` and the safelisted headers only); `MissingAllowOriginHeader`,",
        "the answer carried no CORS headers; `HeaderDisallowedByPreflightResponse`, a request header the",
        "preflight did not allow (`Idempotency-Key` is not among django-cors-headers' defaults). The peers",
        "serve the same routes without backendkit (tests/browser/peer_apps.py), the way an application",
        "using them would: the framework's own 404 and 500, a request-id middleware, a rate limiter's headers.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"also write {TABLE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    reason = missing_browser()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.conformance.django_settings")
    import django
    from playwright.sync_api import sync_playwright

    django.setup()
    with sync_playwright() as playwright, page_server() as port, page_server() as other_port:
        browser = launch(playwright)
        try:
            columns = observe_all(browser, OURS + PEERS, port, other_port)
            chromium = browser.version
        finally:
            browser.close()
    text = table.render(merged(columns), lambda: notes(chromium))
    print(text)
    if args.write:
        TABLE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
