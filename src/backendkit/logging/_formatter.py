"""``JSONFormatter``: a stdlib logging formatter that writes one JSON object per line."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any, Literal

from backendkit.context import request_facts_var, request_id_var
from backendkit.logging._core.encode import Encoder, encode_stdlib, orjson_encoding
from backendkit.logging._core.profiles import Profile
from backendkit.logging._core.redact import Redactor
from backendkit.logging._core.scrub import REDACTED, may_hold_secret

# Attributes every LogRecord has; anything else on a record came from `extra=`.
# (uvicorn's color_message repeats the message with terminal escapes: noise in JSON.)
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
# How many attributes a record has before any extra (extras come after; so may
# "message"/"asctime" from another formatter, which _RECORD_ATTRS filters out).
_FIRST_EXTRA = len(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
# Keys of a structlog event dict that are not the caller's fields.
_NO_KEYS: frozenset[str] = frozenset()
STRUCTLOG_FIELDS = "_backendkit_fields"
# ".000Z" to ".999Z": the end of a timestamp, looked up rather than formatted per line.
_MILLISECONDS = tuple(f".{ms:03d}Z" for ms in range(1000))
# How many keys a formatter remembers decisions for (keys repeat; a flood of unique ones must not grow it forever).
_MAX_PLANS = 10_000
# A key's plan: the name it is written under, whether its value is redacted, the key as text.
_Plan = tuple[str, bool, str]
_SKIP: _Plan = ("", False, "")  # a key that is not written (a record attribute, a private name)


class _KeyPlans:
    """What to do with the value under each key, decided once per key name."""

    def __init__(self, skip: frozenset[str], redactor: Redactor, names: Mapping[str, str]) -> None:
        self.skip = skip
        self.redactor = redactor
        self.names = names
        self.plans: dict[Any, _Plan] = {}

    def plan(self, key: Any) -> _Plan:
        text = key if type(key) is str else _safe_text(key)
        if text in self.skip or text[:1] == "_":
            plan = _SKIP
        else:
            plan = (self.names.get(text, text), self.redactor.is_secret_key(text), text)
        if type(key) is str and len(self.plans) < _MAX_PLANS:
            self.plans[key] = plan
        return plan


class JSONFormatter(logging.Formatter):
    """One JSON object per line, with request context and redaction.

    Args:
        profile: ``"default"``, ``"ecs"``, ``"gcp"`` or ``"otel"`` (field names).
        redact: Redact secret-looking keys and JWT / ``Bearer`` values (on by default).
        redact_keys: Replace the list of key fragments to redact.
        extra_redact_keys: Add key fragments to the list.
        allow_keys: Exact keys never redacted (trims the list).
        json: ``"auto"`` (orjson when installed), ``"orjson"`` or ``"stdlib"``;
            both write the same bytes.
        gcp_project: Project id for ``logging.googleapis.com/trace`` in the gcp profile.
        static_fields: Fields added to every line (service name, version...).
        **kwargs: Passed to :class:`logging.Formatter` (ignored for the output).

    It never raises and never drops a record: a value JSON cannot carry becomes
    a string, cycles and deep nesting are cut, and if building the line fails
    anyway, a minimal line with the message and a ``formatter_error`` is written.

    Example:
        >>> import logging
        >>> handler = logging.StreamHandler()
        >>> handler.setFormatter(JSONFormatter(profile="ecs"))
    """

    def __init__(
        self,
        *,
        profile: str = "default",
        redact: bool = True,
        redact_keys: Iterable[str] | None = None,
        extra_redact_keys: Iterable[str] = (),
        allow_keys: Iterable[str] = (),
        json: Literal["auto", "orjson", "stdlib"] = "auto",
        gcp_project: str | None = None,
        static_fields: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._profile = Profile(profile, gcp_project=gcp_project)
        self.profile = profile
        self.gcp_project = gcp_project
        orjson = orjson_encoding() if json in ("auto", "orjson") else None
        if json == "orjson" and orjson is None:
            raise ValueError('json="orjson" needs the orjson package: pip install "backendkit[orjson]"')
        self._encode: Encoder
        self._encode, float_hook = orjson if orjson is not None else (encode_stdlib, None)
        self.redactor = Redactor(
            redact_keys, extra_keys=extra_redact_keys, allow_keys=allow_keys, enabled=redact, float_hook=float_hook
        )
        self.static_fields = self.redactor.clean_mapping(static_fields or {})
        self._clock: tuple[float, str] = (math.inf, "")  # (second, its formatted prefix), swapped as one value

    @property
    def redactor(self) -> Redactor:
        """What redacts and sanitises the values; a new one set here applies from the next line."""
        return self._redactor

    @redactor.setter
    def redactor(self, redactor: Redactor) -> None:
        # Each key's decisions are the redactor's: a new redactor judges them afresh.
        self._redactor = redactor
        self._extra_keys = _KeyPlans(_RECORD_ATTRS, redactor, self._profile.names)
        self._structlog_keys = _KeyPlans(_NO_KEYS, redactor, self._profile.names)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; never raises."""
        try:
            return self._encode(self.line(record))
        except Exception as exc:  # the line must still be written
            return self._fallback(record, exc)

    def line(self, record: logging.LogRecord) -> dict[str, Any]:
        """The record as the profile writes it: a dict of JSON types, redacted."""
        redactor = self._redactor
        attrs = record.__dict__
        try:
            message = record.getMessage()
        except Exception:  # mismatched %-args: keep the template rather than lose the line
            message = _safe_text(record.msg)
        if len(message) >= redactor.shortest and may_hold_secret(message):
            message = redactor.scrub(message)
        profile = self._profile
        out = profile.start(self._timestamp(record.created), record.levelname, record.name, message)
        if request_id_var.get() is not None or request_facts_var.get() is not None:  # in a request
            profile.add_context(out, _context())
        if self.static_fields:
            profile.add_fields(out, self.static_fields)
        structlog_fields = attrs.get(STRUCTLOG_FIELDS)
        if type(structlog_fields) is dict:
            self._add_extras(out, structlog_fields.items(), self._structlog_keys)
        if len(attrs) > _FIRST_EXTRA:
            # Extras are set after the standard attributes, so they sit at the end of __dict__.
            self._add_extras(out, islice(attrs.items(), _FIRST_EXTRA, None), self._extra_keys)
        exc_info = record.exc_info
        if exc_info and exc_info[0] is not None and exc_info[1] is not None:
            profile.add_error(out, self._error(exc_info))
        if record.stack_info:
            out["stack_info"] = redactor.scrub(record.stack_info)
        return out

    def _add_extras(self, out: dict[str, Any], items: Iterable[tuple[Any, Any]], keys: _KeyPlans) -> None:
        # The hot loop of the formatter: extraction, redaction and naming in one pass, each key's
        # decisions (skipped? secret? written under which name?) looked up at once, and the
        # common value types handled inline.
        redactor = keys.redactor
        clean = redactor.clean_nested
        clean_dict = redactor.clean_dict
        shortest = redactor.shortest
        plans = keys.plans
        seen: set[int] | None = None
        for key, value in items:
            plan = plans.get(key)
            if plan is None:
                plan = keys.plan(key)
            if plan is _SKIP:
                continue
            name, secret, text = plan
            if secret:
                value = REDACTED
            else:
                kind = type(value)
                if kind is str:
                    if len(value) >= shortest and may_hold_secret(value):
                        value = redactor.scrub(value)
                elif kind is int:
                    if not -(2**63) <= value < 2**64:  # beyond 64 bits not every JSON reader keeps it
                        value = clean(value, 1, set())
                elif not (kind is bool or value is None):
                    if seen is None:  # one set for the record: the depth bound and cycle check span it
                        seen = set()
                    value = clean_dict(value, 1, seen) if kind is dict else clean(value, 1, seen)
            if name in out:  # a header or request field has that name: the profile decides
                self._profile.put(out, text, value)
            else:
                out[name] = value

    def _error(self, exc_info: Any) -> dict[str, str]:
        scrub = self.redactor.scrub
        return {
            "type": _type_name(exc_info[0]),
            "message": scrub(_safe_text(exc_info[1])),
            "stack": scrub("".join(traceback.format_exception(exc_info[0], exc_info[1], exc_info[2]))),
        }

    def _timestamp(self, created: float) -> str:
        second, prefix = self._clock
        fraction = created - second
        if not 0.0 <= fraction < 1.0:  # another second: one strftime per second, not per line
            second = math.floor(created)  # floor, not int(): before 1970 too
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._clock = (second, prefix)
            fraction = created - second
        return prefix + _MILLISECONDS[int(fraction * 1000)]

    def _fallback(self, record: logging.LogRecord, exc: Exception) -> str:
        # The line still follows the profile and carries the request context.
        line = self._profile.start(
            self._timestamp(getattr(record, "created", time.time())),
            str(getattr(record, "levelname", "ERROR")),
            str(getattr(record, "name", "")),
            self.redactor.scrub(_message(record)),
        )
        context = _context()
        if context:
            self._profile.add_context(line, context)
        line["formatter_error"] = f"{type(exc).__name__}: {_safe_text(exc)}"
        return encode_stdlib(line)


def _context() -> dict[str, Any]:
    context: dict[str, Any] = {}
    request_id = request_id_var.get()
    if request_id is not None:
        context["request_id"] = request_id
    facts = request_facts_var.get()
    if facts is None:
        return context
    if facts.trace is not None:
        context["trace_id"] = facts.trace.trace_id
        context["span_id"] = facts.trace.span_id
        context["trace_flags"] = facts.trace.flags
        context["trace_sampled"] = facts.trace.sampled
    if facts.method is not None:
        context["http_method"] = facts.method
    route = facts.resolved_route()
    if route is not None:
        context["http_route"] = route
    if facts.client_ip is not None:
        context["client_ip"] = facts.client_ip
    user_id = facts.resolved_user_id()
    if user_id is not None:
        context["user_id"] = user_id
    return context


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # mismatched %-args: keep the template rather than lose the line
        return _safe_text(record.msg)


def _safe_text(value: Any) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _type_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


__all__ = ["REDACTED", "STRUCTLOG_FIELDS", "JSONFormatter"]
