"""Typed keys for what the app shares between its views."""

from __future__ import annotations

import weakref

from aiohttp import web

from asyncpdf.service import Service

SERVICE = web.AppKey("service", Service)
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
