"""ResponseHeaders: an ASGI response's header pairs as the header channel and the security headers write them."""

from __future__ import annotations

from backendkit.asgi._respond import ResponseHeaders


def test_a_field_is_read_whatever_the_case_of_its_name() -> None:
    headers = ResponseHeaders([(b"content-type", b"application/json"), (b"X-Request-ID", b"abc")])
    assert headers.get("Content-Type") == "application/json"
    assert headers.get("x-request-id") == "abc"
    assert headers.get("X-Frame-Options") is None


def test_a_repeated_field_reads_as_its_lines_joined() -> None:
    pairs = [(b"vary", b"Accept"), (b"content-type", b"text/plain"), (b"Vary", b"Cookie")]
    assert ResponseHeaders(pairs).get("Vary") == "Accept, Cookie"


def test_setting_a_field_replaces_all_its_lines() -> None:
    pairs = [(b"vary", b"Accept"), (b"content-type", b"text/plain"), (b"Vary", b"Cookie")]
    headers = ResponseHeaders(pairs)
    headers["VARY"] = "Origin"
    headers["X-Frame-Options"] = "DENY"
    assert pairs == [(b"content-type", b"text/plain"), (b"vary", b"Origin"), (b"x-frame-options", b"DENY")]
    assert headers.get("vary") == "Origin"


def test_names_beyond_the_remembered_ones_are_still_written_right() -> None:
    pairs: list[tuple[bytes, bytes]] = []
    headers = ResponseHeaders(pairs)
    for n in range(600):
        headers[f"X-Field-{n}"] = str(n)
    assert headers.get("x-field-599") == "599"
    assert pairs[-1] == (b"x-field-599", b"599")
    assert len(pairs) == 600


def test_setdefault_adds_a_field_only_when_the_response_lacks_it() -> None:
    pairs = [(b"X-Frame-Options", b"SAMEORIGIN")]
    headers = ResponseHeaders(pairs)
    headers.setdefault("x-frame-options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("referrer-policy", "origin")
    assert pairs == [(b"X-Frame-Options", b"SAMEORIGIN"), (b"referrer-policy", b"no-referrer")]
