"""Retention removes a file only if it is provably the job's: a done job's kept original went
missing, a duplicate of it was then kept under the same name, and retention for the old job
leaves the new job's file alone, whether the old job's file was recorded when kept or (kept
before files were recorded) is judged by its checksum."""

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
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for, write_config

App = TestClient[web.Request, web.Application]
DAY_S = 86400


async def _finished(client: App, count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        jobs = (await (await client.get("/api/jobs")).json())["jobs"]
        done = [job for job in jobs if job["finished_at"]]
        return sorted(done, key=lambda job: job["id"]) if len(done) == count else None

    found: list[dict[str, Any]] = await wait_for(check, 60, f"{count} finished jobs")
    return found


async def test_retention_never_removes_another_jobs_file(tmp_path: Path) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=81)
    settings = load_settings(write_config(tmp_path, retention={"done_days": 30}))
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        service = client.app[SERVICE]
        paths = service.settings.paths
        shutil.copy(sample, paths.hotfolder / sample.name)
        (old,) = await _finished(client, 1)
        kept = paths.done / sample.name
        assert old["state"] == "done" and kept.exists()
        # The old job's kept file goes missing; the same file comes again and is kept under
        # the name that is free again.
        kept.unlink()
        shutil.copy(sample, paths.hotfolder / sample.name)
        _, new = await _finished(client, 2)
        assert new["state"] == "duplicate" and kept.exists()
        before = kept.read_bytes()

        with closing(sqlite3.connect(paths.database)) as db, db:
            db.execute(
                "UPDATE jobs SET finished_at = ? WHERE id = ?",
                (time.time() - 31 * DAY_S, old["id"]),
            )
        assert await service.retention.pass_once() == 1
        assert kept.read_bytes() == before
        detail = await (await client.get(f"/api/jobs/{old['id']}")).json()
        assert "another file, left as it is" in detail["log"][-1]["message"]
        assert (await client.get(f"/api/jobs/{new['id']}/original")).status == 200

        # As if the old job had been kept before files were recorded: its checksum is the
        # new file's, but the new job recorded that file as its own.
        with closing(sqlite3.connect(paths.database)) as db, db:
            db.execute(
                "UPDATE jobs SET original_removed_at = NULL, kept_path = NULL, kept_inode = NULL"
                " WHERE id = ?",
                (old["id"],),
            )
        assert await service.retention.pass_once() == 1
        assert kept.read_bytes() == before
        assert (await client.get(f"/api/jobs/{new['id']}/original")).status == 200
    finally:
        await client.close()
