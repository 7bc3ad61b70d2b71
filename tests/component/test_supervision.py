"""Every background loop runs under one supervisor: a loop that raises is logged once, shown
as down (in /readyz) while it waits, and started again; deliveries and notices keep going
after a transient OSError in their loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.supervisor import Supervisor
from tests.support import Shop, wait_for
from tests.support.endpoints import WEBHOOK, Endpoints

HOOK = "crm"


async def test_a_loop_that_raises_is_down_then_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(backoff_s=0.2)
    failing = asyncio.Event()
    failing.set()
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if failing.is_set():
            raise OSError(5, "Input/output error")
        await asyncio.Event().wait()

    async def down() -> bool:
        return not supervisor.health().ok

    async def running() -> bool:
        return supervisor.health_of("sender").ok

    with caplog.at_level(logging.ERROR, logger="asyncpdf.supervisor"):
        supervisor.start("sender", loop)
        await wait_for(down, 60, "the loop shown as down")
        assert "sender: down (OSError(5, 'Input/output error'))" in supervisor.health().detail
        failing.clear()
        await wait_for(running, 60, "the loop running again")
    assert runs >= 2
    assert supervisor.restarts("sender") == runs - 1
    # Once per failure, with its error.
    stopped = [r for r in caplog.records if r.getMessage().startswith("sender stopped")]
    assert len(stopped) == runs - 1 and "Input/output error" in stopped[0].getMessage()
    await supervisor.stop()
    assert not supervisor.health_of("sender").ok


def faulty(read: Callable[..., Awaitable[Any]], on: asyncio.Event, hit: asyncio.Event) -> Any:
    """`read`, raising an OSError while `on` is set (a disk that hiccups)."""

    async def due(*args: Any) -> Any:
        if on.is_set():
            hit.set()
            raise OSError(5, "Input/output error")
        return await read(*args)

    return due


async def test_deliveries_and_notices_keep_going_after_a_transient_os_error(
    tmp_path: Path,
) -> None:
    async with Endpoints() as fake:
        shop = Shop(
            tmp_path,
            samples=3,
            notify={"backoff_s": 0.1, "webhooks": [{"url": fake.hook_url(HOOK), "name": HOOK}]},
        )
        service = await shop.start()
        try:
            store = service.store
            on, deliveries_hit, notices_hit = asyncio.Event(), asyncio.Event(), asyncio.Event()
            on.set()
            store.deliveries.due = faulty(store.deliveries.due, on, deliveries_hit)  # type: ignore[method-assign]
            store.outbox.due = faulty(store.outbox.due, on, notices_hit)  # type: ignore[method-assign]
            service.scheduler.wake()
            service.notices.wake()
            await asyncio.wait_for(deliveries_hit.wait(), 60)
            await asyncio.wait_for(notices_hit.wait(), 60)

            async def down() -> bool:
                parts = await service.health()
                return not (parts["deliveries"].ok or parts["notices"].ok or parts["loops"].ok)

            await wait_for(down, 60, "/readyz showing both loops down")
            on.clear()
            for index in range(3):
                await shop.claim(index)
            jobs = await shop.finished(3)
            assert {job.state for job in jobs.values()} == {JobState.DONE}

            async def notified() -> bool:
                return len(fake.of(WEBHOOK, HOOK)) >= 3

            await wait_for(notified, 60, "a notice per job")
            parts = await service.health()
            assert parts["deliveries"].ok and parts["notices"].ok and parts["loops"].ok
            assert service.supervisor.restarts("delivery-scheduler") >= 1
            assert service.supervisor.restarts("notice-sender") >= 1
        finally:
            await shop.stop()
