"""A delivery planned while its target and a slot are free is marked as being sent in the
transaction that plans it and goes as that commits (`DeliveryScheduler.start_now`), without
waiting for the due-rows loop; one that finds no room waits in the database for the loop; a
plan that does not commit gives its room back. In-process, on real SQLite and folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from asyncpdf.journal import Journal
from asyncpdf.pipeline import steps
from tests.support import Shop, wait_for


async def test_a_routed_bureau_copy_goes_without_the_due_rows_loop(shop: Shop) -> None:
    service = shop.running
    # The loop that reads due rows is stopped: only a start in the routing transaction sends.
    await service.supervisor.stop("delivery-scheduler")
    job_id = await shop.claim(0)
    jobs = await shop.finished(1)

    assert jobs[shop.samples[0].name].state is JobState.DONE
    assert len(list(shop.outbox(shop.samples[0].name).glob("*.pdf"))) == 1
    log = [line.message for line in await service.store.log.of_job(job_id)]
    summary = next(n for n, line in enumerate(log) if " page(s), " in line)
    sending = next(n for n, line in enumerate(log) if line.startswith("bureau: sending "))
    # Written in the same transaction as the route, right after it.
    assert sending > summary and "(attempt 1 of " in log[sending]


async def test_copies_that_find_no_room_wait_for_the_loop_and_go_once(tmp_path: Path) -> None:
    shop = Shop(tmp_path, delivery={"parallel": 1})
    await shop.start()
    try:
        names = [f"{n}_{shop.samples[n].name}" for n in range(3)]
        # One claim, so one analysis batch: one copy starts at once, the others wait.
        await shop.running.claims.claim_all(
            [(shop.drop(n, name), None) for n, name in enumerate(names)]
        )
        jobs = await shop.finished(3)

        assert {jobs[name].state for name in names} == {JobState.DONE}
        for n, name in enumerate(names):
            rows = await shop.running.store.deliveries.of_job(jobs[name].id)
            bureau = next(row for row in rows if row.kind == steps.BUREAU)
            assert bureau.state is DeliveryState.SENT and bureau.attempts == 1
            copy = shop.outbox(name) / str(bureau.remote_name)
            assert copy.read_bytes() == shop.samples[n].read_bytes()
        assert len(list((tmp_path / "outbox").rglob("*.pdf"))) == 3
    finally:
        await shop.stop()


async def test_a_plan_that_does_not_commit_gives_its_room_back(tmp_path: Path) -> None:
    shop = Shop(tmp_path, delivery={"parallel": 1})
    service = await shop.start()
    try:
        await service.supervisor.stop("delivery-scheduler")
        job_id = await shop.claim(0)
        await shop.finished(1)
        journal = Journal(service.store, service.bus, service.metrics)
        scheduler = service.scheduler
        target = (tmp_path / "elsewhere").as_uri()
        plan = steps.Plan("bureau-again", target, shop.samples[1], "again.pdf", "elsewhere")

        with pytest.raises(RuntimeError, match="refused"):
            async with journal.change() as change:
                [added] = await change.store.deliveries.add_all(
                    [(job_id, plan.kind, target, plan.remote_name)]
                )
                await scheduler.start_now(change, [(added, plan)])
                assert scheduler.gates.as_json(target)["sending"] == 1
                raise RuntimeError("refused")

        assert scheduler.gates.as_json(target)["sending"] == 0
        assert plan.kind not in {row.kind for row in await service.store.deliveries.of_job(job_id)}
        # The slot is free again: the next plan is started at once.
        async with journal.change() as change:
            [added] = await change.store.deliveries.add_all(
                [(job_id, plan.kind, target, plan.remote_name)]
            )
            await scheduler.start_now(change, [(added, plan)])

        async def sent() -> bool:
            rows = {row.kind: row for row in await service.store.deliveries.of_job(job_id)}
            return rows[plan.kind].state is DeliveryState.SENT

        await wait_for(sent, 60, "the second plan sent")
        assert (tmp_path / "elsewhere" / "again.pdf").read_bytes() == shop.samples[1].read_bytes()
    finally:
        await shop.stop()
