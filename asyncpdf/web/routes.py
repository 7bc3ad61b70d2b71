"""Thin views over the store and the runner; errors rendered as JSON in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST

from asyncpdf.errors import AsyncPdfError
from asyncpdf.web.keys import BUS, METRICS, POOL, RUNNER, STORE, WATCHER, WATCHER_TASK, WEBSOCKETS

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
READY_TIMEOUT_S = 10.0
MAX_PAGE = 500


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except AsyncPdfError as exc:
        return web.json_response({"error": str(exc)}, status=exc.http_status)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(app[STORE].ping(), READY_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failed: {exc!r}"
    alive = app[WATCHER].alive and not app[WATCHER_TASK].done()
    checks["watcher"] = "ok" if alive else "failed: not watching the hotfolder"
    try:
        await asyncio.wait_for(app[POOL].ping(), READY_TIMEOUT_S)
        checks["pool"] = "ok"
    except Exception as exc:
        checks["pool"] = f"failed: {exc!r}"
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "ready" if not failing else "not ready", "failing": failing, "checks": checks}
    return web.json_response(body, status=503 if failing else 200)


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    collected = app[METRICS]
    collected.set_job_counts(await app[STORE].count_by_state())
    collected.queue_depth.set(app[RUNNER].queue.qsize())
    collected.websocket_clients.set(len(app[WEBSOCKETS]))
    collected.pool_replacements.set(app[POOL].replacements)
    response = web.Response(body=collected.render())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def _int_query(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number, not {raw!r}") from None
    return max(0, min(value, maximum))


async def list_jobs(request: web.Request) -> web.Response:
    limit = _int_query(request, "limit", 50, MAX_PAGE)
    offset = _int_query(request, "offset", 0, 2**62)
    jobs = await request.app[STORE].list_jobs(limit=limit, offset=offset)
    return web.json_response(
        {"jobs": [job.as_json() for job in jobs], "limit": limit, "offset": offset}
    )


async def job_detail(request: web.Request) -> web.Response:
    store = request.app[STORE]
    job_id = int(request.match_info["id"])
    job = await store.get_job(job_id)
    return web.json_response(
        {
            "job": job.as_json(),
            "analysis": job.analysis,
            "deliveries": [d.as_json() for d in await store.deliveries(job_id)],
            "log": [line.as_json() for line in await store.log_lines(job_id)],
        }
    )


async def recent_log(request: web.Request) -> web.Response:
    limit = _int_query(request, "limit", 200, MAX_PAGE)
    lines = await request.app[STORE].recent_log(limit)
    return web.json_response({"log": [line.as_json() for line in lines]})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def live_log(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    app = request.app
    events = app[BUS].subscribe()
    app[WEBSOCKETS].add(ws)
    sender = asyncio.create_task(_forward(ws, events))
    try:
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        app[BUS].unsubscribe(events)
        app[WEBSOCKETS].discard(ws)
    return ws


async def _forward(ws: web.WebSocketResponse, events: asyncio.Queue[dict[str, object]]) -> None:
    while not ws.closed:
        event = await events.get()
        try:
            await ws.send_json(event)
        except ConnectionError:
            return


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_get(r"/api/jobs/{id:\d+}", job_detail)
    app.router.add_get("/api/log", recent_log)
    app.router.add_get("/ws", live_log)
    app.router.add_static("/static", STATIC)
