"""The documented patterns work as written: the code blocks of the guides, run as they are.

docs/pagination.md's Django pattern once passed a page request's filters straight
to ``QuerySet.filter`` (a ``FieldError`` on its own ``q`` filter) and its other
examples called helpers it never defined.
"""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^(?P<indent>[ ]*)```python\n(?P<code>.*?)^(?P=indent)```", re.S | re.M)


def section_blocks(page: str, heading: str) -> dict[str, str]:
    """The Python blocks of one ``## heading`` section, by the tab they sit in (``""`` outside tabs)."""
    text = (DOCS / page).read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    blocks: dict[str, str] = {}
    for match in _BLOCK.finditer(section):
        tabs = re.findall(r'^=== "([^"]+)"', section[: match.start()], re.M)
        tab = tabs[-1] if match.group("indent") else ""
        blocks[tab] = blocks.get(tab, "") + textwrap.dedent(match.group("code"))
    return blocks


def first_block(page: str) -> str:
    match = _BLOCK.search((DOCS / page).read_text())
    assert match is not None
    return textwrap.dedent(match.group("code"))


def run(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(code, "<docs>", "exec"), namespace)
    return namespace


@pytest.fixture
def pagination_namespace() -> dict[str, Any]:
    """The guide's opening block and its list of tasks, with a few tasks in it."""
    blocks = section_blocks("pagination.md", "Per framework")
    # A module's namespace, as the documentation's code would run in (Flask reads __name__).
    namespace = run(
        first_block("pagination.md"), {"__name__": __name__, "CURSOR_SECRET": "a-docs-secret-of-16-bytes-or-more"}
    )
    run(blocks[""], namespace)
    namespace["TASKS"].extend(
        {"id": i, "title": f"task {i}", "priority": i % 3 + 1, "created_at": "2026-01-01T00:00:00Z"}
        for i in range(1, 8)
    )
    namespace["blocks"] = blocks
    return namespace


def test_the_fastapi_pattern(pagination_namespace: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    app = run(pagination_namespace["blocks"]["FastAPI"], pagination_namespace)["app"]
    reply = TestClient(app).get("/tasks?q=task&priority=2&limit=2")
    assert reply.status_code == 200, reply.text
    assert [t["id"] for t in reply.json()["data"]] == [1, 4]


def test_the_flask_pattern(pagination_namespace: dict[str, Any]) -> None:
    app = run(pagination_namespace["blocks"]["Flask"], pagination_namespace)["app"]
    reply = app.test_client().get("/tasks?q=task&priority=2&limit=2")
    assert reply.status_code == 200, reply.text
    assert [t["id"] for t in reply.json["data"]] == [1, 4]


@pytest.fixture
def tasks_table() -> Iterator[Any]:
    from django.db import connections

    from tests.pagination.djangoapp.models import Task

    with connections["default"].schema_editor() as editor:
        editor.create_model(Task)
    try:
        at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        Task.objects.bulk_create(Task(id=i, title=f"task {i}", priority=i % 3 + 1, created_at=at) for i in range(1, 8))
        yield Task
    finally:
        with connections["default"].schema_editor() as editor:
            editor.delete_model(Task)


def test_the_django_pattern(pagination_namespace: dict[str, Any], tasks_table: Any) -> None:
    from django.test import RequestFactory

    namespace = run(pagination_namespace["blocks"]["Django"], {**pagination_namespace, "Task": tasks_table})
    request = RequestFactory().get("/tasks", {"q": "task", "priority": "2", "limit": "2"})
    reply = namespace["list_tasks"](request)
    assert reply.status_code == 200, reply.content
    assert [t["id"] for t in json.loads(reply.content)["data"]] == [1, 4]  # -priority,id: all priority 2
    reply = asyncio.run(namespace["list_tasks_async"](request))
    assert [t["id"] for t in json.loads(reply.content)["data"]] == [1, 4]


@pytest.fixture
def auth_namespace() -> dict[str, Any]:
    """The auth guide's opening block, run with a secret and a token of its issuer and audience."""
    from backendkit.auth import HMACKey, issue

    secret = "a-docs-secret-of-at-least-32-bytes!!"
    token = issue(
        HMACKey(secret),
        "ada",
        issuer="https://auth.example.test/",
        audience="tasks-api",
        claims={"roles": ["admin"], "scope": "reports:read"},
    )
    namespace = run(first_block("auth.md"), {"__name__": __name__, "JWT_SECRET": secret, "token": token})
    assert namespace["principal"].permissions == {"tasks:read", "tasks:write", "audit:read"}
    namespace["blocks"] = section_blocks("auth.md", "Per framework")
    namespace["headers"] = {"Authorization": f"Bearer {token}"}
    return namespace


def test_the_auth_guide_on_fastapi_and_starlette(auth_namespace: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    ns = run(auth_namespace["blocks"]["FastAPI"], auth_namespace)
    me = TestClient(ns["app"]).get("/me", headers=ns["headers"])
    assert me.json()["sub"] == "ada"
    assert TestClient(ns["app"]).get("/reports").status_code == 401
    ns = run(auth_namespace["blocks"]["Starlette"], auth_namespace)
    reports = TestClient(ns["starlette_app"]).get("/reports", headers=ns["headers"])
    assert reports.json() == {"sub": "ada", "scopes": ["reports:read"]}


def test_the_auth_guide_on_flask(auth_namespace: dict[str, Any]) -> None:
    ns = run(auth_namespace["blocks"]["Flask"], auth_namespace)
    client = ns["flask_app"].test_client()
    assert client.get("/me", headers=ns["headers"]).get_json()["roles"] == ["admin"]
    assert client.get("/me").status_code == 401


def test_the_auth_guide_on_django_and_drf(auth_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory, override_settings

    ns = run(auth_namespace["blocks"]["Django"], auth_namespace)
    ns = run(auth_namespace["blocks"]["Django REST framework"], ns)
    factory = RequestFactory()
    with override_settings(BACKENDKIT={"AUTH": ns["verifier"]}, REST_FRAMEWORK={"UNAUTHENTICATED_USER": None}):
        assert json.loads(ns["audit"](factory.get("/audit", headers=ns["headers"])).content) == {"ok": True}
        reply = asyncio.run(ns["reports_view"](factory.get("/reports", headers=ns["headers"])))
        assert json.loads(reply.content) == {"ok": True}
        drf = ns["AuditView"].as_view()(factory.get("/audit", headers=ns["headers"]))
        assert drf.status_code == 200
        assert drf.data == {"sub": "ada"}


def test_the_auth_guides_keys_and_signing_blocks(auth_namespace: dict[str, Any]) -> None:
    from tests.auth.keys import ec_pair

    namespace = {**auth_namespace, "secret": auth_namespace["JWT_SECRET"], "pem_text": ec_pair().public_pem}
    namespace = run(section_blocks("auth.md", "Keys")[""], namespace)
    verifier = namespace["JWTVerifier"]([namespace["HMACKey"](namespace["JWT_SECRET"])], audience="tasks-api")
    claims = verifier.claims(namespace["token"], now=1_800_000_030)
    assert (claims["iat"], claims["exp"]) == (1_800_000_000, 1_800_000_060)
    short = verifier.claims(namespace["short"])
    assert short["exp"] - short["iat"] == 30


def test_the_auth_guide_publishes_keys_on_every_framework(auth_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory
    from fastapi.testclient import TestClient

    from backendkit.auth import JWKS_PATH, JWTVerifier, PublicKey
    from tests.auth.keys import ec_pair

    blocks = section_blocks("auth.md", "Publishing your own keys")
    namespace = {**auth_namespace, "PRIVATE_PEM": ec_pair().private_pem, "PUBLIC_PEM": ec_pair().public_pem}
    namespace = run(blocks[""], namespace)
    jwks, token = namespace["jwks"], namespace["signer"].issue("ada")
    replies = [
        TestClient(run(blocks["FastAPI"], namespace)["app"]).get(JWKS_PATH),
        TestClient(run(blocks["Starlette"], namespace)["starlette_app"]).get(JWKS_PATH),
    ]
    for reply in replies:
        assert (reply.status_code, reply.content, reply.headers["cache-control"]) == (
            200,
            jwks.body,
            "public, max-age=300",
        )
    flask_reply = run(blocks["Flask"], namespace)["flask_app"].test_client().get(JWKS_PATH)
    assert (flask_reply.status_code, flask_reply.data) == (200, jwks.body)
    [pattern] = run(blocks["Django"], namespace)["urlpatterns"]
    assert pattern.callback(RequestFactory().get(JWKS_PATH)).content == jwks.body
    [published] = json.loads(jwks.body)["keys"]
    key = PublicKey(published, alg=published["alg"], kid=published["kid"])
    verifier = JWTVerifier([key], issuer="https://tasks.example.test/", audience="tasks-api")
    assert verifier.verify(token).subject == "ada"


class _Redis:
    def ping(self) -> bool:
        return True


@pytest.fixture
def health_namespace() -> dict[str, Any]:
    """The health guide's opening block, with the names it reads, its startup check passed."""
    namespace = run(
        first_block("health.md"),
        {"__name__": __name__, "TASKS": [1, 2], "REDIS": _Redis(), "SEARCH_UP": False, "CACHE_WARMED": True},
    )
    assert namespace["health"].ready().status == "warn"  # search is down, but not critical
    namespace["blocks"] = section_blocks("health.md", "Per framework")
    return namespace


def test_the_health_guide_on_fastapi_and_starlette(health_namespace: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    ns = run(health_namespace["blocks"]["FastAPI"], health_namespace)
    with TestClient(ns["app"]) as client:  # the lifespan runs: DrainOnShutdown is in place
        reply = client.get("/readyz")
        assert (reply.status_code, reply.headers["content-type"]) == (200, "application/health+json")
        assert reply.json() == {"status": "warn"}
    assert ns["health"].draining  # lifespan shutdown drained it
    ns["health"] = run(first_block("health.md"), {**ns, "health": None})["health"]  # a fresh one
    ns = run(health_namespace["blocks"]["Starlette"], ns)
    assert TestClient(ns["starlette_app"]).get("/livez").json() == {"status": "pass"}


def test_the_health_guide_on_flask_and_django(health_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory

    ns = run(health_namespace["blocks"]["Flask"], health_namespace)
    assert ns["flask_app"].test_client().get("/startupz").get_json() == {"status": "pass"}
    ns = run(health_namespace["blocks"]["Django"], ns)
    readyz = next(p for p in ns["urlpatterns"] if str(p.pattern) == "readyz")
    reply = readyz.callback(RequestFactory().get("/readyz"))
    assert (reply.status_code, json.loads(reply.content)) == (200, {"status": "warn"})


@pytest.fixture
def idempotency_namespace() -> dict[str, Any]:
    namespace = run(first_block("idempotency.md"), {"__name__": __name__})
    namespace["blocks"] = section_blocks("idempotency.md", "Per framework")
    return namespace


def _twice(post: Any) -> list[Any]:
    return [post(), post()]


def test_the_idempotency_guide_on_fastapi_and_starlette(idempotency_namespace: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from tests.auth.apps import verifier
    from tests.auth.keys import token

    ns = run(idempotency_namespace["blocks"]["FastAPI"], {**idempotency_namespace, "verifier": verifier()})
    with TestClient(ns["app"]) as client:
        first, again = _twice(lambda: client.post("/payments", headers={"Idempotency-Key": "doc-1"}))
        owners = [
            client.post("/orders", headers={"Idempotency-Key": "doc-5", "Authorization": f"Bearer {token(sub=sub)}"})
            for sub in ("ada", "bob", "ada")
        ]
    assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
    assert [reply.json() for reply in owners] == [{"owner": "ada"}, {"owner": "bob"}, {"owner": "ada"}]
    assert [reply.headers.get("idempotent-replayed") for reply in owners] == [None, None, "true"]
    ns = run(idempotency_namespace["blocks"]["Starlette / any ASGI app"], ns)

    async def things(request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"n": 1}, status_code=201)

    ns["starlette_app"].add_route("/things", things, methods=["POST"])
    with TestClient(ns["starlette_app"]) as client:
        replies = _twice(lambda: client.post("/things", headers={"Idempotency-Key": "doc-2"}))
    assert replies[1].headers["idempotent-replayed"] == "true"


def test_the_idempotency_guide_on_flask_and_django(idempotency_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory

    ns = run(idempotency_namespace["blocks"]["Flask"], idempotency_namespace)
    client = ns["flask_app"].test_client()
    first, again = _twice(lambda: client.post("/payments", headers={"Idempotency-Key": "doc-3"}))
    assert (first.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    ns = run(idempotency_namespace["blocks"]["Django"], ns)
    factory = RequestFactory()
    replies = _twice(lambda: ns["django_pay"](factory.post("/pay", headers={"Idempotency-Key": "doc-4"})))
    assert (replies[0].status_code, replies[1]["Idempotent-Replayed"]) == (201, "true")


def test_the_idempotency_stores_are_imported_from_where_the_guide_says() -> None:
    from backendkit.idempotency.redis import AsyncRedisStore, RedisStore

    ns = run(section_blocks("idempotency.md", "Stores, and a store that fails")[""], {"__name__": __name__})
    assert isinstance(ns["keys_for_wsgi"].store, RedisStore)
    assert isinstance(ns["keys_for_asgi"].store, AsyncRedisStore)


def test_the_documented_limit_names_every_parameter_of_limit() -> None:
    # The guide's "all parameters" block once left out exempt_paths, which the health guide relies on.
    import ast
    import inspect

    from backendkit.ratelimit import Limit

    block = next(b for b in _BLOCK.finditer((DOCS / "ratelimit.md").read_text()) if "search = Limit(" in b["code"])
    call = next(
        node
        for node in ast.walk(ast.parse(textwrap.dedent(block["code"])))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Limit"
    )
    parameters = list(inspect.signature(Limit).parameters)
    documented = [*parameters[: len(call.args)], *(keyword.arg for keyword in call.keywords)]
    assert documented == parameters  # all of them, in the signature's order


@pytest.fixture
def observability_namespace() -> Iterator[dict[str, Any]]:
    """The metrics guide's opening block (it installs an observer: put back what was there after)."""
    from backendkit.observability import observe

    with observe():
        namespace = run(first_block("observability.md"), {"__name__": __name__})
        namespace["blocks"] = section_blocks("observability.md", "Per framework")
        yield namespace


def _counted(body: str, route: str) -> bool:
    return re.search(r'http_server_request_duration_seconds_count\{[^}]*http_route="' + route + '"', body) is not None


def test_the_metrics_guide_on_every_framework(observability_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory
    from fastapi.testclient import TestClient

    ns = run(observability_namespace["blocks"]["FastAPI"], observability_namespace)
    with TestClient(ns["app"]) as client:
        assert client.get("/hello").json() == {"hello": "world"}
        reply = client.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert _counted(reply.text, "/hello")
    assert not _counted(reply.text, "/metrics")  # a scrape is not a request the service answers
    ns = run(observability_namespace["blocks"]["Starlette"], ns)
    assert _counted(TestClient(ns["starlette_app"]).get("/metrics").text, "/hello")
    ns = run(observability_namespace["blocks"]["Flask"], ns)
    assert _counted(ns["flask_app"].test_client().get("/metrics").get_data(as_text=True), "/hello")
    ns = run(observability_namespace["blocks"]["Django"], ns)
    view = ns["urlpatterns"][0].callback
    assert _counted(view(RequestFactory().get("/metrics")).content.decode(), "/hello")


def test_the_tracing_guide_traces_a_request() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from backendkit.fastapi import install
    from backendkit.observability import observe, observers
    from backendkit.observability.opentelemetry import OpenTelemetry

    blocks = section_blocks("observability.md", "Traces, and the official OpenTelemetry instrumentations")
    with observe():
        ns = run(blocks[""], {"__name__": __name__})
        (installed,) = observers()
        assert isinstance(installed, OpenTelemetry)
        exporter = InMemorySpanExporter()
        ns["tracer_provider"].add_span_processor(SimpleSpanProcessor(exporter))
        app = FastAPI()
        install(app)
        app.get("/tasks/{task_id}")(lambda task_id: {"id": task_id})
        with TestClient(app) as client:
            assert client.get("/tasks/7").status_code == 200
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /tasks/{task_id}"]


@pytest.fixture
def keys_namespace(auth_namespace: dict[str, Any]) -> dict[str, Any]:
    """The API keys section's opening block, after the guide's: a key for deploy-bot, an editor."""
    namespace = run(section_blocks("auth.md", "API keys")[""], dict(auth_namespace))
    assert namespace["api_keys"].verify(namespace["made"].key).subject == "deploy-bot"
    namespace["key_blocks"] = section_blocks("auth.md", "API keys")
    return namespace


def test_the_api_keys_guide_on_every_framework(keys_namespace: dict[str, Any]) -> None:
    from django.test import RequestFactory, override_settings
    from fastapi.testclient import TestClient

    blocks, key = keys_namespace["key_blocks"], keys_namespace["made"].key
    token_headers, key_headers = keys_namespace["headers"], {"X-API-Key": key}
    fastapi_app = run(blocks["FastAPI"], keys_namespace)["keyed_app"]
    for headers in (key_headers, {"Authorization": f"Bearer {key}"}, token_headers):
        reply = TestClient(fastapi_app).get("/tasks/mine", headers=headers)
        assert reply.status_code == 200, reply.text
    assert TestClient(fastapi_app).get("/tasks/mine", headers=key_headers).json() == {"owner": "deploy-bot"}
    schemes = TestClient(fastapi_app).get("/openapi.json").json()["components"]["securitySchemes"]
    assert {name: schemes["apiKeyAuth"][name] for name in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    starlette_app = run(blocks["Starlette"], keys_namespace)["keyed_starlette"]
    assert TestClient(starlette_app).get("/tasks/mine", headers=key_headers).json() == {"owner": "deploy-bot"}
    flask_client = run(blocks["Flask"], keys_namespace)["keyed_flask"].test_client()
    assert flask_client.get("/tasks/mine", headers=key_headers).get_json() == {"owner": "deploy-bot"}
    assert flask_client.get("/tasks/mine", headers={"X-API-Key": key[:-1]}).status_code == 401
    ns = run(blocks["Django"], keys_namespace)
    with override_settings(BACKENDKIT={"AUTH": ns["credentials"]}):
        reply = ns["django_my_tasks"](RequestFactory().get("/tasks/mine", headers=key_headers))
        assert json.loads(reply.content) == {"owner": "deploy-bot"}


INVALID_TOKEN = (
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or has expired."'
)
REFUSED = {"code": "INVALID_TOKEN", "message": "The access token is invalid or has expired."}


def _answer(reply: Any) -> tuple[int, str | None, Any]:
    """A Django test client's reply: its status, challenge and error body (without its request id)."""
    body = json.loads(reply.content)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error.pop("request_id", None)
    return reply.status_code, reply.get("WWW-Authenticate"), error if error is not None else body


def _drf_project(urlpatterns: list[Any], auth: Any) -> Any:
    """Settings for a DRF project of the guide's ``urlpatterns`` and ``AUTH`` (ErrorMiddleware is the session's)."""
    from django.test import override_settings

    urlconf = type("urls", (), {"urlpatterns": urlpatterns})
    return override_settings(
        ROOT_URLCONF=urlconf, BACKENDKIT={"AUTH": auth}, REST_FRAMEWORK={"UNAUTHENTICATED_USER": None}
    )


def test_the_api_keys_guide_on_drf(keys_namespace: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    from django.test import Client

    ns = run(keys_namespace["key_blocks"]["Django REST framework"], keys_namespace)
    made, keys = ns["made"], ns["keys"]
    wrong_secret = keys.format.compose(made.record.id, bytes(32))  # the right id, another secret
    unknown_id = keys.format.compose("0" * 12, bytes(32))
    client = Client(raise_request_exception=False)
    with _drf_project(ns["urlpatterns"], ns["credentials"]), caplog.at_level("INFO", "backendkit.auth"):
        for headers in ({"X-API-Key": made.key}, {"Authorization": f"Bearer {made.key}"}):
            reply = client.get("/tasks/mine", headers=headers)
            assert (reply.status_code, reply.json()) == (200, {"owner": "deploy-bot", "key_id": made.record.id})
        as_token = client.get("/tasks/mine", headers=ns["headers"])  # ada's token: an admin, tasks:write
        assert (as_token.status_code, as_token.json()) == (200, {"owner": "ada", "key_id": None})
        refused = [client.get("/tasks/mine", headers={"X-API-Key": key}) for key in (wrong_secret, unknown_id)]
        anonymous = client.get("/tasks/mine")
    # backendkit's answers, not DRF's {"detail": ...}; a wrong secret and an unknown id alike but in the log
    assert [_answer(reply) for reply in refused] == [(401, INVALID_TOKEN, REFUSED)] * 2
    assert [r.message for r in caplog.records if r.name == "backendkit.auth"] == [
        "API key refused: bad_secret",
        "API key refused: unknown_key",
    ]
    assert _answer(anonymous)[:2] == (401, 'Bearer realm="api"')


def test_the_refresh_tokens_guide_on_every_framework(auth_namespace: dict[str, Any]) -> None:
    from django.test import Client, override_settings
    from fastapi.testclient import TestClient

    sections = section_blocks("auth.md", "Refresh tokens")
    ns = run(sections[""], dict(auth_namespace))
    assert ns["verifier"].verify(ns["pair"].access_token).subject == "alice"
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def grant(token: str) -> str:
        return f"grant_type=refresh_token&refresh_token={token}"

    fastapi_client = TestClient(run(sections["FastAPI"], ns)["token_app"])
    pair = ns["issuer"].issue_pair("alice", claims={"scope": "tasks:read"})
    first = fastapi_client.post("/auth/refresh", content=grant(pair.refresh_token), headers=form)
    assert (first.status_code, first.headers["cache-control"]) == (200, "no-store")
    assert set(first.json()) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    access = first.json()["access_token"]
    assert fastapi_client.post("/auth/logout", headers={"Authorization": f"Bearer {access}"}).status_code == 204
    again = fastapi_client.post("/auth/refresh", content=grant(first.json()["refresh_token"]), headers=form)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # the family was logged out
    assert fastapi_client.get("/openapi.json").json()["paths"]["/auth/refresh"]["post"]
    starlette_client = TestClient(run(sections["Starlette"], ns)["token_starlette"])
    flask_client = run(sections["Flask"], ns)["token_flask"].test_client()
    for post in (
        lambda body: starlette_client.post("/auth/refresh", content=body, headers=form),
        lambda body: flask_client.post("/auth/refresh", data=body, headers=form),
    ):
        fresh = ns["issuer"].issue_pair("alice")
        assert post(grant(fresh.refresh_token)).status_code == 200
        assert post("grant_type=password").status_code == 400
    urlconf = type("urls", (), {"urlpatterns": run(sections["Django"], ns)["urlpatterns"]})
    with override_settings(ROOT_URLCONF=urlconf):
        fresh = ns["issuer"].issue_pair("alice")
        reply = Client().post("/auth/refresh", grant(fresh.refresh_token), content_type=form["Content-Type"])
        assert reply.status_code == 200
        assert json.loads(reply.content)["token_type"] == "Bearer"


def test_the_refresh_tokens_guide_on_drf(auth_namespace: dict[str, Any]) -> None:
    from django.test import Client

    sections = section_blocks("auth.md", "Refresh tokens")
    ns = run(sections["Django REST framework"], run(sections[""], dict(auth_namespace)))
    issuer, access = ns["issuer"], ns["access"]
    client = Client(raise_request_exception=False)

    def refresh(token: str) -> Any:
        body = f"grant_type=refresh_token&refresh_token={token}"
        return client.post("/auth/refresh", body, content_type="application/x-www-form-urlencoded")

    def logout(access_token: str) -> Any:
        return client.post("/auth/logout", headers={"Authorization": f"Bearer {access_token}"})

    with _drf_project(ns["urlpatterns"], access):
        login = issuer.issue_pair("alice", claims={"scope": "tasks:read"})
        first = refresh(login.refresh_token)
        assert (first.status_code, first["Cache-Control"]) == (200, "no-store")
        pair = first.json()
        assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
        assert pair["refresh_token"] != login.refresh_token
        assert access.verify(pair["access_token"]).claims["sid"] == access.verify(login.access_token).claims["sid"]
        assert refresh(login.refresh_token).json()["refresh_token"] == pair["refresh_token"]  # a retry: same pair
        latest = refresh(pair["refresh_token"]).json()
        reused = refresh(login.refresh_token)  # spent before the last one: a reuse, the family is revoked
        assert (_answer(reused), reused["Cache-Control"]) == ((400, None, "invalid_grant"), "no-store")
        assert _answer(refresh(latest["refresh_token"]))[2] == "invalid_grant"
        assert _answer(logout(latest["access_token"])) == (401, INVALID_TOKEN, REFUSED)  # its access tokens too

        session = issuer.issue_pair("alice")
        renewed = refresh(session.refresh_token).json()
        assert logout(renewed["access_token"]).status_code == 204
        assert _answer(refresh(renewed["refresh_token"])) == (400, None, "invalid_grant")  # logged out
        assert _answer(logout(renewed["access_token"])) == (401, INVALID_TOKEN, REFUSED)
        assert _answer(client.post("/auth/logout"))[:2] == (401, 'Bearer realm="api"')


def test_the_credential_stores_share_the_applications_metadata() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    engine = create_engine("sqlite://")
    ns = run(section_blocks("auth.md", "Credential stores and migrations")[""], {"Base": Base, "engine": engine})
    assert {"backendkit_api_keys", "backendkit_refresh_families", "backendkit_refresh_spent"} <= set(
        Base.metadata.tables
    )
    Base.metadata.create_all(engine)  # what a migration would have made
    from backendkit.apikeys import APIKeys

    made = APIKeys(ns["keys_store"]).create("bot")
    assert ns["keys_store"].get(made.record.id) == made.record
    assert ns["sessions"].families("nobody") == []
