"""The origin matcher against look-alike origins: only what is equal after normalising, or under a pattern."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from backendkit.errors import ConfigurationError
from backendkit.security._core.origins import OriginMatcher, normalize_origin, parse_pattern

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
TLD = st.sampled_from(["com", "org", "test", "example", "co.uk", "io"])
HOST = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3), TLD)
SCHEME = st.sampled_from(["http", "https"])
PORT = st.one_of(st.none(), st.integers(1, 65535))
DEFAULT = {"http": 80, "https": 443}
CYRILLIC_A = "\u0430"


def origin(scheme: str, host: str, port: int | None) -> str:
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def spellings(draw: st.DrawFn, scheme: str, host: str, port: int | None) -> str:
    """One spelling of the same origin: any case, the default port written or not."""
    if port is None and draw(st.booleans()):
        port = DEFAULT[scheme]
    text = origin(scheme, host, port)
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def allowed_origin(draw: st.DrawFn) -> tuple[str, str, str, int | None]:
    scheme, host, port = draw(SCHEME), draw(HOST), draw(PORT)
    if port == DEFAULT[scheme]:
        port = None
    return origin(scheme, host, port), scheme, host, port


@st.composite
def same_origin_spelled(draw: st.DrawFn) -> tuple[str, str]:
    text, scheme, host, port = draw(allowed_origin())
    return text, spellings(draw, scheme, host, port)


@given(same_origin_spelled())
@example(("https://example.com", "HTTPS://EXAMPLE.COM:443"))
@example(("http://127.0.0.1:8080", "HTTP://127.0.0.1:8080"))
def test_an_allowed_origin_matches_in_any_case_and_default_port_spelling(pair: tuple[str, str]) -> None:
    allowed, spelled = pair
    assert OriginMatcher([allowed]).allows(spelled)
    assert OriginMatcher([spelled]).allows(allowed)  # the setting is normalised too
    assert normalize_origin(spelled) == allowed


def look_alikes(scheme: str, host: str, port: int | None) -> list[str]:
    """Origins a careless matcher (substring, suffix, prefix, lenient parsing) would take for the allowed one."""
    other = "https" if scheme == "http" else "http"
    text = origin(scheme, host, port)
    first, _, rest = host.partition(".")
    out = [
        f"{scheme}://{host}.evil.test",
        f"{scheme}://evil{host}",
        f"{scheme}://evil-{host}",
        f"{scheme}://{host}evil.test",
        f"{scheme}://{first}evil.{rest}" if rest else f"{scheme}://{first}evil",
        f"{scheme}://{host[:-1]}",
        origin(other, host, port),
        origin(scheme, host, 8443 if port != 8443 else 8444),
        f"{scheme}://user@{host}" + (f":{port}" if port else ""),
        f"{scheme}://{host}@evil.test",
        f"{scheme}://evil.test#{host}",
        f"{scheme}://evil.test?{host}",
        f"{scheme}://evil.test/{host}",
        f"{text}/",
        f"{text}/path",
        f"{text}?q",
        f"{text}#f",
        f"{scheme}://{host}.",
        f" {text}",
        f"{text} ",
        f"{text}\t",
        f"{text}\r\nX: y",
        f"{scheme}://{host}\u3002evil.test",
        scheme + "://" + host.replace("a", CYRILLIC_A),
        f"ws://{host}",
        f"wss://{host}",
        f"ftp://{host}",
        f"file://{host}",
        f"chrome-extension://{first}",
        f"{scheme}:/{host}",
        f"{scheme}:{host}",
        f"//{host}",
        host,
        "null",
        "",
    ]
    return [item for item in out if normalize_origin(item) != text]


@given(allowed_origin(), st.data())
def test_no_look_alike_matches_an_exact_origin(allowed: tuple[str, str, str, int | None], data: st.DataObject) -> None:
    text, scheme, host, port = allowed
    matcher = OriginMatcher([text])
    candidate = data.draw(st.sampled_from(look_alikes(scheme, host, port)))
    assert not matcher.allows(candidate), candidate


@given(SCHEME, HOST, LABEL, LABEL, PORT, st.data())
def test_a_one_label_pattern_matches_one_label_and_nothing_else(
    scheme: str, suffix: str, label: str, deeper: str, port: int | None, data: st.DataObject
) -> None:
    if port == DEFAULT[scheme]:
        port = None
    matcher = OriginMatcher([origin(scheme, f"*.{suffix}", port)])
    assert matcher.allows(origin(scheme, f"{label}.{suffix}", port))
    assert matcher.allows(origin(scheme.upper(), f"{label}.{suffix}".upper(), port or DEFAULT[scheme]))
    refused = [
        origin(scheme, suffix, port),  # the domain itself
        origin(scheme, f"{deeper}.{label}.{suffix}", port),  # two labels deep
        origin(scheme, f"{label}{suffix}", port),
        origin(scheme, f"{label}.{suffix}.evil.test", port),
        origin(scheme, f"{label}-{suffix}", port),
        origin("https" if scheme == "http" else "http", f"{label}.{suffix}", port),
        origin(scheme, f"{label}.{suffix}", 8443 if port != 8443 else 8444),
        origin(scheme, f"{label}.{suffix}", port) + "/",
        f"{scheme}://user@{label}.{suffix}",
        f"{scheme}://{label}.{suffix}.",
        "null",
    ]
    candidate = data.draw(st.sampled_from(refused))
    assert not matcher.allows(candidate), candidate


@given(SCHEME, HOST, st.lists(LABEL, min_size=1, max_size=4), PORT)
def test_a_deep_pattern_matches_any_depth_but_not_the_domain(
    scheme: str, suffix: str, labels: list[str], port: int | None
) -> None:
    if port == DEFAULT[scheme]:
        port = None
    matcher = OriginMatcher([origin(scheme, f"**.{suffix}", port)])
    assert matcher.allows(origin(scheme, ".".join([*labels, suffix]), port))
    assert not matcher.allows(origin(scheme, suffix, port))
    assert not matcher.allows(origin(scheme, ".".join([*labels, suffix, "evil", "test"]), port))
    assert not matcher.allows(origin(scheme, "".join(labels) + suffix, port))


@given(st.text(max_size=80))
@example("null")
@example("https://a.b/c")
@example("chrome-extension://abcdef")
def test_normalize_origin_is_idempotent_and_its_answer_has_no_url_parts(text: str) -> None:
    normal = normalize_origin(text)
    if normal is None:
        return
    assert normalize_origin(normal) == normal
    after = normal.split("://", 1)[1] if normal != "null" else ""
    assert not set(after) & set("/?#@\\ \t\r\n")
    assert normal.isascii()
    assert normal.isprintable()


SCHEME_TEXT = st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,8}", fullmatch=True)
AUTHORITY = st.text(st.characters(codec="ascii"), min_size=1, max_size=40)


@given(SCHEME_TEXT, AUTHORITY)
def test_normalize_origin_on_url_like_text(scheme: str, authority: str) -> None:
    normal = normalize_origin(f"{scheme}://{authority}")
    if normal is None:
        return
    assert normalize_origin(normal) == normal
    rest = normal.split("://", 1)[1]
    assert not set(rest) & set("/?#@\\ \t\r\n")


@given(
    st.one_of(
        st.just("null"),
        st.builds(
            lambda s, h: f"{s}://{h}",
            st.sampled_from(["ws", "wss", "ftp", "chrome-extension", "moz-extension", "file"]),
            HOST,
        ),
    )
)
def test_star_matches_neither_null_nor_other_schemes(candidate: str) -> None:
    assert not OriginMatcher(["*"]).allows(candidate)


@given(allowed_origin())
def test_star_matches_any_http_origin(allowed: tuple[str, str, str, int | None]) -> None:
    assert OriginMatcher(["*"]).allows(allowed[0])


def test_null_and_other_schemes_are_matched_only_when_named_exactly() -> None:
    matcher = OriginMatcher(["null", "chrome-extension://abcdefghij"])
    assert matcher.allows("null")
    assert matcher.allows("chrome-extension://abcdefghij")
    assert matcher.allows("CHROME-EXTENSION://ABCDEFGHIJ")  # compared after lower-casing, as the host is
    assert not matcher.allows("chrome-extension://abcdefghijk")
    assert not matcher.allows("moz-extension://abcdefghij")
    assert not matcher.allows("NULL")
    assert not OriginMatcher(["https://example.com"]).allows("null")


@given(st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=5), HOST)
def test_non_ascii_is_no_origin(extra: str, host: str) -> None:
    assert normalize_origin(f"https://{extra}{host}") is None
    assert normalize_origin(f"https://{host}{extra}") is None
    assert not OriginMatcher([f"https://{host}", "*"]).allows(f"https://{extra}.{host}")


@pytest.mark.parametrize(
    "text",
    [
        "https://[::1]",
        "https://[2001:db8::1]:8443",
        "http://127.0.0.1:8080",
        "https://xn--bcher-kva.example",
    ],
)
def test_hosts_that_are_addresses_or_punycode_are_origins(text: str) -> None:
    assert normalize_origin(text) == text
    assert OriginMatcher([text]).allows(text.upper())


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com:0",
        "https://example.com:65536",
        "https://example.com:",
        "https://example.com:+443",
        "https://example.com:443:443",
        "https://[::1",
        "https://[::1]x",
        "https://[::1]1443",
        "https://-a.example.com",
        "https://a-.example.com",
        "https://a..example.com",
        "https://" + "a" * 64 + ".com",
        "https://a_b.example.com",
        "https://",
        "://example.com",
        "1https://example.com",
        "https://" + "a." * 300 + "com",
    ],
)
def test_malformed_origins_are_none(text: str) -> None:
    assert normalize_origin(text) is None


@pytest.mark.parametrize(
    "setting",
    [
        "https://example.com/",
        "example.com",
        "https://*.com",
        "https://*example.com",
        "https://a.*.example.com",
        "https://*.*.example.com",
        "*.example.com",
        "ws://*.example.com",
        "https://*.[::1]",
        "https://*.0.0.1",
        "http://**.168.1.1:8080",
        "null.example.com",
    ],
)
def test_settings_that_are_neither_origin_nor_pattern_are_refused(setting: str) -> None:
    with pytest.raises(ConfigurationError):
        OriginMatcher([setting])


def test_allowed_origins_are_a_list() -> None:
    with pytest.raises(ConfigurationError, match="list"):
        OriginMatcher("https://example.com")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="string"):
        parse_pattern(42)  # type: ignore[arg-type]


PATTERN = st.builds(lambda s, h: f"{s}://*.{h}", SCHEME, HOST)


@st.composite
def candidates(draw: st.DrawFn, allowed: list[str]) -> str:
    """Text near the allowed origins: one of them, a subdomain, a look-alike, respelled; or any text."""
    base = draw(st.sampled_from(allowed)).replace("*.", draw(st.sampled_from(["", "a.", "a.b.", "*."])))
    scheme, _, authority = base.partition("://")
    host, _, port = authority.partition(":")
    near = draw(st.sampled_from([*look_alikes(scheme, host, int(port) if port else None), base]))
    return draw(st.one_of(st.just(near), st.just(near.upper()), st.text(max_size=40)))


@settings(max_examples=300)
@given(st.lists(st.one_of(allowed_origin().map(lambda a: a[0]), PATTERN), min_size=1, max_size=4), st.data())
def test_whatever_matches_is_an_allowed_origin_or_under_a_pattern(allowed: list[str], data: st.DataObject) -> None:
    """The oracle: normalise, then equality or a one-label suffix check, written differently from the code."""
    candidate = data.draw(candidates(allowed))
    matcher = OriginMatcher(allowed)
    normal = normalize_origin(candidate)
    expected = False
    if normal is not None:
        for item in allowed:
            if "*." in item:
                scheme, _, suffix = item.partition("://*.")
                head, _, tail = normal.partition("://")
                labels = tail.split(".")
                expected |= head == scheme and ":" not in tail and labels[1:] == suffix.split(".") and len(labels) > 1
            else:
                expected |= normal == normalize_origin(item)
    assert matcher.allows(candidate) is expected, candidate


@given(allowed_origin(), HOST)
def test_generated_look_alike_hosts(allowed: tuple[str, str, str, int | None], other: str) -> None:
    text, scheme, host, port = allowed
    assume(other != host and not other.endswith("." + host))  # (a subdomain of host is under the pattern)
    matcher = OriginMatcher([text, f"{scheme}://*.{host}"])
    assert not matcher.allows(origin(scheme, other, port))
    assert not matcher.allows(origin(scheme, other + host, port))
    assert not matcher.allows(origin(scheme, f"{host}.{other}", port))


def test_an_ipv6_origin_is_compared_as_browsers_write_it() -> None:
    # WHATWG's serialiser compresses the address; a config written otherwise still matches it.
    assert normalize_origin("http://[0:0::1]:8000") == "http://[::1]:8000"
    assert normalize_origin("http://[::FFFF:1.2.3.4]") == "http://[::ffff:102:304]"
    assert normalize_origin("http://[zz::1]") is None
    assert OriginMatcher(["http://[0:0:0:0:0:0:0:1]:8000"]).allows("http://[::1]:8000")
