"""`/ws`: the live log. Each client gets the event bus's job and log events as JSON; every
socket is closed with GOING_AWAY when the service shuts down.

Before the upgrade, two checks, each refusal a JSON error on a closed connection, counted in
`asyncpdf_websocket_refused`:

- `Origin`: a browser says which page opens the socket; only the service's own page
  (scheme://host[:port] of the request's Host) and the origins in `web.origins` may, or any page
  in a browser on the LAN could read the log (403). No Origin at all is no browser page (curl, a
  script) and may.
- how many are open: at most `web.max_websockets`, and never more than 3/8 of the open-files limit,
  so idle clients cannot take the descriptors jobs need (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource

from aiohttp import WSCloseCode, WSMsgType, hdrs, web

from asyncpdf.config import Web
from asyncpdf.events import Event, EventBus
from asyncpdf.web.keys import ORIGINS, SERVICE, WEBSOCKET_LIMIT, WEBSOCKETS
from asyncpdf.web.limits import WEBSOCKETS_SHARE, within_open_files

log = logging.getLogger(__name__)
RETRY_AFTER_S = 30


def _refusal(status: int, code: str, message: str) -> web.Response:
    response = web.json_response({"error": {"code": code, "message": message}}, status=status)
    if status == 503:
        response.headers[hdrs.RETRY_AFTER] = str(RETRY_AFTER_S)
    response.force_close()
    return response


def _origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True
    given = Web.normal_origin(origin)
    if given is None:
        return False
    return given == Web.normal_origin(f"{request.scheme}://{request.host}") or (
        given in request.app[ORIGINS]
    )


def _refuse(request: web.Request) -> web.Response | None:
    app = request.app
    refused = app[SERVICE].metrics.websocket_refused
    if not _origin_allowed(request):
        refused.labels(reason="origin").inc()
        return _refusal(
            403,
            "forbidden_origin",
            "the live log is open to this service's own page only; "
            "another page's origin must be listed in web.origins",
        )
    limit = app[WEBSOCKET_LIMIT]
    if len(app[WEBSOCKETS]) >= limit:
        refused.labels(reason="limit").inc()
        return _refusal(
            503,
            "too_many_websockets",
            f"the live log already has {limit} clients (web.max_websockets); try again later",
        )
    return None


async def live_log(request: web.Request) -> web.StreamResponse:
    refusal = _refuse(request)
    if refusal is not None:
        return refusal
    app = request.app
    sockets = app[WEBSOCKETS]
    ws = web.WebSocketResponse(heartbeat=30)
    sockets.add(ws)  # counted from here, so handshakes under way cannot pass the limit together
    try:
        await ws.prepare(request)
        await _serve(ws, app[SERVICE].bus)
    finally:
        sockets.discard(ws)
    return ws


async def _serve(ws: web.WebSocketResponse, bus: EventBus) -> None:
    events = bus.subscribe()
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


async def _forward(ws: web.WebSocketResponse, events: asyncio.Queue[Event]) -> None:
    while not ws.closed:
        event = await events.get()
        try:
            await ws.send_json(event)
        except ConnectionError:
            return


async def set_limits(app: web.Application) -> None:
    """The limits in force, once the service has raised the open-files limit."""
    settings = app[SERVICE].settings.web
    limit = within_open_files(settings.max_websockets, WEBSOCKETS_SHARE)
    if limit < settings.max_websockets:
        log.warning(
            "live log limited to %d websockets (web.max_websockets is %d) by the open-files "
            "limit of %d",
            limit,
            settings.max_websockets,
            resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        )
    app[WEBSOCKET_LIMIT] = limit
    app[ORIGINS] = frozenset(
        origin for origin in map(Web.normal_origin, settings.origins) if origin is not None
    )


async def close_all(app: web.Application) -> None:
    sockets = app[WEBSOCKETS]
    for ws in list(sockets):
        with contextlib.suppress(RuntimeError):  # still in its handshake: the server ends it
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", live_log)
    app.on_startup.append(set_limits)
    app.on_shutdown.append(close_all)
