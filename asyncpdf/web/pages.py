"""The pages an operator opens, and their static files (all served locally: no CDN).

Each page is a static HTML file whose script reads the JSON API and the live `/ws`; the
server renders nothing into them, so the job number in `/jobs/{id}` is read by the script.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

STATIC = Path(__file__).parent / "static"


def _page(name: str) -> Handler:
    async def view(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name)

    return view


def setup(app: web.Application) -> None:
    app.router.add_get("/", _page("index.html"))
    app.router.add_get(r"/jobs/{id:\d+}", _page("job.html"))
    app.router.add_get("/reports", _page("reports.html"))
    app.router.add_static("/static", STATIC)
