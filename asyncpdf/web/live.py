"""`/ws`: the live page's events. Each client is sent `{"type": "hello", "seq": LAST}`, then
what it missed (`?after=N`: every event after N; `?tail=K`: the last K), then each numbered
job, log and deleted event as it commits. A client too far behind is closed with
TRY_AGAIN_LATER and reconnects with `after`; every socket is closed with GOING_AWAY when the
service shuts down.

A request that is not a websocket handshake, or whose `after` or `tail` is not a whole
number, is a JSON 400. Before the upgrade, two checks, each refusal a JSON error on a closed
connection, counted in `asyncpdf_websocket_refused`:

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
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, hdrs, web

from asyncpdf.config import Web
from asyncpdf.events import Event, Subscription
from asyncpdf.service import Service
from asyncpdf.web.jsonbody import dumps
from asyncpdf.web.keys import ORIGINS, SERVICE, WEBSOCKET_LIMIT, WEBSOCKETS
from asyncpdf.web.limits import WEBSOCKETS_SHARE, within_open_files

log = logging.getLogger(__name__)
RETRY_AFTER_S = 30
#: Events a page catching up is sent at most; further behind, it reloads instead.
MAX_BACKLOG = 5000
#: Event numbers are SQLite integers: at most 19 digits.
MAX_DIGITS = 19
#: How long a dropped client has to take its close frame.
DROP_CLOSE_S = 2.0


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
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        return _refusal(400, "bad_request", "/ws is a websocket: open it with Upgrade: websocket")
    try:
        after, tail = _position(request)
    except ValueError as exc:
        return _refusal(400, "bad_request", str(exc))
    refusal = _refuse(request)
    if refusal is not None:
        return refusal
    app = request.app
    sockets = app[WEBSOCKETS]
    sockets.add(ws)  # counted from here, so handshakes under way cannot pass the limit together
    try:
        await ws.prepare(request)
        await _serve(ws, request, after, tail)
    finally:
        sockets.discard(ws)
    return ws


def _position(request: web.Request) -> tuple[int | None, int]:
    """`after=N` (the last event the page saw) or `tail=K` (the last K events, for a page that
    has seen none); ValueError saying which is not a whole number."""
    after = _count(request, "after")
    tail = _count(request, "tail")
    return after, min(tail or 0, MAX_BACKLOG)


def _count(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    # Not str.isdigit, which takes "²" and other digits int() does not.
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DIGITS:
        raise ValueError(f"{name} must be a whole number, not {raw[:40]!r}")
    return int(raw)


async def _backlog(service: Service, after: int | None, tail: int, last: int) -> list[Event]:
    """What the page missed up to event `last`, from memory or the database; a reset event
    when they are no longer kept (the page then reloads what it shows)."""
    if after is None:
        after, whole = max(last - tail, 0), False
    else:
        after, whole = min(after, last), True
    if after >= last:
        return []
    recent = service.bus.recent_after(after)
    if recent is not None:
        return [event for event in recent if event["seq"] <= last]
    stored = await service.events_after(after, min(last - after, MAX_BACKLOG + 1))
    complete = bool(stored) and stored[0]["seq"] == after + 1 and last - after <= MAX_BACKLOG
    if whole and not complete:
        return [{"type": "reset", "seq": last}]
    return [event for event in stored if event["seq"] <= last]


async def _serve(
    ws: web.WebSocketResponse, request: web.Request, after: int | None, tail: int
) -> None:
    service = request.app[SERVICE]
    # Subscribed before the backlog is read: nothing published meanwhile is missed, and
    # what both hold is sent once (by number).
    subscription = service.bus.subscribe()
    last = service.bus.last_seq
    tasks: set[asyncio.Task[Any]] = set()
    try:
        await ws.send_json({"type": "hello", "seq": last}, dumps=dumps)
        backlog = await _backlog(service, after, tail, last)
        receiving = asyncio.create_task(_receive(ws))
        sending = asyncio.create_task(_forward(ws, subscription, backlog, last))
        dropped = asyncio.create_task(subscription.dropped.wait())
        tasks = {receiving, sending, dropped}
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if dropped.done():
            service.metrics.websocket_dropped.inc()
            await _drop(ws, request)
    except ConnectionError:
        return
    finally:
        service.bus.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _receive(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            return


async def _forward(
    ws: web.WebSocketResponse, subscription: Subscription, backlog: list[Event], last: int
) -> None:
    for event in backlog:
        await ws.send_json(event, dumps=dumps)
    while not ws.closed:
        event = await subscription.queue.get()
        if event["seq"] > last:
            await ws.send_json(event, dumps=dumps)


async def _drop(ws: web.WebSocketResponse, request: web.Request) -> None:
    """Close a client that fell too far behind; one that reads nothing at all cannot take the
    close frame either, and its connection is cut."""
    try:
        async with asyncio.timeout(DROP_CLOSE_S):
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too far behind")
    except (TimeoutError, ConnectionError):
        if request.transport is not None:
            request.transport.abort()


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
