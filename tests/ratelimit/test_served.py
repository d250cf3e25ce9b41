"""Rate limits on real servers, over real sockets: what only shows there."""

from __future__ import annotations

from typing import Any

import pytest

from backendkit.ratelimit import Limit, MemoryStore, SlidingWindow, by_header
from tests.support.net import request
from tests.support.servers import uvicorn_server


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def limited_app(rule: Limit) -> Any:
    from fastapi import Depends, FastAPI

    from backendkit.fastapi import install
    from backendkit.fastapi.ratelimit import limit

    app = FastAPI()
    install(app)

    @app.get("/r", dependencies=[Depends(limit(rule))])
    async def r() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.mark.socket
def test_a_served_memory_store_shrinks_back_after_a_burst_of_clients() -> None:
    # 200,000 clients over HTTP once left +90 MB that was still there ten minutes later.
    clock = Clock()
    store = MemoryStore(clock=clock)
    rule = Limit(SlidingWindow("5/second"), store=store, key=by_header("X-Client"))
    with uvicorn_server(limited_app(rule)) as port:
        for n in range(2_000):
            assert request(port, "GET", "/r", headers={"X-Client": f"burst-{n}"}).status == 200
        assert len(store) == 2_000
        clock.now += 3_000_000  # quiet: every client's state has expired
        for _ in range(40):  # a regular client, one request every 10 ms
            clock.now += 10_000
            assert request(port, "GET", "/r", headers={"X-Client": "regular"}).status in (200, 429)
        assert len(store) <= 1
