"""Typed keys for what the app shares between its views."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aiohttp import web

from asyncpdf.service import Service

if TYPE_CHECKING:
    from asyncpdf.web.auth import Guard

SERVICE = web.AppKey("service", Service)
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
#: Live-log websockets allowed open at once (`web.max_websockets`, at most half the open files).
WEBSOCKET_LIMIT = web.AppKey("websocket_limit", int)
#: Normalised origins, besides the page's own, whose pages may open the live log.
ORIGINS: web.AppKey[frozenset[str]] = web.AppKey("origins")
#: Who may change things, and who a request's login is for.
GUARD: web.AppKey[Guard] = web.AppKey("guard")
