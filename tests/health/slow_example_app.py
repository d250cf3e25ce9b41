"""The FastAPI example with one slow route added, for the draining test (served by uvicorn in a subprocess).

After the shutdown signal uvicorn no longer accepts connections, so the slow route
probes the example from inside: ``/readyz`` and ``/livez`` through the example's
whole ASGI stack (its middleware, router and health object), as a probe would.
"""

from __future__ import annotations

import asyncio
import json

import httpx2

from examples.fastapi_app import create_app

app = create_app()


@app.get("/test/slow")
async def slow() -> dict[str, object]:
    await asyncio.sleep(1.5)  # the shutdown signal arrives meanwhile
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://probe") as client:
        ready, live = await client.get("/readyz"), await client.get("/livez")
    return {
        "ready": [ready.status_code, ready.headers["content-type"], json.loads(ready.text)],
        "live": [live.status_code, live.headers["content-type"], json.loads(live.text)],
    }
