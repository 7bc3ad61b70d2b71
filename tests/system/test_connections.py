"""The web side against clients that misbehave, on the real service as a subprocess: an upload
whose client goes away is one INFO line (no traceback) and leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from tests.support import wait_for

TOKEN = "connections-token-0123456789"
BOUNDARY = "b0undary"


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

    await wait_for(staged, 30, "the upload to be staged")
    writer.close()
    await writer.wait_closed()

    async def told() -> list[str]:
        return [line for line in service.log_text().splitlines() if "ended early" in line]

    (line,) = await wait_for(told, 30, "the line saying the client went away")
    assert " INFO asyncpdf.web.uploads: upload from 127.0.0.1 ended early" in line

    async def cleaned() -> bool:
        return not any(spool.iterdir())

    await wait_for(cleaned, 30, "the staging folder to be removed")
    log = service.log_text()
    assert "Traceback" not in log and " ERROR " not in log
