"""The page an operator opens, and its static files (all served locally: no CDN)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC)
