"""Views of the Django example: sync and async, function and class based."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.http import require_POST, require_safe

from backendkit.auth import BearerAuth
from backendkit.django import parse_json
from backendkit.django.auth import aauthenticate, bearer, refresh_view, require
from backendkit.django.http import deprecated, preconditions
from backendkit.django.idempotency import idempotent
from backendkit.django.pagination import page_request, page_response
from backendkit.django.ratelimit import limit
from backendkit.django.security import security_headers
from backendkit.errors import NotFound
from examples import _apikeys, _auth, _health, _http, _idempotency, _limits, _security, _sessions
from examples._tasks import TASK_PAGES, Task, TaskIn, TaskStore, list_tasks


class CompactJSON(JsonResponse):
    """JSON as FastAPI's and the Flask example's are written (compact, UTF-8, no trailing newline).

    The same bytes everywhere, so the automatic ETags (a hash of the bytes) agree across the
    three examples; Django's own ``JsonResponse`` puts a space after ``:`` and ``,``.
    """

    def __init__(self, data: Any, status: int = 200) -> None:
        super().__init__(data, status=status, json_dumps_params={"separators": (",", ":"), "ensure_ascii": False})


store = TaskStore()
# Sync stores: sync views use them as they are (under ASGI in a worker thread), async views in a thread,
# so they serve WSGI and ASGI alike, with no event loop per request.
verifier = _auth.verifier(asynchronous=False)
api_keys = _apikeys.verifier()  # X-API-Key too, with BACKENDKIT_EXAMPLE_APIKEYS_URL
auth = BearerAuth(verifier, api_keys=api_keys)  # BACKENDKIT["AUTH"] names it: tokens, and API keys
issuer = _sessions.issuer(verifier.revocations)  # revokes a reused family's access tokens in the verifier's list
refresh = refresh_view(issuer)  # POST /auth/refresh: RFC 6749 §6 form in, §5.1 or §5.2 JSON out
limited_rule = _limits.limited(asynchronous=False)
keys = _idempotency.keys(asynchronous=False)  # Idempotency-Key on POST /tasks
health = _health.health(
    store, limited=limited_rule, verifier=verifier, keys=keys, issuer=issuer, api_keys=api_keys, asynchronous=False
)


@require_safe
@security_headers(**_security.PAGE_HEADERS)
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_security.page(request.csp_nonce))  # type: ignore[attr-defined]  (set by ErrorMiddleware)


@require_safe
@limit(limited_rule)
def limited(request: HttpRequest) -> JsonResponse:
    return CompactJSON({"ok": True})


@method_decorator(idempotent(keys), name="post")
class TaskCollection(View):
    """``GET`` / ``HEAD`` / ``POST /tasks`` (sync views)."""

    # No OPTIONS: FastAPI does not answer it by itself, and the Allow header must match.
    http_method_names = ("get", "head", "post")  # type: ignore[assignment]

    def get(self, request: HttpRequest) -> HttpResponse:
        page, data = list_tasks(store, page_request(request, TASK_PAGES))
        return page_response(page, data)

    def post(self, request: HttpRequest) -> JsonResponse:
        task = store.create(parse_json(request, TaskIn))
        return tagged(task, status=201)  # (a replayed answer keeps its ETag: the idempotency record has it)


def tagged(task: Task, *, status: int = 200) -> JsonResponse:
    """The task's JSON with its ETag (``"v<version>"``): what ``If-Match`` names to change it."""
    response = CompactJSON(task.model_dump(mode="json"), status=status)
    response["ETag"] = str(task.etag)
    return response


def found(task_id: int) -> Task:
    task = store.get(task_id)
    if task is None:
        raise NotFound("No task with this id.")
    return task


class TaskItem(View):
    """``GET`` / ``HEAD`` / ``PUT`` / ``DELETE /tasks/<id>`` (async views)."""

    http_method_names = ("get", "head", "put", "delete")  # type: ignore[assignment]

    async def get(self, request: HttpRequest, task_id: int) -> JsonResponse:
        return tagged(found(task_id))  # ErrorMiddleware answers 304 when If-None-Match names this tag

    async def put(self, request: HttpRequest, task_id: int) -> JsonResponse:
        asked = preconditions(request, required=True)  # 428 without If-Match, before the body is read
        task = store.replace(task_id, parse_json(request, TaskIn), asked)  # 412 if the task changed since
        if task is None:
            raise NotFound("No task with this id.")
        return tagged(task)

    async def delete(self, request: HttpRequest, task_id: int) -> HttpResponse:
        store.delete(task_id, preconditions(request))  # an If-Match, when sent, must name the current version
        response = HttpResponse(status=204)
        del response["Content-Type"]  # no body, so no type (as on FastAPI)
        return response


@require_safe
async def task_v1(request: HttpRequest, task_id: int) -> JsonResponse:
    """``GET /v1/tasks/<id>``: version 1's representation (deprecated: its answers say so)."""
    return CompactJSON(_http.task_v1(found(task_id)))


@require_safe
async def task_v2(request: HttpRequest, task_id: int) -> JsonResponse:
    """``GET /v2/tasks/<id>``: the task as ``/tasks/<id>`` has it, with its ETag."""
    return tagged(found(task_id))


@require_safe  # (a POST is a 405, as where the router refuses the method before the route runs)
@deprecated(_http.LEGACY)  # then: a retired view answers 410 before authentication or anything else
@require()
def legacy_tasks(request: HttpRequest) -> JsonResponse:
    """``GET /legacy/tasks``: retired, so 410 ``GONE`` with its Deprecation, Sunset and Link."""
    return CompactJSON({"items": []})


@require_safe
@require()
async def me(request: HttpRequest) -> JsonResponse:
    principal = await aauthenticate(request)  # established by @require: no second verification
    return CompactJSON(principal.as_dict())


@require_safe
@require(permissions=["audit:read"])
def audit(request: HttpRequest) -> JsonResponse:
    return CompactJSON({"ok": True})


@require_safe
@require(scopes=["reports:read"])
async def reports(request: HttpRequest) -> JsonResponse:
    return CompactJSON({"ok": True})


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    user = _sessions.authenticate(settings.EXAMPLE_USERS, parse_json(request, _sessions.Login))
    pair = issuer.issue_pair(user.name, claims=_sessions.claims(user))
    response = HttpResponse(_sessions.token_body(pair.response()), content_type="application/json")
    for name, value in _sessions.TOKEN_HEADERS.items():
        response[name] = value
    return response


@require_POST
@require()
async def logout(request: HttpRequest) -> HttpResponse:
    principal = _sessions.logged_in(await aauthenticate(request))  # a token's, not an API key's
    jwt = bearer().verifier  # the verifier BACKENDKIT["AUTH"] names
    assert jwt is not None
    await jwt.arevoke(principal)  # this access token
    await issuer.alogout(principal)  # and its refresh-token family, with the family's other access tokens
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response
