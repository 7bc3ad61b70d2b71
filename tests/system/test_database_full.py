"""The database's disk fills during a burst, then space returns: the writes SQLite refuses
(SQLITE_FULL) hold their jobs instead of leaving them for a restart; /readyz says so while it
lasts; once the database takes writes again every job goes on and ends done, in the same
process. The database is on a small tmpfs of its own (root needed, else skipped)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncpdf.testing.samples import make_samples
from tests.support import Service, all_jobs, wait_finished, wait_for
from tests.system.test_faults import fill, small_disk

FILES = 40
FULL_FOR_S = 4.0


async def readyz(http: aiohttp.ClientSession, service: Service) -> tuple[int, Any]:
    async with http.get(f"{service.url}/readyz") as response:
        return response.status, await response.json()


def drop(files: list[Path], hotfolder: Path) -> None:
    for path in files:
        shutil.copyfile(path, hotfolder / f".{path.name}.part")
        (hotfolder / f".{path.name}.part").rename(hotfolder / path.name)


@pytest.mark.timeout(600)
async def test_jobs_the_database_refused_go_on_once_it_takes_writes(
    make_service: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    with small_disk(db, 16):
        service = make_service(
            paths={"database": str(db / "asyncpdf.sqlite3")},
            disk={"min_free_mb": 0},
            watch={"settle_s": 0.3, "poll_s": 0.1},
        )
        files = make_samples(tmp_path / "samples", count=FILES, seed=19)
        try:
            await service.start()
            assert service.process is not None
            pid = service.process.pid
            first, rest = files[:10], files[10:]
            drop(first, service.hotfolder)
            await wait_for(lambda: all_jobs(http, service), 60, "the first jobs claimed")
            fill(db / "ballast")
            drop(rest, service.hotfolder)

            async def refused() -> Any:
                status, body = await readyz(http, service)
                database = body["parts"]["database"]
                return body if status == 503 and "refused a write" in database["detail"] else None

            said = await wait_for(refused, 120, "/readyz saying jobs are held")
            await asyncio.sleep(FULL_FOR_S)
            (db / "ballast").unlink()

            jobs = await wait_finished(http, service, FILES, timeout_s=420)
            assert sorted(job["name"] for job in jobs) == sorted(path.name for path in files)
            assert {job["state"] for job in jobs} == {"done"}, [
                (job["name"], job["state"], job["error"]) for job in jobs if job["state"] != "done"
            ]
            assert service.process.poll() is None and service.process.pid == pid
            status, body = await readyz(http, service)
            assert status == 200, body
            assert "held" in said["parts"]["database"]["detail"]
            print(f"\nwhile the database's disk was full: {said['parts']['database']['detail']}")
        finally:
            service.stop()
