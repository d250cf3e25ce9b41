"""Views of the Django example: sync and async, function and class based."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.http import require_POST, require_safe

from backendkit.auth import BearerAuth
from backendkit.django import parse_json
from backendkit.django.auth import aauthenticate, bearer, refresh_view, require
from backendkit.django.idempotency import idempotent
from backendkit.django.pagination import page_request, page_response
from backendkit.django.ratelimit import limit
from backendkit.django.security import security_headers
from backendkit.errors import NotFound
from examples import _apikeys, _auth, _health, _idempotency, _limits, _security, _sessions
from examples._tasks import TASK_PAGES, TaskIn, TaskStore, list_tasks

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
    return JsonResponse({"ok": True})


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
        return JsonResponse(task.model_dump(mode="json"), status=201)


class TaskItem(View):
    """``GET`` / ``HEAD`` / ``DELETE /tasks/<id>`` (async views)."""

    http_method_names = ("get", "head", "delete")  # type: ignore[assignment]

    async def get(self, request: HttpRequest, task_id: int) -> JsonResponse:
        task = store.get(task_id)
        if task is None:
            raise NotFound("No task with this id.")
        return JsonResponse(task.model_dump(mode="json"))

    async def delete(self, request: HttpRequest, task_id: int) -> HttpResponse:
        store.delete(task_id)
        response = HttpResponse(status=204)
        del response["Content-Type"]  # no body, so no type (as on FastAPI)
        return response


@require_safe
@require()
async def me(request: HttpRequest) -> JsonResponse:
    principal = await aauthenticate(request)  # established by @require: no second verification
    return JsonResponse(principal.as_dict())


@require_safe
@require(permissions=["audit:read"])
def audit(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@require_safe
@require(scopes=["reports:read"])
async def reports(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


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
