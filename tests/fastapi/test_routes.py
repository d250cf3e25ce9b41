"""HEAD and the OpenAPI corrections on routes shaped as applications shape them, beyond the example's."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Response
from fastapi.testclient import TestClient

from backendkit.errors import ValidationFailed
from backendkit.fastapi import error_responses, install


def responses_of(spec: dict[str, Any], path: str, method: str = "get") -> list[str]:
    return sorted(spec["paths"][path][method]["responses"])


def schema_of(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    [parameter] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    return schema


def test_routes_of_an_included_router_answer_head_and_are_documented() -> None:
    # FastAPI keeps an included router as one entry of the app's routes: its routes once got
    # neither HEAD nor the document's corrections.
    app = FastAPI()
    router = APIRouter()

    @router.get("/items/{n:int}")
    def item(n: int) -> dict[str, int]:
        return {"n": n}

    @router.post("/items")
    def create(data: dict[str, int]) -> dict[str, int]:
        return data

    app.include_router(router, prefix="/r")
    install(app)
    client = TestClient(app)
    assert client.head("/r/items/1").status_code == 200
    assert client.put("/r/items/1").headers["allow"] == "GET, HEAD"
    spec = client.get("/openapi.json").json()
    assert responses_of(spec, "/r/items/{n}") == ["200", "404"]
    assert responses_of(spec, "/r/items", "post") == ["200", "400", "415", "422"]
    assert list(spec["paths"]["/r/items/{n}"]) == ["get"]


def test_a_router_included_after_install_is_served_the_same() -> None:
    app = FastAPI()
    install(app)
    router = APIRouter()

    @router.get("/late")
    def late() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(router)
    assert TestClient(app).head("/late").status_code == 200


def test_the_path_parameters_type_and_bounds_are_kept() -> None:
    # The convertor's schema once replaced FastAPI's: {item_id} typed int was documented as any
    # string, and a Path(ge=5) behind an int convertor as minimum 0.
    app = FastAPI()
    install(app)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/pos/{n:int}")
    def pos(n: int = Path(ge=5)) -> dict[str, int]:
        return {"n": n}

    @app.get("/names/{name}")
    def name(name: str) -> dict[str, str]:
        return {"name": name}

    client = TestClient(app)
    spec = client.get("/openapi.json").json()
    assert schema_of(spec, "/items/{item_id}", "item_id")["type"] == "integer"
    assert responses_of(spec, "/items/{item_id}") == ["200", "404", "422"]
    assert client.get("/items/abc").status_code == 422
    assert schema_of(spec, "/pos/{n}", "n")["minimum"] == 5
    assert schema_of(spec, "/names/{name}", "name")["pattern"] == "^[^/]+$"


def test_a_422_the_route_declares_is_kept() -> None:
    app = FastAPI()
    install(app)

    @app.get("/things/{n:int}", responses=error_responses(422))
    def thing(n: int) -> dict[str, int]:
        raise ValidationFailed(message="No such thing.")

    client = TestClient(app)
    assert client.get("/things/1").status_code == 422
    assert responses_of(client.get("/openapi.json").json(), "/things/{n}") == ["200", "404", "422"]


def test_a_head_route_of_the_applications_own_is_the_one_that_answers() -> None:
    app = FastAPI()
    install(app)

    @app.get("/both")
    def both_get() -> dict[str, bool]:
        return {"get": True}

    @app.head("/both")
    def both_head() -> Response:
        return Response(headers={"x-own-head": "1"})

    reply = TestClient(app).head("/both")
    assert (reply.status_code, reply.headers.get("x-own-head")) == (200, "1")


def test_a_mounted_application_is_left_to_its_own_installation() -> None:
    # Its routes were changed and documented as the parent's: a 422 the parent's route sends
    # was removed, and the sub-application's own document warned of duplicate operations.
    app = FastAPI()
    install(app)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    sub = FastAPI()

    @sub.get("/items/{item_id:int}")
    def sub_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.mount("/sub", sub)
    client = TestClient(app)
    assert client.head("/sub/items/1").status_code == 405  # not installed there
    spec = client.get("/openapi.json").json()
    assert responses_of(spec, "/items/{item_id}") == ["200", "404", "422"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(client.get("/sub/openapi.json").json()["paths"]["/items/{item_id}"]) == ["get"]
