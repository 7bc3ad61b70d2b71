"""The app in-process, called like a client: readiness names the failing part; every API error
is JSON with a code; live-log websockets are closed cleanly when the service shuts down."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSCloseCode
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.auth_settings import MIN_ITERATIONS, hash_password
from asyncpdf.web.keys import SERVICE
from tests.support import BUREAUS, wait_for, write_config


async def test_a_job_done_with_warnings_says_so_in_the_api_and_metrics(
    client: TestClient, tmp_path: Path
) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=5)
    order, name, bureau = sample.stem.split("_")
    other = next(b for b in BUREAUS if b != bureau)
    # The name's bureau tag disagrees with the mark: the mark wins, with a warning.
    shutil.copy(sample, tmp_path / "var" / "hotfolder" / f"{order}_{name}_{other}.pdf")

    async def finished() -> dict[str, object] | None:
        jobs = (await (await client.get("/api/jobs")).json())["jobs"]
        return jobs[0] if jobs and jobs[0]["state"] == "done" else None

    job = await wait_for(finished, 60, "the job to end")
    assert job["warnings"] == 1
    metrics = await (await client.get("/metrics")).text()
    assert "asyncpdf_job_warnings_total 1.0" in metrics


async def test_import_mode_is_read_and_switched_through_the_api(tmp_path: Path) -> None:
    # A change needs credentials (tests/component/test_auth.py): a user is configured.
    user = {"name": "alice", "password_hash": hash_password("pw", iterations=MIN_ITERATIONS)}
    config = write_config(tmp_path, web={"auth": {"users": [user]}})
    login = {"Authorization": aiohttp.encode_basic_auth("alice", "pw")}
    client = TestClient(TestServer(create_app(load_settings(config))))
    await client.start_server()
    try:
        assert await (await client.get("/api/import-mode")).json() == {"import_mode": False}
        response = await client.put("/api/import-mode", json={"import_mode": True}, headers=login)
        assert response.status == 200 and await response.json() == {"import_mode": True}
        assert await (await client.get("/api/import-mode")).json() == {"import_mode": True}
        for body in ({"import_mode": "yes"}, {}, [True]):
            response = await client.put("/api/import-mode", json=body, headers=login)
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "bad_request"
        response = await client.put("/api/import-mode", data=b"on", headers=login)
        assert response.status == 400
        assert await (await client.get("/api/import-mode")).json() == {"import_mode": True}
    finally:
        await client.close()


async def test_each_target_has_its_record_in_readyz_and_metrics(tmp_path: Path) -> None:
    config = write_config(tmp_path, delivery={"attempts": 1, "backoff_s": 0.1})
    settings = load_settings(config)
    samples = make_samples(tmp_path / "samples", count=2, seed=2)
    bureaus = [sample.stem.rsplit("_", 1)[1] for sample in samples]
    assert bureaus[0] != bureaus[1]
    # The second file's bureau cannot take it: its folder is a file.
    blocked = tmp_path / "outbox" / bureaus[1]
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder")
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        for sample in samples:
            shutil.copy(sample, settings.paths.hotfolder / sample.name)

        async def finished() -> bool:
            jobs = (await (await client.get("/api/jobs")).json())["jobs"]
            return len(jobs) == 2 and all(job["state"] in ("done", "failed") for job in jobs)

        await wait_for(finished, 60, "both jobs to end")
        body = await (await client.get("/readyz")).json()
        deliveries = body["parts"]["deliveries"]
        assert deliveries["state"] == "ok"
        assert f"failing: bureau {bureaus[1]}" in deliveries["detail"]
        good = deliveries["targets"][f"bureau {bureaus[0]}"]
        assert good["files_sent"] == 1 and good["bytes_sent"] == samples[0].stat().st_size
        assert good["failures_in_a_row"] == 0 and good["last_sent_at"] is not None
        bad = deliveries["targets"][f"bureau {bureaus[1]}"]
        assert bad["files_sent"] == 0 and bad["failures_in_a_row"] == 1
        assert "cannot write" in bad["last_error"]
        metrics = await (await client.get("/metrics")).text()
        assert f'asyncpdf_target_files_sent_total{{target="bureau {bureaus[0]}"}} 1.0' in metrics
        assert f'asyncpdf_target_failures_in_a_row{{target="bureau {bureaus[1]}"}} 1.0' in metrics
        assert "asyncpdf_target_last_sent_timestamp_seconds" in metrics
    finally:
        await client.close()


async def test_readyz_names_a_dead_watcher(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    await client.app[SERVICE].supervisor.stop("watcher")
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503
    assert body["status"] == "not ready" and body["failing"] == ["watcher"]
    assert body["parts"]["watcher"]["state"] == "failing"
    assert body["parts"]["watcher"]["detail"].startswith("not watching ")
    assert {name for name, part in body["parts"].items() if part["state"] == "ok"} == {
        "database",
        "pool",
        "jobs",
        "deliveries",
        "notices",
        "loops",
        "disk",
        "spool",
    }


@pytest.mark.parametrize(
    ("path", "status", "code", "message"),
    [
        ("/api/jobs?limit=ten", 400, "bad_request", "limit must be a whole number, not 'ten'"),
        ("/api/jobs?offset=1.5", 400, "bad_request", "offset must be a whole number, not '1.5'"),
        ("/api/jobs?limit=-1", 400, "bad_request", "limit must not be negative, not -1"),
        ("/api/jobs/41", 404, "not_found", "no job 41"),
        ("/api/jobs/0", 404, "not_found", "no job 0"),
        (
            "/api/jobs/99999999999999999999999",
            404,
            "not_found",
            "no job 99999999999999999999999",
        ),
        ("/api/nothing-here", 404, "not_found", "404: Not Found"),
    ],
)
async def test_api_errors_are_json_with_a_code(
    client: TestClient, path: str, status: int, code: str, message: str
) -> None:
    response = await client.get(path)
    assert response.status == status
    assert response.content_type == "application/json"
    assert await response.json() == {"error": {"code": code, "message": message}}


async def test_wrong_method_on_the_api_is_json_and_pages_stay_html(client: TestClient) -> None:
    response = await client.patch("/api/jobs")
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "method_not_allowed"
    response = await client.get("/no-such-page")
    assert response.status == 404 and response.content_type == "text/plain"


async def test_paging_is_clamped(client: TestClient) -> None:
    body = await (await client.get("/api/jobs?limit=100000")).json()
    assert (body["jobs"], body["total"], body["limit"], body["offset"]) == ([], 0, 500, 0)


async def test_websocket_closed_going_away_on_shutdown(tmp_path: Path) -> None:
    server = TestServer(create_app(load_settings(write_config(tmp_path))))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.make_url("/ws"))
        assert (await ws.receive_json())["type"] == "hello"
        async with session.get(server.make_url("/metrics")) as response:
            assert "asyncpdf_websocket_clients 1.0" in await response.text()
        closing = asyncio.create_task(server.close())
        message = await asyncio.wait_for(ws.receive(), 60)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
        await closing


async def test_status_lists_what_the_hotfolder_holds_and_will_not_take(
    client: TestClient, tmp_path: Path
) -> None:
    hotfolder = client.app[SERVICE].settings.paths.hotfolder
    (hotfolder / "Новая папка").mkdir()
    (hotfolder / "Новая папка" / "1_inside_Leonov.pdf").write_bytes(b"%PDF-1.7")
    (hotfolder / "2_link_Leonov.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    os.mkfifo(hotfolder / "3_pipe_Leonov.pdf")
    (hotfolder / ".DS_Store").write_bytes(b"quiet")

    async def listed() -> list[dict[str, str]]:
        body = await (await client.get("/api/status")).json()
        return list(body["not_taken"]) if len(body["not_taken"]) == 4 else []

    not_taken = await wait_for(listed, 60, "four entries the service will not take")
    assert [entry["name"] for entry in not_taken] == [
        "2_link_Leonov.pdf",
        "3_pipe_Leonov.pdf",
        "Новая папка",
        "Новая папка/1_inside_Leonov.pdf",
    ]
    reasons = [entry["reason"] for entry in not_taken]
    assert reasons[0].startswith("a symbolic link")
    assert reasons[1].startswith("not a plain file")
    assert reasons[2].startswith("a folder: files in sub-folders are not taken")
    assert reasons[3].startswith("in the sub-folder 'Новая папка': sub-folders are not taken")

    (hotfolder / "2_link_Leonov.pdf").unlink()

    async def forgotten() -> bool:
        body = await (await client.get("/api/status")).json()
        return [entry["name"] for entry in body["not_taken"]] == [
            "3_pipe_Leonov.pdf",
            "Новая папка",
            "Новая папка/1_inside_Leonov.pdf",
        ]

    await wait_for(forgotten, 60, "the removed link to leave the list")
