"""One small app per framework, the same routes on each: an item, an upload, pages, and health probes.

The probes are served three times: at the default paths (``/livez``...), at ``/probe/<probe>``
(paths ``health_routes`` is given, so it notes them: not observed either), and under an
``/ops`` prefix the adapter's router adds, which ``health_routes`` cannot see: those requests
are observed, and marked ``excluded`` when the probe answers.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from fastapi import Depends, FastAPI, Request, WebSocket

from backendkit.health import Health
from backendkit.pagination import PageRequest, Pagination, SortSpec

ITEMS = [{"id": i} for i in range(1, 31)]
PAGES = Pagination(sort=SortSpec(["id"], default="id"), secrets=["observability-tests-secret-0123456789"])
MOVED = {probe: f"/probe/{probe}" for probe in ("live", "ready", "startup", "healthz")}


def health() -> Health:
    probes = Health()
    probes.add("always", lambda: True)
    return probes


def fastapi_app() -> FastAPI:
    from backendkit.fastapi import install
    from backendkit.fastapi.health import health_routes
    from backendkit.fastapi.pagination import page_request, page_response

    app = FastAPI()
    install(app)
    probes = health()
    health_routes(probes, app=app)
    health_routes(probes, app=app, paths=MOVED)
    app.include_router(health_routes(probes), prefix="/ops")  # a prefix health_routes cannot see

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.websocket("/echo")
    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text(await socket.receive_text())
        await socket.close()

    wanted_page = Depends(page_request(PAGES))

    @app.get("/pages")
    def pages(wanted: PageRequest = wanted_page) -> Any:
        return page_response(PAGES.paginate_sequence(ITEMS, wanted))

    return app


def flask_app() -> Any:
    from flask import Flask, jsonify, request

    from backendkit.flask import BackendKit
    from backendkit.flask.health import health_routes
    from backendkit.flask.pagination import page_request, page_response

    app = Flask(__name__)
    BackendKit(app)
    probes = health()
    app.register_blueprint(health_routes(probes))
    app.register_blueprint(health_routes(probes, paths=MOVED, name="moved_health"))
    app.register_blueprint(health_routes(probes, name="ops_health"), url_prefix="/ops")  # a prefix it cannot see

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return jsonify(id=item_id)

    @app.post("/upload")
    def upload() -> Any:
        return jsonify(size=len(request.get_data()))

    @app.get("/pages")
    def pages() -> Any:
        return page_response(PAGES.paginate_sequence(ITEMS, page_request(PAGES)))

    return app


def _item(request: HttpRequest, item_id: int) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405)
    return JsonResponse({"id": item_id})


def _upload(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"size": len(request.body)})


def _pages(request: HttpRequest) -> HttpResponse:
    from backendkit.django.pagination import page_request, page_response

    return page_response(PAGES.paginate_sequence(ITEMS, page_request(request, PAGES)))


def _urls() -> list[Any]:
    from django.views.decorators.csrf import csrf_exempt

    from backendkit.django.health import health_routes

    probes = health()
    return [
        path("items/<int:item_id>", _item),
        path("upload", csrf_exempt(_upload)),
        path("pages", _pages),
        *health_routes(probes),
        *health_routes(probes, paths=MOVED),
        path("ops/", include(health_routes(probes))),  # a prefix health_routes cannot see
    ]


urlpatterns = _urls()
