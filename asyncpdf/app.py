"""The app factory: one aiohttp application owns every long-lived part of the service.

Each part is its own cleanup context, so start-up happens in order and teardown runs, in
reverse, only for what started.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from asyncpdf.config import Settings
from asyncpdf.events import EventBus
from asyncpdf.metrics import Metrics
from asyncpdf.pool import Pool
from asyncpdf.runner import JobRunner
from asyncpdf.spool import Spool
from asyncpdf.store import Store
from asyncpdf.watcher import Watcher
from asyncpdf.web import routes
from asyncpdf.web.keys import (
    BUS,
    METRICS,
    POOL,
    RUNNER,
    SETTINGS,
    STORE,
    WATCHER,
    WATCHER_TASK,
    WEBSOCKETS,
)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    app[STORE] = await Store.open(app[SETTINGS].paths.database)
    yield
    await app[STORE].close()


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].pool
    app[POOL] = Pool(settings.workers, settings.job_timeout_s, settings.worker_memory_mb)
    yield
    await asyncio.to_thread(app[POOL].close)


async def _runner_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    spool = Spool(settings.paths)
    await asyncio.to_thread(spool.prepare)
    runner = JobRunner(settings, app[STORE], spool, app[POOL], app[BUS], app[METRICS])
    app[RUNNER] = runner
    runner.start()
    await runner.recover()
    yield
    await runner.stop()


async def _watcher_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    watcher = Watcher(
        settings.paths.hotfolder,
        app[RUNNER].claim,
        settle_s=settings.watch.settle_s,
        poll_s=settings.watch.poll_s,
        ignore=settings.watch.patterns,
    )
    watcher.open()
    app[WATCHER] = watcher
    app[WATCHER_TASK] = asyncio.create_task(watcher.run(), name="watcher")
    yield
    app[WATCHER_TASK].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await app[WATCHER_TASK]
    watcher.close()


async def _close_websockets(app: web.Application) -> None:
    sockets = app[WEBSOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[routes.error_middleware])
    app[SETTINGS] = settings
    app[BUS] = EventBus()
    app[METRICS] = Metrics()
    app[WEBSOCKETS] = weakref.WeakSet[web.WebSocketResponse]()
    app.cleanup_ctx.extend([_store_ctx, _pool_ctx, _runner_ctx, _watcher_ctx])
    app.on_shutdown.append(_close_websockets)
    routes.setup(app)
    return app
