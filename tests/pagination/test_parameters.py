"""The query parameters a pagination documents: what the server really takes fits their schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from backendkit.pagination import Pagination, SortSpec, paginate_sequence

SECRET = "parameters-secret-0123456789"


def schemas(pages: Pagination) -> dict[str, dict[str, Any]]:
    return {parameter.name: parameter.schema for parameter in pages.query_parameters()}


@settings(max_examples=100, deadline=None)
@given(titles=st.lists(st.text(max_size=300), min_size=3, max_size=3, unique=True))
def test_every_cursor_the_server_hands_out_fits_the_documented_schema(titles: list[str]) -> None:
    # The pattern once left out the '.' between payload and tag: no real cursor fitted it.
    pages = Pagination(sort=SortSpec(["title"], default="title"), secrets=[SECRET], cursor_max_length=8192)
    rows = [{"id": n, "title": title} for n, title in enumerate(titles)]
    page = paginate_sequence(rows, pages.parse([("limit", "1")], now=0.0))
    assert page.next_cursor is not None
    jsonschema.validate(page.next_cursor, schemas(pages)["cursor"])
    assert schemas(pages)["cursor"]["maxLength"] == 8192


def test_an_empty_parameter_is_documented_as_the_default() -> None:
    pages = Pagination(sort=SortSpec(["id"], default="id"), secrets=[SECRET])
    for name in ("limit", "cursor", "page", "per_page", "sort"):
        jsonschema.validate("", schemas(pages)[name])
        pages.parse([(name, "")], now=0.0)  # and the server takes it
