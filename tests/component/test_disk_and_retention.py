"""Free space and retention, in-process: below `disk.min_free_mb` the service is not ready,
says so, and leaves new files in the hotfolder untouched until space returns; retention
removes old originals of done jobs from done/ (never error/) and says so on the job."""

from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.disk import DiskSpace
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for, write_config

App = TestClient[web.Request, web.Application]
DAY_S = 86400


async def _start(tmp_path: Path, **overrides: Any) -> App:
    settings = load_settings(write_config(tmp_path, **overrides))
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def test_low_disk_holds_new_files_in_the_hotfolder_until_space_returns(
    tmp_path: Path,
) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=51)
    # More than any disk here has: the service must hold off. Lowered below, as freeing
    # space would raise what is free.
    client = await _start(tmp_path, disk={"min_free_mb": 10**9})
    try:
        service = client.app[SERVICE]
        dropped = service.settings.paths.hotfolder / sample.name
        shutil.copy(sample, dropped)
        ready = await client.get("/readyz")
        assert ready.status == 503
        body = await ready.json()
        assert "disk" in body["failing"]
        assert "below disk.min_free_mb" in body["parts"]["disk"]["detail"]
        assert body["parts"]["disk"]["spool"]["free_mb"] > 0

        async def holding() -> str | None:
            status = await (await client.get("/api/status")).json()
            return status["holding"]

        reason = await wait_for(holding, 60, "the status to say files wait")
        assert "new files wait in the hotfolder" in reason
        status = await (await client.get("/api/status")).json()
        assert set(status["disk"]) == {"spool", "database"}
        assert (await (await client.get("/api/jobs")).json())["total"] == 0
        assert dropped.read_bytes() == sample.read_bytes()

        # Space freed (as a lower minimum shows it).
        service.disk = DiskSpace({"spool": service.settings.paths.spool}, 0)

        async def done() -> bool:
            jobs = (await (await client.get("/api/jobs")).json())["jobs"]
            return bool(jobs) and jobs[0]["state"] == "done"

        await wait_for(done, 60, "the held file to be taken and done")
        assert (await client.get("/readyz")).status == 200
        assert not dropped.exists()
    finally:
        await client.close()


async def test_retention_removes_old_done_originals_only(tmp_path: Path) -> None:
    samples = make_samples(tmp_path / "samples", count=2, seed=52)
    client = await _start(tmp_path, retention={"done_days": 30})
    try:
        service = client.app[SERVICE]
        paths = service.settings.paths
        bureau = samples[1].stem.split("_")[2]
        # The second file's bureau folder is blocked by a file: its job fails, kept in error/.
        target = tmp_path / "outbox" / bureau
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"in the way")
        for sample in samples:
            shutil.copy(sample, paths.hotfolder / sample.name)

        async def finished() -> list[dict[str, Any]] | None:
            jobs = (await (await client.get("/api/jobs")).json())["jobs"]
            return jobs if len(jobs) == 2 and all(j["finished_at"] for j in jobs) else None

        jobs = await wait_for(finished, 60, "two finished jobs")
        by_state = {job["state"]: job for job in jobs}
        assert set(by_state) == {"done", "failed"}
        kept_done = paths.done / samples[0].name
        kept_error = paths.error / samples[1].name
        assert kept_done.exists() and kept_error.exists()

        # Both ended 31 days ago, as far as the database knows.
        with closing(sqlite3.connect(paths.database)) as db, db:
            db.execute("UPDATE jobs SET finished_at = ?", (time.time() - 31 * DAY_S,))
        assert await service.retention.pass_once() == 1
        assert not kept_done.exists() and kept_error.exists()
        done_id = by_state["done"]["id"]
        detail = await (await client.get(f"/api/jobs/{done_id}")).json()
        assert detail["job"]["original_removed_at"] is not None
        assert (
            "removed from done/ by retention (retention.done_days is 30)"
            in (detail["log"][-1]["message"])
        )
        original = await client.get(f"/api/jobs/{done_id}/original")
        assert original.status == 404
        assert "removed by retention" in (await original.json())["error"]["message"]
        # Done once: a second pass finds nothing more to do.
        assert await service.retention.pass_once() == 0
    finally:
        await client.close()


async def test_retention_is_off_by_default(tmp_path: Path) -> None:
    client = await _start(tmp_path)
    try:
        assert client.app[SERVICE].settings.retention.done_days == 0
        assert "retention" not in client.app[SERVICE].supervisor.health().detail
        assert not client.app[SERVICE].supervisor.health_of("retention").ok
    finally:
        await client.close()
