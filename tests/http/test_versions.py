"""Versioning: the version a request names in its path, a header or the media type, and what is refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backendkit.errors import APIError, ConfigurationError
from backendkit.http import Deprecation, UnknownVersion, Versioning, version_error, versioning_setting

V1 = Deprecation(datetime(2026, 6, 1, tzinfo=timezone.utc))
PATH = Versioning({"1": V1, "2": None})
HEADER = Versioning(["1", "2"], source="header")
MEDIA = Versioning(["1", "2", "2.1"], source="media_type", default="1")
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", fullmatch=True)


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/tasks/3", "1"),
        ("/v2/tasks", "2"),
        ("/v2", "2"),
        ("v1/tasks", "1"),
        ("/tasks/v1", None),  # only the first segment
        ("/", None),
        ("/videos", None),  # a v, but no digit after it
        ("/v", None),
        ("/V1/tasks", None),
    ],
)
def test_path_versions(path: str, version: str | None) -> None:
    assert PATH.resolve(path=path) == version


@pytest.mark.parametrize("path", ["/v9/tasks", "/v10", "/v1.5/x", "/v2beta/tasks"])
def test_an_unknown_path_version_is_a_404_listing_the_supported(path: str) -> None:
    with pytest.raises(UnknownVersion) as raised:
        PATH.resolve(path=path)
    error = version_error(raised.value)
    assert isinstance(error, APIError)
    assert error.status == 404
    assert error.code == "UNSUPPORTED_VERSION"
    assert error.details == {"requested": path.split("/")[1][1:], "supported": ["1", "2"]}


@pytest.mark.parametrize(("header", "version"), [("1", "1"), (" 2\t", "2"), (None, "2"), ("", "2"), ("  ", "2")])
def test_header_versions(header: str | None, version: str) -> None:
    assert HEADER.resolve(header=header) == version


@pytest.mark.parametrize("header", ["3", "1, 2", "v1", "1.0"])
def test_an_unknown_header_version_is_a_400(header: str) -> None:
    with pytest.raises(UnknownVersion) as raised:
        HEADER.resolve(header=header)
    assert raised.value.status == 400
    assert raised.value.supported == ("1", "2")


def test_a_long_requested_version_is_shortened_in_the_answer() -> None:
    with pytest.raises(UnknownVersion) as raised:
        HEADER.resolve(header="9" * 500)
    assert raised.value.asked == "9" * 40 + "..."
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (None, "1"),  # the default
        ("application/json", "1"),
        ("application/json; version=2", "2"),
        ("application/json;version=2", "2"),
        ("application/json ; VERSION = 2", "2"),  # parameter names are case-insensitive
        ('application/json; version="2"', "2"),  # a quoted-string is the same value
        ('application/json; version="2.1"', "2.1"),
        ("text/html, application/json; version=2", "2"),
        ("text/html;q=0.9, application/json; version=2;q=1", "2"),
        ('application/json; note="a, b"; version=2', "2"),  # a comma inside quotes splits nothing
        ('application/json; note="x, version=9", text/plain', "1"),
        ('application/json; note="say \\"hi\\", then", application/json; version=2', "2"),
        ('application/json; version="2", application/json; version=1', "2"),  # the first that names one
        ("application/json; version=", "1"),  # empty: none named
        ("application/json; version", "1"),
        (",,", "1"),
    ],
)
def test_media_type_versions(accept: str | None, version: str) -> None:
    assert MEDIA.resolve(accept=accept) == version


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        ('application/json; note="a;version=2"', "1"),  # a semicolon inside quotes is not a new parameter
        ('application/json; note="; version=9"; version=2', "2"),
        ('application/json; note="x;y", text/plain; version=2', "2"),
    ],
)
def test_media_type_parameters_with_quoted_semicolons(accept: str, version: str) -> None:
    # RFC 9110 §5.6.6: parameter values may be quoted-strings, which hold ";" as they hold ",".
    assert MEDIA.resolve(accept=accept) == version


@given(NAMES, st.lists(st.sampled_from(["text/html", "*/*;q=0.1", 'a/b; x="1,2"', "image/*"]), max_size=3))
def test_a_version_parameter_is_found_among_other_ranges(name: str, others: list[str]) -> None:
    versioning = Versioning([name], source="media_type")
    accept = ", ".join([*others, f'application/json; version="{name}"'])
    assert versioning.resolve(accept=accept) == name


@given(st.text(max_size=80))
def test_resolve_answers_a_version_or_raises_unknown_version(text: str) -> None:
    for versioning, kwargs in ((PATH, {"path": text}), (HEADER, {"header": text}), (MEDIA, {"accept": text})):
        try:
            got: str | int | None = versioning.resolve(**kwargs)  # type: ignore[arg-type]
        except UnknownVersion as exc:
            got = exc.status
        assert got in (None, 400, 404, *versioning.supported)


def test_vary_and_deprecations() -> None:
    assert (PATH.vary, HEADER.vary, MEDIA.vary) == (None, "API-Version", "Accept")
    assert Versioning(["1"], source="header", header="X-Api").vary == "X-Api"
    assert PATH.deprecation("1") is V1
    assert PATH.deprecation("2") is None
    assert PATH.deprecation(None) is None
    assert HEADER.deprecation("1") is None  # a list: no deprecations
    assert PATH.supported == ("1", "2")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"versions": []}, "at least one"),
        ({"versions": ["1 "]}, "1-32 letters"),
        ({"versions": ["v" * 33]}, "1-32 letters"),
        ({"versions": ["1"], "source": "query"}, "source"),
        ({"versions": ["1"], "default": "2"}, "default"),
        ({"versions": ["1"], "header": "API Version"}, "header name"),
    ],
)
def test_what_versioning_refuses(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Versioning(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=message):
        versioning_setting(kwargs)


def test_the_setting_takes_a_versioning_or_its_arguments() -> None:
    assert versioning_setting(None) is None
    assert versioning_setting(PATH) is PATH
    assert versioning_setting({"VERSIONS": ["1"], "Source": "header"}) == Versioning(["1"], source="header")
    with pytest.raises(ConfigurationError):
        versioning_setting(["1", "2"])
    with pytest.raises(ConfigurationError):
        versioning_setting({"versions": ["1"], "nope": 1})
