"""The whole path through the real service: hotfolder → pool → delivery → SQLite → HTTP and ws."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

import aiohttp

import asyncpdf
from asyncpdf.intake.watcher import NOT_PDF
from asyncpdf.pdf.naming import parse_name
from asyncpdf.testing.samples import SamplePage, make_samples, write_sample
from tests.support import BUREAUS, delivered_path, wait_finished, wait_for
from tests.support.damage import mutated


async def collect_events(ws: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]]) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            into.append(json.loads(message.data))


def done_lines(events: list[dict[str, Any]]) -> set[int]:
    """The jobs whose "done" line is among `events`."""
    return {e["job_id"] for e in events if e["type"] == "log" and e["message"] == "done"}


async def test_twenty_files_end_to_end(make_service, http, tmp_path: Path) -> None:
    service = make_service()
    await service.start()
    samples = make_samples(tmp_path / "samples", count=20, seed=7)
    assert len({p.name for p in samples}) == 20

    events: list[dict[str, Any]] = []
    async with http.ws_connect(f"{service.url}/ws") as ws:
        listener = asyncio.create_task(collect_events(ws, events))
        for sample in samples:
            shutil.copy(sample, service.hotfolder / sample.name)
        jobs = await wait_finished(http, service, 20)

        async def every_done_line() -> bool:
            # A job reads done at its commit; its "done" line follows.
            return done_lines(events) >= {job["id"] for job in jobs}

        await wait_for(every_done_line, 60, "every job's done line on the websocket")
        listener.cancel()

    assert len(jobs) == 20
    assert {job["state"] for job in jobs} == {"done"}, [j["error"] for j in jobs]
    assert sorted(job["name"] for job in jobs) == sorted(p.name for p in samples)
    for sample in samples:
        assert delivered_path(service, sample.name).read_bytes() == sample.read_bytes()
        assert (service.folder("done") / sample.name).read_bytes() == sample.read_bytes()
    assert list(service.hotfolder.iterdir()) == []
    assert list(service.folder("spool").iterdir()) == []

    async with http.get(f"{service.url}/metrics") as response:
        metrics = await response.text()
    assert 'asyncpdf_jobs{state="done"} 20.0' in metrics
    assert 'asyncpdf_jobs_finished_total{state="done"} 20.0' in metrics
    assert 'asyncpdf_stage_seconds_count{stage="analysis"} 20.0' in metrics

    logged = {e["job_id"] for e in events if e["type"] == "log"}
    assert logged == {job["id"] for job in jobs}
    assert done_lines(events) == logged


async def test_job_detail_has_analysis_deliveries_and_log(make_service, http, tmp_path) -> None:
    service = make_service()
    await service.start()
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=3)
    shutil.copy(sample, service.hotfolder / sample.name)
    (job,) = await wait_finished(http, service, 1)

    async with http.get(f"{service.url}/api/jobs/{job['id']}") as response:
        detail = await response.json()
    assert detail["job"]["state"] == "done"
    assert detail["job"]["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert detail["job"]["size"] == sample.stat().st_size
    assert detail["analysis"]["is_signa"] is True
    assert detail["analysis"]["page_count"] == len(detail["analysis"]["pages"]) > 0
    assert detail["analysis"]["bureau"] == parse_name(sample.name, BUREAUS).bureau
    (delivery,) = detail["deliveries"]
    assert delivery["kind"] == "bureau" and delivery["state"] == "sent"
    assert delivery["attempts"] == 1 and delivery["error"] is None
    assert delivery["bytes"] == sample.stat().st_size
    assert delivery["target"].startswith("file://")
    messages = [line["message"] for line in detail["log"]]
    assert messages[0].startswith("received") and messages[-1] == "done"

    async with http.get(f"{service.url}/api/jobs/999999") as response:
        assert response.status == 404
        assert (await response.json())["error"] == {"code": "not_found", "message": "no job 999999"}


async def test_rejected_non_pdf_is_kept_with_reason(make_service, http) -> None:
    """A .pdf that is no PDF is a rejected job, kept with its reason; a file whose name does
    not end in .pdf is no job at all: it stays in the hotfolder, listed as not taken."""
    service = make_service()
    await service.start()
    (service.hotfolder / "notes_Leonov.pdf").write_text("this is not a PDF")
    (service.hotfolder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a plate")
    jobs = await wait_finished(http, service, 1)
    by_name = {job["name"]: job for job in jobs}

    assert by_name["notes_Leonov.pdf"]["state"] == "rejected"
    assert "not a PDF" in by_name["notes_Leonov.pdf"]["error"]
    assert "photo.jpg" not in by_name
    error = service.folder("error")
    assert (error / "notes_Leonov.pdf").read_text() == "this is not a PDF"
    assert "not a PDF" in (error / "notes_Leonov.pdf.error.txt").read_text()

    async def not_taken() -> list[dict[str, str]]:
        async with http.get(f"{service.url}/api/status") as response:
            return list((await response.json())["not_taken"])

    listed = await wait_for(not_taken, 60, "photo.jpg to be listed as not taken")
    assert listed == [{"name": "photo.jpg", "reason": NOT_PDF}]
    assert (service.hotfolder / "photo.jpg").exists()
    assert not service.outbox("Leonov").exists() or not any(service.outbox("Leonov").iterdir())


async def test_pdf_without_bureau_fails_and_is_kept(make_service, http, tmp_path) -> None:
    service = make_service()
    await service.start()
    # Re-saved without marks, and no bureau tag in the name: nothing says where it goes.
    sample = write_sample(
        tmp_path / "resaved.pdf", [SamplePage((1030, 770))], creator="Adobe Acrobat Pro 2020"
    )
    orphan = service.hotfolder / "4711_no bureau here.pdf"
    shutil.copy(sample, orphan.with_suffix(".part"))
    orphan.with_suffix(".part").rename(orphan)
    (job,) = await wait_finished(http, service, 1)

    assert job["state"] == "failed"
    assert "no bureau found" in job["error"]
    assert (service.folder("error") / orphan.name).read_bytes() == sample.read_bytes()


async def test_health_ready_and_page(make_service, http) -> None:
    service = make_service()
    await service.start()
    async with http.get(f"{service.url}/healthz") as response:
        assert await response.json() == {"status": "alive", "version": asyncpdf.__version__}
    async with http.get(f"{service.url}/readyz") as response:
        body = await response.json()
        assert response.status == 200, body
        states = {name: part["state"] for name, part in body["parts"].items()}
        assert states == dict.fromkeys(
            (
                "database",
                "spool",
                "watcher",
                "pool",
                "jobs",
                "deliveries",
                "notices",
                "loops",
                "disk",
            ),
            "ok",
        )
    async with http.get(f"{service.url}/") as response:
        page = await response.text()
        assert response.status == 200 and 'src="static/app.js"' in page
        assert "http" not in page.lower()
    async with http.get(f"{service.url}/static/app.js") as response:
        assert response.status == 200


async def test_damaged_files_each_end_with_a_reason_and_are_kept(
    make_service, http, tmp_path
) -> None:
    """Randomly damaged copies of a good plate through the whole service: every one ends done,
    failed or rejected with a reason (never an internal error), each original is kept byte for
    byte beside its reason, and the service stays ready."""
    service = make_service()
    await service.start()
    (good,) = make_samples(tmp_path / "samples", count=1, seed=5)
    rng = random.Random(5)
    damaged = {
        f"{100 + n}_damaged {n}_Leonov.pdf": mutated(good.read_bytes(), rng) for n in range(16)
    }
    for name, data in damaged.items():
        (service.hotfolder / f"{name}.part").write_bytes(data)
        (service.hotfolder / f"{name}.part").rename(service.hotfolder / name)
    jobs = await wait_finished(http, service, len(damaged), timeout_s=240)

    assert sorted(job["name"] for job in jobs) == sorted(damaged)
    for job in jobs:
        name = job["name"]
        if job["state"] == "done":
            assert (service.folder("done") / name).read_bytes() == damaged[name]
            continue
        assert job["error"] and "internal error" not in job["error"], job
        assert (service.folder("error") / name).read_bytes() == damaged[name]
        assert job["error"] in (service.folder("error") / f"{name}.error.txt").read_text()
    assert {job["state"] for job in jobs} > {"rejected"}, "no damage was survivable"
    async with http.get(f"{service.url}/readyz") as response:
        assert response.status == 200
