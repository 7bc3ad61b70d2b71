"""The live log's door, in-process: at most `web.max_websockets` clients (more get 503, a JSON
reason and a closed connection, and are counted), only the page's own origin or a configured
one (a foreign page gets 403 before the upgrade; no Origin is a script and may), and asyncio's
flood of failed accept() calls said once, not once per try."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from asyncpdf.config import load_settings
from asyncpdf.errors import ConfigError
from asyncpdf.metrics import Metrics
from asyncpdf.web.accept import ACCEPT_ERROR, AcceptErrors
from asyncpdf.web.app import create_app
from tests.support import wait_for, write_config

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
}

Serve = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    servers: list[TestServer] = []

    async def start(**web: Any) -> TestServer:
        server = TestServer(create_app(load_settings(write_config(tmp_path, web=web))))
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


async def metric(session: aiohttp.ClientSession, server: TestServer, line: str) -> float:
    async with session.get(server.make_url("/metrics")) as response:
        text = await response.text()
    (value,) = [row.rsplit(" ", 1)[1] for row in text.splitlines() if row.startswith(line + " ")]
    return float(value)


async def upgrade(
    session: aiohttp.ClientSession, server: TestServer, origin: str | None = None
) -> tuple[int, dict[str, Any], str]:
    """A websocket upgrade by hand, to see the refusal's body and headers."""
    headers = {**UPGRADE, "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    if origin is not None:
        headers["Origin"] = origin
    async with session.get(server.make_url("/ws"), headers=headers) as response:
        return response.status, await response.json(), response.headers.get("Connection", "")


async def test_websockets_beyond_the_cap_get_503_until_one_closes(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    server = await serve(max_websockets=2)
    first = await session.ws_connect(server.make_url("/ws"))
    second = await session.ws_connect(server.make_url("/ws"))

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.make_url("/ws"))
    assert refused.value.status == 503
    status, body, connection = await upgrade(session, server)
    assert status == 503 and connection.lower() == "close"
    assert body["error"]["code"] == "too_many_websockets"
    assert "2 clients (web.max_websockets)" in body["error"]["message"]
    assert await metric(session, server, 'asyncpdf_websocket_refused_total{reason="limit"}') == 2
    assert await metric(session, server, "asyncpdf_websocket_clients") == 2

    await first.close()

    async def one_left() -> bool:
        return await metric(session, server, "asyncpdf_websocket_clients") == 1

    await wait_for(one_left, 60, "the closed websocket to leave")
    third = await session.ws_connect(server.make_url("/ws"))
    assert not third.closed
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(server.make_url("/ws"))
    assert await metric(session, server, 'asyncpdf_websocket_refused_total{reason="limit"}') == 3
    assert await metric(session, server, 'asyncpdf_websocket_refused_total{reason="origin"}') == 0
    await second.close()
    await third.close()


async def test_origin_own_or_configured_or_none(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    server = await serve(origins=["https://Prepress.example.com", "http://10.0.0.5:8800/"])
    own = f"http://127.0.0.1:{server.port}"
    allowed = [
        None,  # curl, a script
        own,
        "https://prepress.example.com",
        "https://prepress.example.com:443",
        "http://10.0.0.5:8800",
    ]
    for origin in allowed:
        ws = await session.ws_connect(server.make_url("/ws"), origin=origin)
        assert not ws.closed, origin
        await ws.close()

    foreign = [
        "http://evil.example",
        "null",
        f"https://127.0.0.1:{server.port}",  # another scheme
        f"http://127.0.0.1:{server.port + 1}",  # another port
        f"http://localhost:{server.port}",  # another name for the same machine
        "http://prepress.example.com",
        "https://prepress.example.com.evil.example",
        f"http://user@127.0.0.1:{server.port}",
        "not an origin",
    ]
    for origin in foreign:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(server.make_url("/ws"), origin=origin)
        assert refused.value.status == 403, origin
    status, body, connection = await upgrade(session, server, origin="http://evil.example")
    assert status == 403 and connection.lower() == "close"
    assert body["error"]["code"] == "forbidden_origin"
    assert "web.origins" in body["error"]["message"]
    refused_count = await metric(
        session, server, 'asyncpdf_websocket_refused_total{reason="origin"}'
    )
    assert refused_count == len(foreign) + 1
    assert await metric(session, server, "asyncpdf_websocket_clients") == 0


async def test_a_foreign_page_cannot_take_the_last_place(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    server = await serve(max_websockets=1)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.make_url("/ws"), origin="http://evil.example")
    assert refused.value.status == 403
    async with session.ws_connect(server.make_url("/ws")) as ws:
        assert not ws.closed


@pytest.mark.parametrize(
    "origins", [["prepress.example.com"], ["https://x.example/path"], ["ftp://x.example"], ["*"]]
)
def test_configured_origins_must_be_origins(tmp_path: Path, origins: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(tmp_path, web={"origins": origins}))
    assert "web.origins" in str(error.value)
    assert "http(s)://host[:port]" in str(error.value)


def test_the_defaults(tmp_path: Path) -> None:
    web = load_settings(write_config(tmp_path)).web
    assert (web.max_websockets, web.origins) == (100, ())


async def test_accept_errors_are_said_once_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    metrics = Metrics()
    passed: list[dict[str, Any]] = []
    handler = AcceptErrors(metrics, lambda loop, context: passed.append(context))
    error = OSError(24, "Too many open files")
    with caplog.at_level(logging.ERROR):
        for _ in range(1000):
            handler(loop, {"message": ACCEPT_ERROR, "exception": error})
        handler(loop, {"message": "Task exception was never retrieved"})
    lines = [r for r in caplog.records if "cannot accept connections" in r.getMessage()]
    assert len(lines) == 1
    assert "Too many open files" in lines[0].getMessage()
    assert "open-files limit" in lines[0].getMessage()
    assert [context["message"] for context in passed] == ["Task exception was never retrieved"]
    assert b"asyncpdf_accept_failures_total 1000.0" in metrics.render()
