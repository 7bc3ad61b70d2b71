"""Exactly once and import mode, in-process on real SQLite and folders: a file delivered
before is not sent again (the job ends `duplicate`, naming the first), also when both copies
arrive together; a failed first job does not count; import mode records without uploading,
dates the job by its file, and survives a restart."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from asyncpdf.domain.lifecycle import JobState
from tests.support import Shop


def delivered(shop: Shop, name: str) -> list[Path]:
    folder = shop.outbox(name)
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


async def test_a_file_delivered_before_ends_duplicate_naming_the_first(shop: Shop) -> None:
    first = await shop.claim(0)
    await shop.finished(1)
    again = shop.samples[0].name.replace(".pdf", " (copy).pdf")
    second = await shop.claim(0, again)
    jobs = await shop.finished(2)

    assert jobs[shop.samples[0].name].state is JobState.DONE
    duplicate = jobs[again]
    assert duplicate.id == second and duplicate.state is JobState.DUPLICATE
    assert duplicate.duplicate_of == first
    assert f"as job {first}, which was delivered: not sent again" in (duplicate.error or "")
    assert "delivery.duplicates" in (duplicate.error or "")
    assert len(delivered(shop, shop.samples[0].name)) == 1
    # A good file: kept with the done ones, not among the errors.
    assert (shop.paths.done / again).exists()
    assert not (shop.paths.error / again).exists()
    detail = await shop.running.store.deliveries.of_job(second)
    assert detail == []


async def test_two_copies_arriving_together_are_delivered_once(shop: Shop) -> None:
    names = [f"{n}_{shop.samples[1].name}" for n in range(3)]
    await asyncio.gather(*(shop.claim(1, name) for name in names))
    jobs = await shop.finished(3)

    states = sorted(jobs[name].state.value for name in names)
    assert states == ["done", "duplicate", "duplicate"]
    assert len(delivered(shop, names[0])) == 1


async def test_copies_claimed_in_one_batch_are_delivered_once(shop: Shop) -> None:
    # One claim, so one analysis batch: each copy's duplicate check sees the one before it.
    names = [f"{n}_{shop.samples[2].name}" for n in range(4)]
    claimed = await shop.running.claims.claim_all([(shop.drop(2, name), None) for name in names])
    assert all(isinstance(job_id, int) for job_id in claimed)
    jobs = await shop.finished(4)

    states = sorted(jobs[name].state.value for name in names)
    assert states == ["done", "duplicate", "duplicate", "duplicate"]
    assert len(delivered(shop, names[0])) == 1


async def test_duplicates_deliver_sends_it_again(tmp_path: Path) -> None:
    shop = Shop(tmp_path, delivery={"attempts": 2, "backoff_s": 0.1, "duplicates": "deliver"})
    await shop.start()
    try:
        await shop.claim(2)
        await shop.finished(1)
        await shop.claim(2, "again_" + shop.samples[2].name)
        jobs = await shop.finished(2)
        assert {job.state for job in jobs.values()} == {JobState.DONE}
        assert len(delivered(shop, shop.samples[2].name)) == 2
    finally:
        await shop.stop()


async def test_a_failed_first_job_does_not_count(tmp_path: Path) -> None:
    shop = Shop(tmp_path, delivery={"attempts": 1, "backoff_s": 0.1})
    name = shop.samples[0].name
    # The bureau's folder is a file: the first delivery fails.
    blocked = shop.outbox(name)
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder")
    await shop.start()
    try:
        await shop.claim(0)
        assert (await shop.finished(1))[name].state is JobState.FAILED
        blocked.unlink()
        await shop.claim(0, "again_" + name)
        jobs = await shop.finished(2)
        assert jobs["again_" + name].state is JobState.DONE
        assert len(delivered(shop, name)) == 1
    finally:
        await shop.stop()


async def test_import_mode_records_without_uploading_and_survives_a_restart(
    shop: Shop,
) -> None:
    claims = shop.running.claims
    assert await claims.import_mode() is False
    await claims.set_import_mode(True)
    source = shop.drop(3)
    made = 1_500_000_000.0  # July 2017
    os.utime(source, (made, made))
    job_id = await claims.claim(source)
    assert job_id is not None
    (job,) = (await shop.finished(1)).values()

    assert job.state is JobState.DONE and job.imported
    assert job.created_at == made
    assert delivered(shop, job.name) == []
    assert await shop.running.store.deliveries.of_job(job_id) == []
    record = await shop.running.store.jobs.get(job_id)
    assert record.analysis is not None and record.artefacts is not None
    log = [line.message for line in await shop.running.store.log.of_job(job_id)]
    assert any(line.startswith("import mode: ") and "nothing is uploaded" in line for line in log)

    await shop.stop()
    await shop.start()
    assert await shop.running.claims.import_mode() is True
    await shop.running.claims.set_import_mode(False)
    # The same file, now delivered: an imported job counts as delivered before.
    again = await shop.claim(3, "again_" + shop.samples[3].name)
    jobs = await shop.finished(2)
    assert jobs["again_" + shop.samples[3].name].state is JobState.DUPLICATE
    assert jobs["again_" + shop.samples[3].name].duplicate_of == job_id
    other = await shop.claim(0)
    jobs = await shop.finished(3)
    assert [j.state for j in jobs.values() if j.id == other] == [JobState.DONE]
    assert not (await shop.running.store.jobs.header(other)).imported
    assert len(delivered(shop, shop.samples[0].name)) == 1
    assert again != job_id
