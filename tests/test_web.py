"""The app in-process, called like a client: readiness names the failing part; live-log
websockets are closed cleanly when the service shuts down."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
from aiohttp import WSCloseCode
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.app import create_app
from asyncpdf.config import load_settings
from asyncpdf.web.keys import WATCHER_TASK
from tests.conftest import write_config


async def start(tmp_path: Path) -> TestClient:
    app = create_app(load_settings(write_config(tmp_path)))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_readyz_names_a_dead_watcher(tmp_path: Path) -> None:
    client = await start(tmp_path)
    try:
        response = await client.get("/readyz")
        assert response.status == 200
        task = client.app[WATCHER_TASK]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        response = await client.get("/readyz")
        body = await response.json()
        assert response.status == 503
        assert body["failing"] == ["watcher"]
        assert body["checks"]["database"] == "ok" and body["checks"]["pool"] == "ok"
    finally:
        await client.close()


async def test_api_rejects_bad_paging_and_unknown_jobs(tmp_path: Path) -> None:
    client = await start(tmp_path)
    try:
        assert (await client.get("/api/jobs?limit=ten")).status == 400
        body = await (await client.get("/api/jobs?limit=100000")).json()
        assert body == {"jobs": [], "limit": 500, "offset": 0}
        response = await client.get("/api/jobs/41")
        assert response.status == 404 and (await response.json()) == {"error": "no job 41"}
    finally:
        await client.close()


async def test_websocket_closed_going_away_on_shutdown(tmp_path: Path) -> None:
    server = TestServer(create_app(load_settings(write_config(tmp_path))))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.make_url("/ws"))
        async with session.get(server.make_url("/metrics")) as response:
            assert "asyncpdf_websocket_clients 1.0" in await response.text()
        closing = asyncio.create_task(server.close())
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
        await closing
