"""Werkzeug's routing, where a path a converter refuses is a 404 whatever the method."""

from __future__ import annotations

from typing import Any

from flask import Request, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter, ValidationError


class WholeNumberConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, where a value ``int()`` refuses matches no route, as any other refused value.

    Before werkzeug 3.1.9 its router let the ``ValueError`` of a number with more
    digits than Python converts (4,300 by default) escape: Flask logged a
    traceback and answered 500 where the path names nothing (a 404).
    """

    def to_python(self, value: str) -> Any:
        try:
            return super().to_python(value)
        except ValueError as refused:  # (werkzeug's ValidationError is one too)
            raise ValidationError() from refused


def allowed_for_this_url(refused: MethodNotAllowed) -> HTTPException:
    """Werkzeug's routing 405 with only the methods whose route accepts this URL; none left is a 404.

    Werkzeug notes the methods of each route whose pattern fits the path, and only
    then runs the chosen route's converters. When they refuse the value (an ``int``
    of more digits than Python converts, one past a converter's ``max``), the path
    names nothing, yet the methods noted on the way make it a 405: ``DELETE
    /tasks/<4,301 digits>`` was a 405 with ``Allow: GET, HEAD`` where ``GET`` is a
    404. So each listed method is matched again, and kept if a route takes it.
    """
    adapter = current_app.create_url_adapter(request)
    listed = list(refused.valid_methods or ())
    if adapter is None:
        return refused
    allowed = []
    for method in listed:
        try:
            adapter.match(method=method)
        except (NotFound, MethodNotAllowed):  # (its route's converter refused the value)
            continue
        except HTTPException:  # a redirect: the URL exists for this method
            pass
        allowed.append(method)
    if not allowed:
        return NotFound()
    return refused if len(allowed) == len(listed) else MethodNotAllowed(allowed)


def rule_of(req: Request) -> str | None:
    """The rule the request's URL matched; on a routing 405, the rule that takes this URL by another method.

    Werkzeug leaves ``url_rule`` unset when it refuses the method, yet the path
    names a route: its template is what the request's logs and span name carry,
    as on FastAPI and Django. The URL is matched again with each allowed method
    (only on a 405), and the first rule that takes it is the one.
    """
    if req.url_rule is not None:
        return req.url_rule.rule
    refused = req.routing_exception
    if not isinstance(refused, MethodNotAllowed):
        return None
    adapter = current_app.create_url_adapter(req)
    for method in refused.valid_methods or ():
        try:
            rule, _ = adapter.match(method=method, return_rule=True)  # type: ignore[union-attr]
        except HTTPException:  # its converter refused the value, or a redirect: not this one
            continue
        return rule.rule
    return None


__all__ = ["WholeNumberConverter", "allowed_for_this_url", "rule_of"]
