"""The job runner in-process with real SQLite, a real pool and real folders: crashes, hangs,
and every kind of interrupted state found at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.config import load_settings
from asyncpdf.events import EventBus
from asyncpdf.jobs import TERMINAL, State
from asyncpdf.metrics import Metrics
from asyncpdf.pool import Pool
from asyncpdf.runner import JobRunner
from asyncpdf.samples import make_samples
from asyncpdf.spool import Spool
from asyncpdf.store import Store
from tests.conftest import wait_for, write_config
from tests.pool_functions import troublesome_analysis


class Shop:
    def __init__(self, root: Path) -> None:
        self.settings = load_settings(write_config(root, pool={"job_timeout_s": 6}))
        self.paths = self.settings.paths
        self.spool = Spool(self.paths)
        self.spool.prepare()
        self.samples = make_samples(root / "samples", count=4, seed=1)
        self.store: Store
        self.pool: Pool
        self.runner: JobRunner

    async def start(self) -> None:
        self.store = await Store.open(self.paths.database)
        self.pool = Pool(2, self.settings.pool.job_timeout_s)
        self.runner = JobRunner(
            self.settings,
            self.store,
            self.spool,
            self.pool,
            EventBus(),
            Metrics(),
            analyse=troublesome_analysis,
        )
        self.runner.start()
        await self.runner.recover()

    async def stop(self) -> None:
        await self.runner.stop()
        await asyncio.to_thread(self.pool.close)
        await self.store.close()

    def drop(self, index: int, name: str | None = None) -> Path:
        target = self.paths.hotfolder / (name or self.samples[index].name)
        target.write_bytes(self.samples[index].read_bytes())
        return target

    async def finished(self, count: int) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            jobs = await self.store.list_jobs(limit=100)
            moved = not any(self.paths.spool.iterdir())
            if len(jobs) >= count and all(job.state in TERMINAL for job in jobs) and moved:
                return {job.name: job for job in jobs}
            return None

        return dict(await wait_for(check, 30, f"{count} finished jobs"))


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    shop = Shop(tmp_path)
    await shop.start()
    yield shop
    await shop.stop()


async def test_crash_and_hang_fail_only_their_jobs(shop: Shop) -> None:
    good = shop.drop(0)
    await shop.runner.claim(shop.drop(1, "1_crash_Leonov.pdf"))
    await shop.runner.claim(shop.drop(2, "2_hang_Korol.pdf"))
    await shop.runner.claim(good)
    jobs = await shop.finished(3)

    assert jobs["1_crash_Leonov.pdf"].state is State.FAILED
    assert "worker died" in (jobs["1_crash_Leonov.pdf"].error or "")
    assert jobs["2_hang_Korol.pdf"].state is State.FAILED
    assert "job timeout of 6 s" in (jobs["2_hang_Korol.pdf"].error or "")
    assert jobs[good.name].state is State.DONE
    assert shop.pool.replacements >= 1
    assert (shop.paths.error / "1_crash_Leonov.pdf").exists()
    assert "worker died" in (shop.paths.error / "1_crash_Leonov.pdf.error.txt").read_text()

    later = shop.drop(3)
    await shop.runner.claim(later)
    jobs = await shop.finished(4)
    assert jobs[later.name].state is State.DONE


async def test_restart_resumes_every_interrupted_state(shop: Shop) -> None:
    await shop.stop()
    store = shop.store = await Store.open(shop.paths.database)

    # Crash right after the job row was written, before the rename into the spool.
    received = shop.drop(0)
    await store.create_job(received.name)
    # Crash in the middle of analysis.
    analysing = await store.create_job(shop.samples[1].name)
    await shop.spool.claim(shop.drop(1), analysing)
    await store.set_state(analysing, State.ANALYSING)
    # Crash after the final state was written, before the file left the spool.
    finished = await store.create_job(shop.samples[2].name)
    await shop.spool.claim(shop.drop(2), finished)
    await store.set_state(finished, State.DONE)
    # A spool folder the store does not know (e.g. the database was restored from a backup).
    stray = shop.spool.path(9999, shop.samples[3].name)
    stray.parent.mkdir()
    stray.write_bytes(shop.samples[3].read_bytes())
    await store.close()

    await shop.start()
    jobs = await shop.finished(4)

    assert sorted(jobs) == sorted(s.name for s in shop.samples)
    assert {job.state for job in jobs.values()} == {State.DONE}
    assert list(shop.paths.spool.iterdir()) == []
    assert list(shop.paths.hotfolder.iterdir()) == []
    assert sorted(p.name for p in shop.paths.done.iterdir()) == sorted(jobs)


async def test_vanished_spool_file_fails_with_reason(shop: Shop) -> None:
    await shop.stop()
    store = shop.store = await Store.open(shop.paths.database)
    job_id = await store.create_job("gone_Leonov.pdf")
    await store.set_state(job_id, State.QUEUED)
    await store.close()

    await shop.start()
    jobs = await shop.finished(1)
    assert jobs["gone_Leonov.pdf"].state is State.FAILED
    assert "missing from the spool" in (jobs["gone_Leonov.pdf"].error or "")
