"""Typed keys for what the app shares between its parts."""

from __future__ import annotations

import asyncio
import weakref

from aiohttp import web

from asyncpdf.config import Settings
from asyncpdf.events import EventBus
from asyncpdf.metrics import Metrics
from asyncpdf.pool import Pool
from asyncpdf.runner import JobRunner
from asyncpdf.store import Store
from asyncpdf.watcher import Watcher

SETTINGS = web.AppKey("settings", Settings)
BUS = web.AppKey("bus", EventBus)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
POOL = web.AppKey("pool", Pool)
RUNNER = web.AppKey("runner", JobRunner)
WATCHER = web.AppKey("watcher", Watcher)
WATCHER_TASK = web.AppKey("watcher_task", asyncio.Task[None])
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
