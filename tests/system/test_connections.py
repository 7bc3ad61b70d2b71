"""The web side against clients that misbehave, on the real service as a subprocess: an upload
whose client goes away is one INFO line (no traceback) and leaves nothing behind; 600 idle
connections from one address neither lock out another address nor stay open past the header
timeout; a keep-alive connection left idle is closed; a request no HTTP client would send is
one INFO line."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp

from tests.support import wait_for

TOKEN = "connections-token-0123456789"
BOUNDARY = "b0undary"
FLOOD = 600
PER_ADDRESS = 256
#: Longer than a busy machine takes to open the flood's 600 connections: were the first ones
#: timed out (408) before the last opened, their places would go to later ones, not 503s.
HEADER_TIMEOUT_S = 30
#: Past the header timeout: a connection that never sent a request is closed silently once
#: idle, so the flood's would end without their 408.
IDLE_TIMEOUT_S = HEADER_TIMEOUT_S + 10


def _tokens() -> dict[str, Any]:
    sha = hashlib.sha256(TOKEN.encode()).hexdigest()
    return {"auth": {"tokens": [{"name": "tests", "token_sha256": sha}]}}


async def test_a_client_that_goes_away_mid_upload_is_one_info_line(make_service: Any) -> None:
    service = make_service(web=_tokens())
    await service.start()
    head = (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="gone.pdf"\r\n\r\n'
        ).encode()
        + b"%PDF-1.7\n"
        + b"0" * 65536
    )
    _, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(
        b"POST /api/jobs HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n".encode()
        + f"Content-Length: {len(head) + 10_000_000}\r\n\r\n".encode()
        + head
    )
    await writer.drain()
    spool = service.folder("spool")

    async def staged() -> bool:
        return any(spool.iterdir())

    await wait_for(staged, 60, "the upload to be staged")
    writer.close()
    await writer.wait_closed()

    async def told() -> list[str]:
        return [line for line in service.log_text().splitlines() if "ended early" in line]

    (line,) = await wait_for(told, 60, "the line saying the client went away")
    assert " INFO asyncpdf.web.uploads: upload from 127.0.0.1 ended early" in line

    async def cleaned() -> bool:
        return not any(spool.iterdir())

    await wait_for(cleaned, 60, "the staging folder to be removed")
    log = service.log_text()
    assert "Traceback" not in log and " ERROR " not in log


async def _metric(http: aiohttp.ClientSession, url: str, line: str) -> float:
    async with http.get(f"{url}/metrics") as response:
        text = await response.text()
    (value,) = [row.rsplit(" ", 1)[1] for row in text.splitlines() if row.startswith(line + " ")]
    return float(value)


async def test_idle_connections_from_one_address_lock_nobody_out(make_service: Any) -> None:
    service = make_service(
        web={
            "max_connections_per_address": PER_ADDRESS,
            "header_timeout_s": HEADER_TIMEOUT_S,
            "idle_timeout_s": IDLE_TIMEOUT_S,
        }
    )
    await service.start()
    # A keep-alive connection that asked once and then says nothing is closed.
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(reader.read(), IDLE_TIMEOUT_S + 60)
    writer.close()

    flood: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(FLOOD):
            flood.append(await asyncio.open_connection("127.0.0.1", service.port))
        # Another client, from another address, meanwhile: answered as ever.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), force_close=True)
        async with aiohttp.ClientSession(connector=connector) as other:
            for path in ("/healthz", "/", "/api/jobs"):
                async with other.get(f"{service.url}{path}") as response:
                    assert response.status == 200, path

            # Every one of the flood's connections is closed: a 503 at once for those past
            # the address's share, a 408 once the header timeout has passed for the others.
            async def closed(
                pair: tuple[asyncio.StreamReader, asyncio.StreamWriter],
            ) -> bytes:
                return await pair[0].read()

            answers = await asyncio.wait_for(
                asyncio.gather(*(closed(pair) for pair in flood)), HEADER_TIMEOUT_S + 60
            )
            firsts = sorted({answer.split(b"\r\n", 1)[0] for answer in answers})
            assert firsts == [b"HTTP/1.1 408 Request Timeout", b"HTTP/1.1 503 Service Unavailable"]
            assert sum(a.startswith(b"HTTP/1.1 503") for a in answers) >= FLOOD - PER_ADDRESS

            per_address = 'asyncpdf_connections_dropped_total{reason="per_address"}'
            headers = 'asyncpdf_connections_dropped_total{reason="headers"}'
            dropped = await _metric(other, service.url, per_address)
            timed_out = await _metric(other, service.url, headers)
            assert dropped >= FLOOD - PER_ADDRESS and dropped + timed_out == FLOOD
            async with other.get(f"{service.url}/healthz") as response:
                assert response.status == 200
    finally:
        for _, writer in flood:
            writer.close()
    assert "Traceback" not in service.log_text()


async def test_an_unreadable_request_is_a_400_and_one_line(make_service: Any) -> None:
    service = make_service()
    await service.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(b"GET /api/jobs HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\x1b\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 60)).split(b" ")[1] == b"400"
    writer.close()

    async def told() -> list[str]:
        return [line for line in service.log_text().splitlines() if "unreadable request" in line]

    (line,) = await wait_for(told, 60, "the line about the unreadable request")
    assert " INFO asyncpdf.web.requests: Error handling request from 127.0.0.1" in line
    assert "Traceback" not in service.log_text()
