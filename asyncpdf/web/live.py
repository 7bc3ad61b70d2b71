"""`/ws`: the live log. Each client gets the event bus's job and log events as JSON; every
socket is closed with GOING_AWAY when the service shuts down."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSCloseCode, WSMsgType, web

from asyncpdf.events import Event
from asyncpdf.web.keys import SERVICE, WEBSOCKETS


async def live_log(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    app = request.app
    bus = app[SERVICE].bus
    events = bus.subscribe()
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
        bus.unsubscribe(events)
        app[WEBSOCKETS].discard(ws)
    return ws


async def _forward(ws: web.WebSocketResponse, events: asyncio.Queue[Event]) -> None:
    while not ws.closed:
        event = await events.get()
        try:
            await ws.send_json(event)
        except ConnectionError:
            return


async def close_all(app: web.Application) -> None:
    sockets = app[WEBSOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", live_log)
    app.on_shutdown.append(close_all)
