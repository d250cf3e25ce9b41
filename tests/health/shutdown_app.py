"""An app for the shutdown test: a slow route that reports readiness as it ends (served by uvicorn)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from backendkit.fastapi import install
from backendkit.fastapi.health import health_router
from backendkit.health import Health
from backendkit.starlette.health import DrainOnShutdown

health = Health(interval=0)
health.add("db:ping", lambda: True)
app = FastAPI()
install(app)
app.include_router(health_router(health))
app.add_middleware(DrainOnShutdown, health=health)


@app.get("/slow")
async def slow() -> dict[str, object]:
    await asyncio.sleep(1.5)  # the shutdown signal arrives meanwhile
    ready, live = await health.aready(), health.live()
    return {"ready": ready.http_status, "live": live.http_status}
