"""``configure_logging``: stdlib logging and structlog, one call, identical lines."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import IO, Any, Literal

from backendkit.logging._formatter import STRUCTLOG_FIELDS, JSONFormatter

HANDLER_NAME = "backendkit"


def to_stdlib(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """The last structlog processor: hand the event to stdlib logging as an ordinary record.

    The event text becomes the record's message (its positional arguments
    applied as stdlib would, keeping the template when they do not fit) and the
    other fields travel in one record attribute, which :class:`JSONFormatter`
    writes as it writes ``extra=`` fields. So a structlog call and a stdlib call
    with the same fields make the same line, and a ``QueueHandler`` in between
    keeps the fields.
    """
    fields = dict(event_dict)
    message = fields.pop("event", "")
    args = fields.pop("positional_args", None)
    text = message if isinstance(message, str) else repr(message)
    if args:
        with contextlib.suppress(Exception):  # mismatched arguments keep the template, as stdlib does
            text = text % args
    kwargs: dict[str, Any] = {"extra": {STRUCTLOG_FIELDS: fields}}
    for key in ("exc_info", "stack_info"):
        if key in fields:
            kwargs[key] = fields.pop(key)
    return (text,), kwargs  # no args: stdlib will not %-format it again


def configure_logging(
    level: int | str = "INFO",
    *,
    profile: str = "default",
    stream: IO[str] | None = None,
    redact: bool = True,
    extra_redact_keys: Iterable[str] = (),
    allow_keys: Iterable[str] = (),
    json: Literal["auto", "orjson", "stdlib"] = "auto",
    gcp_project: str | None = None,
    static_fields: Mapping[str, Any] | None = None,
    structlog: bool | None = None,
) -> JSONFormatter:
    """Send all logging, stdlib and structlog, as JSON lines to ``stream``.

    Installs one handler on the root logger (replacing one installed by an
    earlier call, so calling it twice is harmless) and sets the root level.
    When structlog is installed (or ``structlog=True``), it is configured to
    pass its events through the same handler, with contextvars bound by
    ``structlog.contextvars.bind_contextvars`` merged in.

    Args:
        level: The root logger's level.
        profile: ``"default"``, ``"ecs"``, ``"gcp"`` or ``"otel"``.
        stream: Where lines go; standard error by default.
        redact: Redact secrets (on by default).
        extra_redact_keys: More key fragments to redact.
        allow_keys: Exact keys never redacted.
        json: The JSON encoder, ``"auto"`` picks orjson when installed.
        gcp_project: The project id for trace links in the gcp profile.
        static_fields: Fields added to every line.
        structlog: ``None`` configures structlog if it is installed.

    Returns:
        The formatter in use.

    Example:
        >>> import io
        >>> formatter = configure_logging("INFO", stream=io.StringIO(), structlog=False)
    """
    formatter = JSONFormatter(
        profile=profile,
        redact=redact,
        extra_redact_keys=extra_redact_keys,
        allow_keys=allow_keys,
        json=json,
        gcp_project=gcp_project,
        static_fields=static_fields,
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if structlog is not False:
        _configure_structlog(required=structlog is True)
    return formatter


def _configure_structlog(*, required: bool) -> None:
    try:
        import structlog
    except ImportError:
        if required:
            from backendkit._extras import MissingExtraError

            raise MissingExtraError(extra="structlog", module="backendkit.logging", missing="structlog") from None
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            to_stdlib,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
