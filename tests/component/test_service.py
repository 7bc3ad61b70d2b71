"""The service in-process (no web app) with real SQLite, a real pool, real folders and
`file://` targets: crashes and hangs, every interrupted state found at start-up, deliveries
that wait in the database without holding a job, the bureau before the previews, and health
that answers while every worker is busy."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from asyncpdf.errors import AlreadyRunning, IllegalTransition
from asyncpdf.intake.spool import Spool
from asyncpdf.pdf.naming import parse_name, without_tag
from asyncpdf.service import Service
from asyncpdf.store import Store
from tests.support import BUREAUS, PRESSES, Shop, wait_for
from tests.support.workers import GATE_S, gated_artefacts

#: The job timeout that ends the hang: the good files' analyses beside it run under it too,
#: each perhaps in a freshly spawned worker, on a busy machine.
HANG_TIMEOUT_S = 20


async def test_crash_and_hang_fail_only_their_jobs(tmp_path: Path) -> None:
    shop = Shop(tmp_path, pool={"job_timeout_s": HANG_TIMEOUT_S})
    await shop.start()
    try:
        good = shop.drop(0)
        await shop.claim(1, "1_crash_Leonov.pdf")
        await shop.claim(2, "2_hang_Korol.pdf")
        await shop.running.claims.claim(good)
        # The hang may time out twice: in the shared pool, and again on its own after the
        # crash broke the pool under it.
        jobs = await shop.finished(3, timeout_s=4 * HANG_TIMEOUT_S + 60)

        assert jobs["1_crash_Leonov.pdf"].state is JobState.FAILED
        assert "worker died" in (jobs["1_crash_Leonov.pdf"].error or "")
        assert jobs["2_hang_Korol.pdf"].state is JobState.FAILED
        assert f"job timeout of {HANG_TIMEOUT_S} s" in (jobs["2_hang_Korol.pdf"].error or "")
        assert jobs[good.name].state is JobState.DONE
        assert shop.running.pool.replacements >= 1
        assert (shop.paths.error / "1_crash_Leonov.pdf").exists()
        assert "worker died" in (shop.paths.error / "1_crash_Leonov.pdf.error.txt").read_text()

        later = shop.drop(3)
        await shop.running.claims.claim(later)
        jobs = await shop.finished(4)
        assert jobs[later.name].state is JobState.DONE
    finally:
        await shop.stop()


async def test_a_crash_in_a_shared_analysis_call_fails_only_its_file(shop: Shop) -> None:
    # One claim, one analysis batch, one pool call shared by its files: the crash breaks the
    # call, and each file is then analysed on its own.
    names = ["0_first_Leonov.pdf", "1_crash_Leonov.pdf", "2_last_Korol.pdf"]
    await shop.running.claims.claim_all(
        [(shop.drop(n, name), None) for n, name in enumerate(names)]
    )
    jobs = await shop.finished(3)

    assert jobs["1_crash_Leonov.pdf"].state is JobState.FAILED
    assert "worker died" in (jobs["1_crash_Leonov.pdf"].error or "")
    assert jobs["0_first_Leonov.pdf"].state is JobState.DONE
    assert jobs["2_last_Korol.pdf"].state is JobState.DONE


async def test_a_hang_in_a_shared_analysis_call_fails_only_its_file(tmp_path: Path) -> None:
    # The shared call runs out of the job timeout; its files are then analysed one by one, and
    # only the hanging one runs out again.
    shop = Shop(tmp_path, pool={"job_timeout_s": HANG_TIMEOUT_S})
    await shop.start()
    try:
        names = ["0_first_Leonov.pdf", "1_hang_Korol.pdf", "2_last_Korol.pdf"]
        await shop.running.claims.claim_all(
            [(shop.drop(n, name), None) for n, name in enumerate(names)]
        )
        jobs = await shop.finished(3, timeout_s=4 * HANG_TIMEOUT_S + 60)

        assert jobs["1_hang_Korol.pdf"].state is JobState.FAILED
        assert f"job timeout of {HANG_TIMEOUT_S} s" in (jobs["1_hang_Korol.pdf"].error or "")
        assert jobs["0_first_Leonov.pdf"].state is JobState.DONE
        assert jobs["2_last_Korol.pdf"].state is JobState.DONE
    finally:
        await shop.stop()


async def test_restart_resumes_every_interrupted_state(shop: Shop) -> None:
    await shop.stop()
    store = await Store.open(shop.paths.database)
    spool = Spool(shop.paths)

    async def job_in(index: int, *path: JobState) -> None:
        async with store.transaction():
            job_id = await store.jobs.create(shop.samples[index].name)
        await spool.claim(shop.drop(index), job_id, shop.samples[index].name)
        async with store.transaction():
            for current, new in zip((JobState.RECEIVED, *path), path, strict=False):
                await store.jobs.move(job_id, current, new)

    # Crash right after the job row was written, before the rename into the spool.
    received = shop.drop(0)
    async with store.transaction():
        await store.jobs.create(received.name)
    # Crash in the middle of analysis.
    await job_in(1, JobState.QUEUED, JobState.ANALYSING)
    # Crash after the final state was written, before the file left the spool.
    await job_in(2, JobState.QUEUED, JobState.ANALYSING, JobState.DELIVERING, JobState.DONE)
    # A spool folder the store does not know (e.g. the database was restored from a backup).
    stray = spool.path(9999, shop.samples[3].name)
    stray.parent.mkdir()
    stray.write_bytes(shop.samples[3].read_bytes())
    await store.close()

    await shop.start()
    jobs = await shop.finished(4)

    assert sorted(jobs) == sorted(s.name for s in shop.samples)
    assert {job.state for job in jobs.values()} == {JobState.DONE}
    assert list(shop.paths.spool.iterdir()) == []
    assert list(shop.paths.hotfolder.iterdir()) == []
    assert sorted(p.name for p in shop.paths.done.iterdir()) == sorted(jobs)
    resumed = [
        line.message
        for job in jobs.values()
        for line in await shop.running.store.log.of_job(job.id)
        if line.message.startswith("resuming after restart")
    ]
    assert sorted(resumed) == [
        "resuming after restart (was analysing)",
        "resuming after restart (was received)",
    ]


async def test_vanished_spool_file_fails_with_reason(shop: Shop) -> None:
    await shop.stop()
    store = await Store.open(shop.paths.database)
    async with store.transaction():
        job_id = await store.jobs.create("gone_Leonov.pdf")
        await store.jobs.move(job_id, JobState.RECEIVED, JobState.QUEUED)
    await store.close()

    await shop.start()
    jobs = await shop.finished(1)
    assert jobs["gone_Leonov.pdf"].state is JobState.FAILED
    assert "missing from the spool" in (jobs["gone_Leonov.pdf"].error or "")


async def test_illegal_and_stale_transitions_raise_and_write_nothing(shop: Shop) -> None:
    store = shop.running.store
    async with store.transaction():
        job_id = await store.jobs.create("x_Leonov.pdf")
    with pytest.raises(IllegalTransition, match="cannot go from received to done"):
        async with store.transaction():
            await store.jobs.move(job_id, JobState.RECEIVED, JobState.DONE)
    with pytest.raises(IllegalTransition, match="no longer queued"):
        async with store.transaction():
            await store.jobs.move(job_id, JobState.QUEUED, JobState.ANALYSING)
    assert (await store.jobs.get(job_id)).state is JobState.RECEIVED


def _blocked_targets(root: Path) -> dict[str, Any]:
    """Every bureau and press target is a folder under a plain file: nothing can be written."""
    blocker = root / "blocker"
    blocker.write_text("a file where the target folders should be")
    return {
        "bureaus": [{"name": name, "target": (blocker / name).as_uri()} for name in BUREAUS],
        "presses": [
            {
                "name": name,
                "plate_mm": plate,
                "gripper_mm": 40,
                "plate_size_fallback": True,
                "preview_target": (blocker / name).as_uri(),
            }
            for name, plate in (
                ("Speedmaster", [1030, 770]),
                ("Planeta", [1010, 820]),
                ("Dominant", [650, 550]),
            )
        ],
    }


#: Small previews for bursts whose test is about something else: they are most of a job's
#: time, and niced, so beside CPU-bound neighbours full-size ones take minutes.
SMALL_PREVIEWS = {"dpi": 36, "proof_width_px": 200, "thumb_width_px": 32}


@pytest.mark.timeout(900)
async def test_targets_down_deliveries_wait_in_the_store_and_new_files_are_still_analysed(
    tmp_path: Path,
) -> None:
    """50 files with every target unwritable: each waits in the store and gives its job task
    back, so a 51st file is analysed while they wait; after a restart with the targets
    repaired, every waiting delivery goes out and every job ends done."""
    shop = Shop(
        tmp_path,
        samples=51,
        delivery={"attempts": 5, "backoff_s": 3600, "max_delay_s": 3600},
        pool={"job_timeout_s": 60},
        previews=SMALL_PREVIEWS,
        **_blocked_targets(tmp_path),
    )
    service = await shop.start()
    try:
        for index in range(50):
            await shop.claim(index)

        async def all_waiting() -> bool:
            jobs = [await service.store.jobs.get(job.id) for job in await shop.jobs()]
            if any(job.state is not JobState.DELIVERING or job.artefacts is None for job in jobs):
                return False
            states = [
                d.state for job in jobs for d in await service.store.deliveries.of_job(job.id)
            ]
            # The first attempts to each target failed and wait; the target is then backed
            # off as a whole, so its other deliveries wait untried (jobs/gates.py).
            held = {DeliveryState.WAITING, DeliveryState.PENDING}
            return len(states) >= 50 and DeliveryState.WAITING in states and set(states) <= held

        await wait_for(all_waiting, 420, "50 jobs with every delivery waiting")
        assert service.runner.health().detail == (
            "8 job tasks; analysis: 0 busy, 0 queued; previews: 0 busy, 0 queued"
        )
        # Which job's delivery reached a target first, and was tried, is the machine's doing.
        tried = [
            delivery
            for job in await shop.jobs()
            for delivery in await service.store.deliveries.of_job(job.id)
            if delivery.state is DeliveryState.WAITING
        ]
        assert tried
        for waiting in tried:
            assert waiting.attempts <= 1 and "cannot write" in (waiting.error or "")
            assert waiting.next_attempt_at is not None

        late = await shop.claim(50)

        async def analysed() -> bool:
            return (await service.store.jobs.get(late)).analysis is not None

        await wait_for(analysed, 120, "the 51st file analysed while 50 deliveries wait")
    finally:
        await shop.stop()

    (tmp_path / "blocker").unlink()
    # The targets are repaired; make the waiting deliveries due now (the service has no
    # "retry now" yet, so the test writes the database while the service is stopped).
    with contextlib.closing(sqlite3.connect(shop.paths.database)) as db, db:
        db.execute("UPDATE deliveries SET next_attempt_at = 0")
    await shop.start()
    try:
        jobs = await shop.finished(51, timeout_s=300)
        assert {job.state for job in jobs.values()} == {JobState.DONE}
        for sample in shop.samples:
            bureau = parse_name(sample.name, BUREAUS).bureau
            assert bureau is not None
            copies = list((tmp_path / "blocker" / bureau).rglob(without_tag(sample.name, bureau)))
            assert len(copies) == 1 and copies[0].read_bytes() == sample.read_bytes()
    finally:
        await shop.stop()


async def test_last_failed_attempt_fails_the_job_with_the_reason(tmp_path: Path) -> None:
    shop = Shop(
        tmp_path,
        samples=1,
        delivery={"attempts": 2, "backoff_s": 0.05, "max_delay_s": 0.1},
        **_blocked_targets(tmp_path),
    )
    service = await shop.start()
    try:
        job_id = await shop.claim(0)
        jobs = await shop.finished(1)
        (job,) = jobs.values()
        assert job.state is JobState.FAILED
        assert job.error is not None and job.error.startswith("bureau: cannot write")
        assert "gave up after 2 attempts" in job.error
        deliveries = await service.store.deliveries.of_job(job_id)
        assert {d.state for d in deliveries} == {DeliveryState.FAILED}
        assert {d.attempts for d in deliveries} == {2}
        assert (shop.paths.error / shop.samples[0].name).read_bytes() == (
            shop.samples[0].read_bytes()
        )
    finally:
        await shop.stop()


async def test_bureau_gets_the_original_while_the_previews_are_still_being_made(
    tmp_path: Path,
) -> None:
    presses = [{**p, "preview_target": (tmp_path / "press").as_uri()} for p in PRESSES]
    shop = Shop(tmp_path, samples=1, presses=presses, pool={"job_timeout_s": GATE_S})
    service = await shop.start(artefacts=gated_artefacts)
    gate = shop.paths.previews / "gate"
    try:
        name = shop.samples[0].name
        job_id = await shop.claim(0)
        delivered = shop.outbox(name)

        async def bureau_copy() -> bool:
            # The file, and its receipt (written just after the file is in place).
            rows = await service.store.deliveries.of_job(job_id)
            sent = any(d.state is DeliveryState.SENT for d in rows)
            return sent and any(path.is_file() for path in delivered.rglob("*.pdf"))

        await wait_for(bureau_copy, 60, "the bureau copy")
        job = await service.store.jobs.get(job_id)
        assert job.state is JobState.DELIVERING and job.artefacts is None, "previews not held"
        (bureau,) = await service.store.deliveries.of_job(job_id)
        assert bureau.kind == "bureau" and bureau.state is DeliveryState.SENT

        gate.parent.mkdir(parents=True, exist_ok=True)
        gate.touch()
        jobs = await shop.finished(1)
        assert jobs[name].state is JobState.DONE
        kinds = [d.kind for d in await service.store.deliveries.of_job(job_id)]
        assert kinds[0] == "bureau" and len(kinds) == 2 and kinds[1].startswith("press ")
        assert len(list((tmp_path / "press").iterdir())) == 1
    finally:
        gate.parent.mkdir(parents=True, exist_ok=True)
        gate.touch()
        await shop.stop()


async def test_health_answers_while_every_worker_is_busy(tmp_path: Path) -> None:
    # Far past every bound below: no hang ends while health is asked.
    shop = Shop(tmp_path, samples=4, pool={"workers": 2, "jobs": 4, "job_timeout_s": 600})
    service = await shop.start()
    try:
        for index in range(4):
            await shop.claim(index, f"{index}_hang_Leonov.pdf")

        async def busy() -> bool:
            return service.runner.health().detail.startswith("8 job tasks; analysis: 4 busy")

        await wait_for(busy, 120, "every job task busy on a hanging file")
        # The pool's workers are each inside a 600 s call; health must not queue behind them.
        parts = await asyncio.wait_for(service.health(), 30)
        assert {name: part.ok for name, part in parts.items()} == {
            "database": True,
            "watcher": True,
            "pool": True,
            "jobs": True,
            "deliveries": True,
            "notices": True,
            "loops": True,
            "disk": True,
            "spool": True,
        }
    finally:
        await shop.stop()


async def test_a_second_service_on_the_same_data_changes_nothing(shop: Shop) -> None:
    await shop.claim(0)
    second = Service(shop.settings, watch=False)
    with pytest.raises(AlreadyRunning, match=r"PID \d+"):
        await second.__aenter__()
    jobs = await shop.finished(1)
    assert [job.state for job in jobs.values()] == [JobState.DONE]
