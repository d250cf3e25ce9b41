"""Sort-key values to JSON and back, types kept: what a cursor remembers of a row.

Plain JSON carries ``None``, booleans, integers, finite floats and strings. Other
types travel as a two-item list ``[tag, text]``; a bare value is never a list, so
the two cannot be confused.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

_ENCODERS: tuple[tuple[type, str, Callable[[Any], str]], ...] = (
    # datetime before date: a datetime is a date too.
    (datetime, "dt", datetime.isoformat),
    (date, "d", date.isoformat),
    (time, "t", time.isoformat),
    (Decimal, "dec", str),
    (uuid.UUID, "uuid", lambda u: u.hex),
    (bytes, "b", lambda b: base64.urlsafe_b64encode(b).decode("ascii")),
)
_DECODERS: dict[str, Callable[[str], Any]] = {
    "dt": datetime.fromisoformat,
    "d": date.fromisoformat,
    "t": time.fromisoformat,
    "dec": Decimal,
    "uuid": uuid.UUID,
    "b": lambda text: base64.urlsafe_b64decode(text.encode("ascii")),
}


def dump_value(value: Any) -> Any:
    """A JSON-ready form of one sort-key value; ``TypeError`` for a type a cursor cannot carry."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError("a cursor cannot carry NaN or infinity")
        return value
    for kind, tag, encode in _ENCODERS:
        if isinstance(value, kind):
            return [tag, encode(value)]
    raise TypeError(f"a cursor cannot carry a {type(value).__name__}")


def load_value(raw: Any) -> Any:
    """The value :func:`dump_value` wrote; ``ValueError`` if ``raw`` is not such a form."""
    if raw is None or isinstance(raw, (bool, int, str, float)):
        return raw
    if isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], str):
        decode = _DECODERS.get(raw[0])
        if decode is not None:
            try:
                return decode(raw[1])
            except (ValueError, InvalidOperation, TypeError) as exc:
                raise ValueError(f"bad {raw[0]} value") from exc
    raise ValueError("not a cursor value")


def filters_text(filters: Mapping[str, Any]) -> str:
    """The canonical text of a set of parsed filters, which a cursor is bound to."""
    if not filters:
        return "[]"  # what the encoding below gives for none, without it (every cursor of an unfiltered list)
    return json.dumps(
        sorted((name, _plain(value)) for name, value in filters.items()), separators=(",", ":"), default=str
    )


def _plain(value: Any) -> Any:
    try:
        return dump_value(value)
    except TypeError:
        return repr(value)
