"""The query parameters a pagination reads, each with its JSON Schema: for OpenAPI and any other documentation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backendkit.pagination._core.filters import integer_bounds
from backendkit.pagination._core.params import MAX_INDEX, boolean
from backendkit.pagination._core.sort import MAX_SORT_LENGTH

if TYPE_CHECKING:
    from backendkit.pagination._core.pagination import Pagination

_EMPTY = {"type": "string", "maxLength": 0}  # an empty parameter counts as absent, for every parameter


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _EMPTY]}


@dataclass(frozen=True, slots=True)
class QueryParameter:
    """One query parameter: its name, a sentence for people, and a JSON Schema of what is accepted."""

    name: str
    description: str
    schema: dict[str, Any] = field(hash=False)


def _filter_schema(parser: Any) -> dict[str, Any]:
    bounds = integer_bounds(parser)
    if bounds is not None:
        return _or_empty({"type": "integer", "minimum": bounds[0], "maximum": bounds[1]})
    typed = {float: {"type": "number"}, boolean: {"type": "boolean"}}.get(parser)
    return {"type": "string"} if typed is None else _or_empty(typed)


def query_parameters(pagination: Pagination) -> list[QueryParameter]:
    """What ``pagination`` reads from a query string, in order, each with the schema of what it accepts.

    An empty value counts as absent, so every schema admits ``""``. A value that
    fits its schema can still be refused when it needs more than a schema can say:
    a cursor this server did not sign, two modes at once, a sort field given twice
    (400 each).
    """
    size = pagination.page_size
    sizes = f"from 1 to {size.maximum}, default {size.default}" + (
        "; larger sizes are clamped" if size.oversize == "clamp" else "; larger sizes are refused"
    )
    size_schema = _or_empty(
        {"type": "integer", "minimum": 1, "maximum": MAX_INDEX if size.oversize == "clamp" else size.maximum}
    )
    out: list[QueryParameter] = []
    if "cursor" in pagination.modes or "offset" in pagination.modes:
        out.append(QueryParameter("limit", f"Items per page, {sizes}.", size_schema))
    if "cursor" in pagination.modes:
        longest = pagination.codec.max_length if pagination.codec is not None else 2048
        cursor = {"type": "string", "pattern": r"^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?$", "maxLength": longest}
        out.append(QueryParameter("cursor", "Opaque cursor from a previous page's next_cursor or prev_cursor.", cursor))
    if "page" in pagination.modes:
        page = _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_INDEX})
        out.append(QueryParameter("page", "Page number, from 1.", page))
        out.append(QueryParameter("per_page", f"Items per page, {sizes}.", size_schema))
    if "offset" in pagination.modes:
        offset = _or_empty({"type": "integer", "minimum": 0, "maximum": MAX_INDEX})
        out.append(QueryParameter("offset", "Items to skip, from 0.", offset))
    if pagination.sort is not None:
        names = sorted(pagination.sort.allowed | {pagination.sort.tiebreaker})
        default = ",".join(str(key) for key in pagination.sort.default)
        one = "[+-]?(" + "|".join(re.escape(name) for name in names) + ")"
        sort = {"type": "string", "pattern": f"^({one}(,{one})*)?$", "maxLength": MAX_SORT_LENGTH}
        text = f"Comma-separated fields, '-' for descending, each once; of: {', '.join(names)}. Default: {default}."
        out.append(QueryParameter("sort", text, sort))
    out.extend(
        QueryParameter(name, f"Filter on {name}.", _filter_schema(parser))
        for name, parser in pagination.filters.items()
    )
    return out
