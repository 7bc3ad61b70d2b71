"""Typed keys for what the app shares between its views."""

from __future__ import annotations

import weakref

from aiohttp import web

from asyncpdf.service import Service

SERVICE = web.AppKey("service", Service)
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
#: Live-log websockets allowed open at once (`web.max_websockets`, at most half the open files).
WEBSOCKET_LIMIT = web.AppKey("websocket_limit", int)
#: Normalised origins, besides the page's own, whose pages may open the live log.
ORIGINS: web.AppKey[frozenset[str]] = web.AppKey("origins")
