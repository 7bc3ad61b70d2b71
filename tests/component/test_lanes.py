"""The two lanes and batched claims, in-process on real SQLite, pool and folders: a burst is
claimed in one transaction, one job per file; an interrupted batch leaves every file in the
hotfolder; every file of a burst reaches its bureau while no preview is made, and files that
come while the previews hold every worker for long calls are still analysed and sent."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from tests.support import Shop, wait_for
from tests.support.workers import GATE_S, gated_artefacts

BURST = 40


async def sent_to_bureau(shop: Shop, job_ids: list[int]) -> bool:
    store = shop.running.store
    for job_id in job_ids:
        deliveries = await store.deliveries.of_job(job_id)
        if not any(d.kind == "bureau" and d.state is DeliveryState.SENT for d in deliveries):
            return False
    return True


# Previews run niced: beside CPU-bound neighbours a burst's take minutes.
@pytest.mark.timeout(1200)
async def test_a_burst_reaches_its_bureaus_before_any_preview(tmp_path: Path) -> None:
    shop = Shop(tmp_path, samples=2 * BURST, pool={"job_timeout_s": GATE_S})
    service = await shop.start(artefacts=gated_artefacts)
    gate = shop.paths.previews / "gate"
    try:
        first = [shop.drop(index) for index in range(BURST)]
        claimed = await service.claims.claim_all([(path, None) for path in first])
        assert all(isinstance(job_id, int) for job_id in claimed)
        first_ids = [job_id for job_id in claimed if isinstance(job_id, int)]

        async def first_sent() -> bool:
            return await sent_to_bureau(shop, first_ids)

        await wait_for(first_sent, 300, "every bureau copy of the first burst")
        jobs = [await service.store.jobs.get(job_id) for job_id in first_ids]
        assert all(job.artefacts is None for job in jobs), "a preview was made first"

        # The previews lane now holds the pool's workers with long calls (gated): files that
        # come meanwhile are analysed by the workers kept for short calls all the same.
        async def previewing() -> bool:
            return "previews: 0 busy" not in service.runner.health().detail

        await wait_for(previewing, 60, "the previews lane at work")
        second = [shop.drop(index) for index in range(BURST, 2 * BURST)]
        more = await service.claims.claim_all([(path, None) for path in second])
        second_ids = [job_id for job_id in more if isinstance(job_id, int)]
        assert len(second_ids) == BURST

        async def second_sent() -> bool:
            return await sent_to_bureau(shop, second_ids)

        await wait_for(second_sent, 300, "the second burst's bureau copies, previews held")
        gate.parent.mkdir(parents=True, exist_ok=True)
        gate.touch()
        ended = await shop.finished(2 * BURST, timeout_s=GATE_S)
        assert {job.state for job in ended.values()} == {JobState.DONE}
        for job_id in first_ids + second_ids:
            assert (await service.store.jobs.get(job_id)).artefacts is not None
    finally:
        gate.parent.mkdir(parents=True, exist_ok=True)
        gate.touch()
        await shop.stop()


async def test_a_burst_is_claimed_in_one_batch_one_job_per_file(tmp_path: Path) -> None:
    shop = Shop(tmp_path, samples=0)
    service = await shop.start()
    try:
        paths = []
        for number in range(300):
            path = shop.paths.hotfolder / f"{number}_plate_Leonov.pdf"
            path.write_bytes(b"%PDF-1.7\n%%EOF\n")
            paths.append(path)
        gone = shop.paths.hotfolder / "gone_Leonov.pdf"
        claimed = await service.claims.claim_all([*((p, None) for p in paths), (gone, None)])
        ids = claimed[:-1]
        assert claimed[-1] is None  # it went away: no job
        assert all(isinstance(job_id, int) for job_id in ids) and len(set(ids)) == 300
        for path, job_id in zip(paths, ids, strict=True):
            assert not path.exists()
            assert service.spool.path(int(str(job_id)), path.name).is_file()
        headers = [await service.store.jobs.header(int(str(job_id))) for job_id in ids]
        assert sorted(job.name for job in headers) == sorted(path.name for path in paths)
    finally:
        await shop.stop()


async def test_an_interrupted_batch_leaves_every_file_in_the_hotfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = Shop(tmp_path, samples=0)
    service = await shop.start()
    try:
        paths = []
        for number in range(50):
            path = shop.paths.hotfolder / f"{number}_plate_Leonov.pdf"
            path.write_bytes(b"%PDF-1.7\n%%EOF\n")
            paths.append(path)
        log = service.store.log
        add_all = log.add_all

        async def refused(*args: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        # The batch's renames are done when its log lines are written: the write fails there.
        monkeypatch.setattr(log, "add_all", refused)
        with pytest.raises(sqlite3.OperationalError):
            await service.claims.claim_all([(path, None) for path in paths])
        assert all(path.is_file() for path in paths)
        assert not [entry for _, entry in service.spool.entries()]
        assert await service.store.jobs.page(limit=100) == []

        monkeypatch.setattr(log, "add_all", add_all)
        claimed = await service.claims.claim_all([(path, None) for path in paths])
        assert len({job_id for job_id in claimed if isinstance(job_id, int)}) == 50
        assert not any(path.exists() for path in paths)
    finally:
        await shop.stop()
