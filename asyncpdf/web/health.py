"""`/healthz` (the process answers), `/readyz` (each part's own health) and `/metrics`."""

from __future__ import annotations

from aiohttp import web

from asyncpdf import __version__
from asyncpdf.metrics import CONTENT_TYPE
from asyncpdf.web.keys import SERVICE, WEBSOCKETS


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    parts = await request.app[SERVICE].health()
    failing = sorted(name for name, health in parts.items() if not health.ok)
    body = {
        "status": "not ready" if failing else "ready",
        "failing": failing,
        "parts": {name: health.as_json() for name, health in parts.items()},
    }
    return web.json_response(body, status=503 if failing else 200)


async def metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    await service.refresh_metrics()
    collected = service.metrics
    collected.websocket_clients.set(len(request.app[WEBSOCKETS]))
    return web.Response(body=collected.render(), headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
