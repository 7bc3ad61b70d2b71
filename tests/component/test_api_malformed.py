"""Malformed input gets a documented 4xx with the JSON error body, never a 500: dates and years
at the ends of what a date can name, multipart bodies that cannot be read, digits `int()` does
not take, a rerun of a link kept as it came. A rerun is claimed under the job's own name, not
its kept copy's; an upload that would fill the disk is a 507 and leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.disk import MB, DiskSpace
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for, write_config

Client = TestClient[web.Request, web.Application]
TOKEN = "malformed-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BOUNDARY = "b0undary"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    tokens = [{"name": "tests", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
    config = write_config(tmp_path, web={"auth": {"tokens": tokens}})
    client = TestClient(TestServer(create_app(load_settings(config))))
    await client.start_server()
    yield client
    await client.close()


async def _error(response: aiohttp.ClientResponse, status: int) -> str:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    message: str = body["error"]["message"]
    return message


async def _finished(api: Client, count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        body = await (await api.get("/api/jobs", params={"limit": "500"})).json()
        done = [job for job in body["jobs"] if job["finished_at"] is not None]
        return body["jobs"] if len(done) >= count else None

    found: list[dict[str, Any]] = await wait_for(check, 90, f"{count} finished jobs")
    return found


@pytest.mark.parametrize(
    "query",
    [
        "/api/reports?year=9999",
        "/api/reports.csv?year=9999",
        "/api/reports?year=1970",
        "/api/jobs?since=0001-01-01",
        "/api/jobs?until=9999-12-31",
        "/api/jobs?since=0001-01-01&until=9999-12-31",
        "/api/jobs.csv?since=0001-01-01",
        "/api/jobs.csv?until=9999-12-31",
    ],
)
async def test_the_ends_of_the_calendar_are_answered(api: Client, query: str) -> None:
    response = await api.get(query)
    assert response.status == 200, await response.text()


def _multipart(disposition: bytes, content: bytes = b"%PDF-1.7\n") -> bytes:
    return (
        f"--{BOUNDARY}\r\n".encode()
        + b"Content-Disposition: form-data; "
        + disposition
        + b"\r\nContent-Type: application/pdf\r\n\r\n"
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", _multipart(b'name="file"; filename="a.pdf"')),
        (f"multipart/form-data; boundary={'x' * 80}", b"--x\r\n"),
        (f"multipart/form-data; boundary={BOUNDARY}", b"--wrong\r\nbroken\r\n"),
        (f"multipart/form-data; boundary={BOUNDARY}", f"--{BOUNDARY}\r\nno colon\r\n\r\n".encode()),
        *(
            (f"multipart/form-data; boundary={BOUNDARY}", _multipart(disposition))
            for disposition in (
                b'name="file"; filename="a\x00b.pdf"',
                b'name="file"; filename="a\rb.pdf"',
                b'name="file"; filename="a\nb.pdf"',
                b'name="file"; filename="a\x1bb.pdf"',
                b"name=\"file\"; filename*=utf-8''%00%0d%0a.pdf",
            )
        ),
    ],
)
async def test_unreadable_multipart_is_a_400(api: Client, content_type: str, body: bytes) -> None:
    response = await api.post(
        "/api/jobs", data=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status in (400, 413), await response.text()
    assert "error" in await response.json()
    spool = api.app[SERVICE].settings.paths.spool
    assert [entry.name for entry in spool.iterdir()] == []


@pytest.mark.parametrize("query", ["after=%C2%B2", "tail=%C2%B2", "after=-1", "tail=x"])
async def test_live_log_positions_that_are_not_numbers_are_a_400(api: Client, query: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.ws_connect(f"/ws?{query}")
    assert refused.value.status == 400


async def test_live_log_without_upgrade_is_a_json_400(api: Client) -> None:
    message = await _error(await api.get("/ws"), 400)
    assert "Upgrade: websocket" in message


async def test_rerun_of_a_link_is_a_conflict_and_a_rerun_keeps_the_jobs_name(
    api: Client, tmp_path: Path
) -> None:
    settings = api.app[SERVICE].settings
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=35)
    # A file of that name is already kept: the job's copy is kept as "… (job N).pdf".
    (settings.paths.done / sample.name).write_bytes(b"kept before")
    shutil.copy(sample, settings.paths.hotfolder / sample.name)
    (done,) = await _finished(api, 1)
    assert done["state"] == "done"
    assert (settings.paths.done / f"{sample.stem} (job {done['id']}).pdf").exists()
    response = await api.post(f"/api/jobs/{done['id']}/rerun", headers=AUTH)
    assert response.status == 202, await response.text()
    rerun = (await response.json())["id"]
    jobs = await _finished(api, 2)
    assert {job["id"]: job["name"] for job in jobs}[rerun] == sample.name

    # Swapped in as the claim ran (the watcher itself never takes them): kept as they came.
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink("/etc/passwd", outside / "link_Korol.pdf")
    os.mkfifo(outside / "fifo_Korol.pdf")
    for name in ("link_Korol.pdf", "fifo_Korol.pdf"):
        job_id = await api.app[SERVICE].claim(outside / name)
        jobs = await _finished(api, 2 + (name == "fifo_Korol.pdf") + 1)
        assert {job["id"]: job["state"] for job in jobs}[job_id] == "rejected"
        message = await _error(await api.post(f"/api/jobs/{job_id}/rerun", headers=AUTH), 409)
        assert "cannot be run again" in message


def _free_mb(path: Path) -> float:
    found = os.statvfs(path)
    return found.f_bavail * found.f_frsize / MB


async def test_an_upload_that_would_fill_the_disk_is_a_507(api: Client) -> None:
    service = api.app[SERVICE]
    spool = service.settings.paths.spool
    # A minimum just under what is free: the first look passes, the upload's bytes do not.
    service.disk = DiskSpace({"spool": spool}, max(int(_free_mb(spool)) - 16, 0))
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.7\n" + b"0" * (48 * MB), filename="big.pdf")
    message = await _error(await api.post("/api/jobs", data=form, headers=AUTH), 507)
    assert "disk.min_free_mb" in message and "nothing was kept" in message
    assert list(spool.iterdir()) == []

    async def streamed() -> AsyncIterator[bytes]:
        # No declared length: only the looks as the bytes arrive can stop it.
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.pdf"\r\n\r\n'
        ).encode()
        for _ in range(48):
            yield b"0" * MB
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    response = await api.post(
        "/api/jobs",
        data=streamed(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    message = await _error(response, 507)
    assert "nothing was kept" in message
    assert list(spool.iterdir()) == []
    assert (await (await api.get("/api/jobs")).json())["total"] == 0


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"import_mode": "yes"}', b'{"import_mode": 1}', b"{}"]
)
async def test_import_mode_takes_only_a_boolean(api: Client, body: bytes) -> None:
    response = await api.put(
        "/api/import-mode", data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    message = await _error(response, 400)
    assert '{"import_mode": true}' in message


async def test_a_full_disk_is_a_507_and_leaves_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs for the service's folders")
    var = tmp_path / "var"
    var.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(var)], check=True)
    try:
        tokens = [{"name": "tests", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
        # No minimum: only the disk itself stops the upload.
        config = write_config(tmp_path, web={"auth": {"tokens": tokens}}, disk={"min_free_mb": 0})
        async with TestClient(TestServer(create_app(load_settings(config)))) as client:
            form = aiohttp.FormData()
            form.add_field("file", b"%PDF-1.7\n" + b"0" * (32 * MB), filename="big.pdf")
            # Declared: refused before a byte is written.
            response = await client.post("/api/jobs", data=form, headers=AUTH)
            assert "nothing was kept" in await _error(response, 507)

            async def streamed() -> AsyncIterator[bytes]:
                yield (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    'filename="big.pdf"\r\n\r\n'
                ).encode()
                for _ in range(32):
                    yield b"0" * MB
                yield f"\r\n--{BOUNDARY}--\r\n".encode()

            # Not declared: written until the disk is full.
            response = await client.post(
                "/api/jobs",
                data=streamed(),
                headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
            message = await _error(response, 507)
            assert "the disk is full" in message and "nothing was kept" in message
            spool = client.app[SERVICE].settings.paths.spool
            assert list(spool.iterdir()) == []
            assert (await (await client.get("/api/jobs")).json())["total"] == 0
    finally:
        subprocess.run(["umount", str(var)], check=True)
