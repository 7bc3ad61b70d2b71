"""Callback URLs of uploads: refused at submission when they point at this machine (loopback,
link-local) unless `notify.callback_allow` lists the address, and always when they point at
the service itself; shown without user part and query everywhere; a failed one is recorded
by its status line, not by what the other end answered."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for, write_config

Client = TestClient[web.Request, web.Application]
TOKEN = "callback-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET_BODY = "the-other-ends-own-words"


async def _client(tmp_path: Path, allow: list[str]) -> Client:
    tokens = [{"name": "tests", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
    config = write_config(
        tmp_path,
        web={"auth": {"tokens": tokens}},
        notify={"callback_allow": allow, "attempts": 1},
    )
    client = TestClient(TestServer(create_app(load_settings(config))))
    await client.start_server()
    return client


@pytest.fixture
async def closed(tmp_path: Path) -> AsyncIterator[Client]:
    client = await _client(tmp_path, [])
    yield client
    await client.close()


async def _submit(client: Client, sample: Path, url: str) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("callback_url", url)
    form.add_field("file", sample.read_bytes(), filename=sample.name)
    return await client.post("/api/jobs", data=form, headers=AUTH)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/x", "notify.callback_allow"),
        ("http://127.7.7.7/x", "notify.callback_allow"),
        ("http://localhost:9/x", "notify.callback_allow"),
        ("http://[::1]:9/x", "notify.callback_allow"),
        ("http://169.254.169.254/latest/meta-data", "notify.callback_allow"),
        ("http://0.0.0.0:9/x", "notify.callback_allow"),
        ("http://[::ffff:127.0.0.1]:9/x", "notify.callback_allow"),
        ("http://no-such-host.invalid/x", "cannot be resolved"),
        ("http://127.0.0.1:notaport/x", "http:// or https://"),
    ],
)
async def test_callbacks_to_this_machine_are_refused(
    closed: Client, tmp_path: Path, url: str, says: str
) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=71)
    response = await _submit(closed, sample, url)
    assert response.status == 400, await response.text()
    message = (await response.json())["error"]["message"]
    assert says in message
    spool = closed.app[SERVICE].settings.paths.spool
    assert list(spool.iterdir()) == []
    assert (await (await closed.get("/api/jobs")).json())["total"] == 0


async def test_the_allow_list_admits_others_but_never_the_service_itself(tmp_path: Path) -> None:
    client = await _client(tmp_path, ["127.0.0.0/8"])
    try:
        (sample,) = make_samples(tmp_path / "samples", count=1, seed=72)
        own = f"http://127.0.0.1:{client.port}/api/jobs/1/retry"
        response = await _submit(client, sample, own)
        assert response.status == 400
        assert "this service itself" in (await response.json())["error"]["message"]
    finally:
        await client.close()


async def test_a_failed_callback_is_shown_without_secrets_by_its_status_line(
    tmp_path: Path,
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=500, text=SECRET_BODY)

    receiver = web.Application()
    receiver.router.add_post("/hook", refuse)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    client = await _client(tmp_path, ["127.0.0.1"])
    try:
        (sample,) = make_samples(tmp_path / "samples", count=1, seed=73)
        url = f"http://cbuser:CBPASSSECRET@127.0.0.1:{server.port}/hook?token=TOKENSECRET"
        response = await _submit(client, sample, url)
        assert response.status == 202, await response.text()
        job_id = (await response.json())["id"]

        async def failed() -> dict[str, Any] | None:
            detail: dict[str, Any] = await (await client.get(f"/api/jobs/{job_id}")).json()
            notices = detail["notifications"]
            return detail if notices and notices[0]["state"] == "failed" else None

        detail = await wait_for(failed, 90, "the callback to fail")
        (notice,) = detail["notifications"]
        assert notice["address"] == f"http://127.0.0.1:{server.port}/hook"
        assert "HTTP 500: Internal Server Error" in notice["error"]
        shown = str(detail)
        for secret in ("CBPASSSECRET", "cbuser", "TOKENSECRET", SECRET_BODY):
            assert secret not in shown
    finally:
        await client.close()
        await server.close()
