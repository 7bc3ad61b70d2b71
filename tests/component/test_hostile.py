"""The hotfolder is written by anyone: links, FIFOs and folders swapped in at claim time, names
at the file-system limit, kept files that must never be overwritten, claims and moves that
fail, and the hotfolder itself moved away. The service in-process, on real folders."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from asyncpdf.errors import ChangedSinceSettled, ConfigError
from asyncpdf.intake.spool import Settled
from asyncpdf.service import Service
from tests.support import Shop, wait_for

#: No file here hangs on purpose: the job timeout is far above what a busy machine needs, so
#: only a real hang could reach it.
POOL = {"job_timeout_s": 120}


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    """conftest's `shop`, with the job timeout above."""
    shop = Shop(tmp_path, pool=POOL)
    await shop.start()
    yield shop
    await shop.stop()


async def test_a_link_swapped_in_at_claim_time_is_refused_and_never_followed(
    shop: Shop, tmp_path: Path
) -> None:
    secret = tmp_path / "outside.pdf"
    shutil.copy(shop.samples[0], secret)
    link = shop.paths.hotfolder / "0_swapped_Leonov.pdf"
    link.symlink_to(secret)

    job_id = await shop.running.claims.claim(link)
    assert job_id is not None
    job = await shop.running.store.jobs.get(job_id)
    assert job.state is JobState.REJECTED
    assert job.error == (
        "not a plain file but a symbolic link: only files saved into the hotfolder are taken"
    )
    assert job.sha256 is None and job.size is None and job.analysis is None
    kept = shop.paths.error / link.name
    assert kept.is_symlink() and os.readlink(kept) == str(secret)
    assert "symbolic link" in (shop.paths.error / f"{link.name}.error.txt").read_text()
    assert list(shop.root.joinpath("outbox").rglob("*.pdf")) == []
    assert secret.read_bytes() == shop.samples[0].read_bytes()


async def test_a_fifo_swapped_in_at_claim_time_is_refused_without_blocking(shop: Shop) -> None:
    fifo = shop.paths.hotfolder / "1_pipe_Leonov.pdf"
    os.mkfifo(fifo)
    job_id = await asyncio.wait_for(shop.running.claims.claim(fifo), 60)
    assert job_id is not None
    job = await shop.running.store.jobs.get(job_id)
    assert job.state is JobState.REJECTED and "a FIFO" in (job.error or "")
    assert (shop.paths.error / fifo.name).is_fifo()
    # The service goes on: a good file after it is delivered.
    await shop.claim(0)
    jobs = await shop.finished(2)
    assert jobs[shop.samples[0].name].state is JobState.DONE


async def test_a_name_at_the_limit_fails_with_its_reason_kept_beside_it(shop: Shop) -> None:
    name = "7" + "C" * 250 + ".pdf"  # 255 bytes: name.error.txt would not fit
    path = shop.paths.hotfolder / name
    path.write_text("not a PDF at all")
    job_id = await shop.running.claims.claim(path)
    assert job_id is not None
    jobs = await shop.finished(1)
    assert jobs[name].state is JobState.REJECTED
    (kept,) = [p for p in shop.paths.error.iterdir() if not p.name.endswith(".error.txt")]
    assert kept.read_text() == "not a PDF at all"
    assert f"(job {job_id}).pdf" in kept.name and len(kept.name.encode()) <= 255 - 10
    assert "not a PDF" in (shop.paths.error / f"{kept.name}.error.txt").read_text()

    # The job tasks are all still there: the next file is delivered.
    await shop.claim(1)
    jobs = await shop.finished(2)
    assert jobs[shop.samples[1].name].state is JobState.DONE


async def test_nothing_kept_is_ever_overwritten(shop: Shop) -> None:
    name = "42_Twin_Leonov.pdf"
    error = shop.paths.error
    # Kept by earlier jobs (a new database starts its ids at 1 again) and a user's own file.
    for taken in (name, "42_Twin_Leonov (job 1).pdf", "42_Twin_Leonov (job 2).pdf"):
        (error / taken).write_text(f"earlier {taken}")
    (error / "42_Twin_Leonov (job 1), 2).pdf.error.txt").write_text("a user's file")
    (error / "42_Twin_Leonov (job 1, 2).pdf.error.txt").write_text("a user's file")
    before = {p.name: p.read_bytes() for p in error.iterdir()}

    for _ in range(2):
        path = shop.paths.hotfolder / name
        path.write_text("not a PDF")
        await shop.running.claims.claim(path)
    await shop.finished(2)

    after = {p.name: p.read_bytes() for p in error.iterdir()}
    assert {k: after[k] for k in before} == before, "a kept file was replaced"
    new = sorted(set(after) - set(before))
    assert new == [
        "42_Twin_Leonov (job 1, 3).pdf",
        "42_Twin_Leonov (job 1, 3).pdf.error.txt",
        "42_Twin_Leonov (job 2, 2).pdf",
        "42_Twin_Leonov (job 2, 2).pdf.error.txt",
    ]


async def test_a_move_out_of_the_spool_that_fails_ends_the_job_and_keeps_the_task(
    shop: Shop,
) -> None:
    shutil.rmtree(shop.paths.error)
    shop.paths.error.write_text("a file where the error folder should be")
    path = shop.paths.hotfolder / "9_broken_Leonov.pdf"
    path.write_text("not a PDF")
    job_id = await shop.running.claims.claim(path)
    assert job_id is not None

    async def ended() -> bool:
        return (await shop.running.store.jobs.get(job_id)).state is JobState.REJECTED

    await wait_for(ended, 60, "the job to end")
    log = [line.message for line in await shop.running.store.log.of_job(job_id)]
    assert any(line.startswith("could not move the file out of the spool") for line in log), log
    assert shop.running.spool.path(job_id, path.name).read_text() == "not a PDF"
    assert shop.running.runner.health().ok

    for number in range(4):  # more files than job tasks
        await shop.claim(number)

    async def delivered() -> bool:
        jobs = await shop.jobs()
        return sum(job.state is JobState.DONE for job in jobs) == 4

    await wait_for(delivered, 60, "four good files delivered")


async def test_a_claim_that_fails_is_tried_again_and_shown(tmp_path: Path) -> None:
    shop = Shop(tmp_path, samples=1, pool=POOL, watch={"settle_s": 0.1, "poll_s": 0.05})
    service = await Service(shop.settings).__aenter__()
    try:
        spool = shop.paths.spool
        spool.rmdir()
        spool.write_text("a file where the spool should be")
        shop.drop(0)

        async def failing() -> bool:
            return not (await service.health())["watcher"].ok

        await wait_for(failing, 60, "the failed claim to show in the watcher's health")
        assert "could not be claimed" in (await service.health())["watcher"].detail
        assert await service.store.jobs.page() == []
        assert (shop.paths.hotfolder / shop.samples[0].name).exists()

        spool.unlink()
        spool.mkdir()

        async def done() -> bool:
            jobs = await service.store.jobs.page()
            return [job.state for job in jobs] == [JobState.DONE]

        await wait_for(done, 60, "the file claimed on a later try and delivered")
        assert (await service.health())["watcher"].ok
    finally:
        await service.__aexit__(None, None, None)


async def test_the_hotfolder_moved_away_and_made_again_is_watched_again(tmp_path: Path) -> None:
    shop = Shop(tmp_path, samples=2, pool=POOL, watch={"settle_s": 0.1, "poll_s": 0.05})
    service = await Service(shop.settings).__aenter__()
    try:
        hotfolder = shop.paths.hotfolder
        hotfolder.rename(tmp_path / "old hotfolder")

        async def watched_again() -> bool:
            health = (await service.health())["watcher"]
            return hotfolder.is_dir() and health.ok and "started again" in health.detail

        await wait_for(watched_again, 60, "the hotfolder made and watched again")
        shop.drop(1)

        async def done() -> bool:
            jobs = await service.store.jobs.page()
            return [job.state for job in jobs] == [JobState.DONE]

        await wait_for(done, 60, "a file dropped into the new hotfolder delivered")
    finally:
        await service.__aexit__(None, None, None)


async def test_a_name_that_is_not_utf8_is_taken_shown_and_delivered_safely(shop: Shop) -> None:
    raw = b"555_\xcf\xeb\xe0\xea\xe0\xf2_Leonov.pdf"  # "Плакат" in cp1251
    source = Path(os.fsdecode(bytes(shop.paths.hotfolder) + b"/" + raw))
    shutil.copy(shop.samples[0], source)
    job_id = await shop.running.claims.claim(source)
    assert job_id is not None
    jobs = await shop.finished(1)
    name = "555_\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd_Leonov.pdf"
    assert jobs[name].state is JobState.DONE
    log = [line.message for line in await shop.running.store.log.of_job(job_id)]
    assert "the file name is not UTF-8: its other bytes are shown as �" in log
    delivered = shop.root / "outbox" / "Leonov"
    assert [p.name for p in delivered.rglob("*.pdf")] == [
        "555_\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd.pdf"
    ]
    # Kept under its own bytes.
    assert os.listdir(os.fsencode(shop.paths.done)) == [raw]
    assert (shop.paths.done / source.name).read_bytes() == shop.samples[0].read_bytes()


async def test_the_database_deleted_under_the_service_is_not_ready(shop: Shop) -> None:
    assert (await shop.running.health())["database"].ok
    shop.paths.database.unlink()
    database = (await shop.running.health())["database"]
    assert not database.ok
    assert database.detail.endswith("was deleted or replaced since start-up: restart the service")


async def test_an_unwritable_spool_is_not_ready(shop: Shop) -> None:
    assert (await shop.running.health())["spool"].ok
    shutil.rmtree(shop.paths.spool)
    spool = (await shop.running.health())["spool"]
    assert not spool.ok and spool.detail.startswith(f"cannot write {shop.paths.spool}")


async def test_a_new_database_continues_after_the_ids_kept_files_use(shop: Shop) -> None:
    await shop.stop()
    (shop.paths.error / "x (job 41).pdf").write_text("kept by an earlier database")
    (shop.paths.previews / "57").mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{shop.paths.database}{suffix}").unlink(missing_ok=True)
    await shop.start()
    assert await shop.claim(0) == 58


async def test_a_file_replaced_between_settling_and_claiming_goes_back_untouched(
    shop: Shop,
) -> None:
    path = shop.drop(0)
    settled = Settled.of(path.lstat())
    # Replaced by another file after it settled and before the claim (a new inode).
    replacement = path.with_name(".replacement")
    replacement.write_bytes(b"%PDF-1.7 half written")
    replacement.replace(path)
    with pytest.raises(ChangedSinceSettled):
        await shop.running.claims.claim(path, settled)
    assert path.read_bytes() == b"%PDF-1.7 half written"
    assert await shop.jobs() == []
    assert list(shop.paths.spool.iterdir()) == []
    # Unchanged, it is taken.
    assert await shop.running.claims.claim(path, Settled.of(path.lstat())) is not None


async def test_a_database_held_by_another_program_is_not_ready(shop: Shop) -> None:
    other = sqlite3.connect(shop.paths.database, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        database = (await shop.running.health())["database"]
        assert not database.ok
        assert database.detail.endswith("is another program holding it?")
    finally:
        other.rollback()
        other.close()
    assert (await shop.running.health())["database"].ok


async def test_a_database_that_fails_writes_mid_job_costs_no_job_task(shop: Shop) -> None:
    """Jobs cannot be ended for a while (a trigger from outside makes SQLite refuse it, as a
    failing disk would): they stay unfinished, no job task dies, and at the next start they
    end as they should."""
    outside = sqlite3.connect(shop.paths.database)
    outside.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE OF state ON jobs"
        " WHEN NEW.state = 'done'"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
    )
    outside.commit()
    try:
        for index in range(4):
            await shop.claim(index)
        service = shop.running

        async def all_delivered() -> bool:
            ids = [job.id for job in await shop.jobs()]
            states = [d.state for i in ids for d in await service.store.deliveries.of_job(i)]
            busy = service.runner.health().detail
            return len(states) == 4 and set(states) == {DeliveryState.SENT} and " 0 busy" in busy

        await wait_for(all_delivered, 60, "four bureau copies sent while no job can end")
        assert {job.state for job in await shop.jobs()} == {JobState.DELIVERING}
        assert service.runner.health().ok
    finally:
        outside.execute("DROP TRIGGER refuse")
        outside.commit()
        outside.close()
    await shop.stop()
    await shop.start()
    jobs = await shop.finished(4)
    assert {job.state for job in jobs.values()} == {JobState.DONE}


async def test_kept_folders_on_another_file_system_are_refused_at_start(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs as the error folder")
    shop = Shop(tmp_path, samples=1, pool=POOL)
    error = shop.paths.error
    error.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(error)], check=True)
    try:
        with pytest.raises(ConfigError, match=r"paths\.error must be on the same file system"):
            await shop.start()
    finally:
        subprocess.run(["umount", str(error)], check=True)
