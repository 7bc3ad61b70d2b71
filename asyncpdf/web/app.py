"""The app factory: the web app enters the `Service` for its lifetime and serves views over it.

The access log leaves out the probes (`/healthz`, `/readyz`, `/metrics`), which would drown it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_log import AccessLogger

from asyncpdf.config import Settings
from asyncpdf.service import Service
from asyncpdf.web import api, health, line, live, openapi, pages, reports
from asyncpdf.web.accept import AcceptErrors
from asyncpdf.web.auth import Guard, authentication
from asyncpdf.web.errors import json_errors
from asyncpdf.web.keys import GUARD, SERVICE, WEBSOCKETS

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class QuietAccessLogger(AccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path not in PROBES:
            super().log(request, response, time)


ACCESS_LOGGER: type[AbstractAccessLogger] = QuietAccessLogger


def create_app(settings: Settings, *, config_path: Path | None = None) -> web.Application:
    # Credentials first: a refused request never reaches a view (auth.py says which need them).
    guard = Guard(settings.web.auth, settings.web.origins, PROBES)
    app = web.Application(middlewares=[authentication(guard), json_errors])
    app[GUARD] = guard
    app[WEBSOCKETS] = weakref.WeakSet[web.WebSocketResponse]()

    async def service_ctx(app: web.Application) -> AsyncIterator[None]:
        async with Service(settings, config_path=config_path) as service:
            app[SERVICE] = service
            loop = asyncio.get_running_loop()
            handler = AcceptErrors(service.metrics, loop.get_exception_handler())
            loop.set_exception_handler(handler)
            try:
                yield
            finally:
                if loop.get_exception_handler() is handler:
                    loop.set_exception_handler(handler.previous)

    app.cleanup_ctx.append(service_ctx)
    for part in (pages, api, line, live, health, reports, openapi):
        part.setup(app)
    return app
