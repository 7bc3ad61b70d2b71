"""Notices of finished jobs: built from the job's records, sent from the outbox by one task,
each retried with backoff on its own. A notice that cannot be sent is a warning on the job;
it never changes the job's result. A notice cut off by a stop is sent again at the next start
(a recipient may then hear of the job twice, never not at all)."""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import Any

import aiohttp

from asyncpdf.domain.lifecycle import DeliveryState, RetryPolicy, in_seconds
from asyncpdf.domain.records import Delivery, Job, Notification
from asyncpdf.errors import NotifyError
from asyncpdf.journal import Journal
from asyncpdf.notify import (
    CALLBACK,
    Channel,
    DeliveryLine,
    Notice,
    NotifySettings,
    call_back,
    channels,
    shown_url,
)
from asyncpdf.pipeline.steps import BUREAU
from asyncpdf.sending.due import DueWork
from asyncpdf.store import Store
from asyncpdf.supervisor import Supervisor

log = logging.getLogger(__name__)
#: Notices sent at once.
PARALLEL = 4


def notice_for(job: Job, deliveries: list[Delivery]) -> Notice:
    analysis = job.analysis
    lines = tuple(DeliveryLine(d.kind, d.target, d.state.value, d.error) for d in deliveries)
    return Notice(
        job_id=job.id,
        order=(analysis.order if analysis else None) or "",
        order_name=analysis.order_name if analysis else "",
        file_name=job.name,
        bureau=(analysis.bureau if analysis else None) or "",
        press=", ".join(analysis.presses) if analysis else "",
        plates=analysis.plates if analysis else 0,
        deliveries=lines,
        bureau_failed=any(d.kind == BUREAU and d.state is DeliveryState.FAILED for d in deliveries),
        import_mode=job.imported,
        job_state=job.state.value,
        warnings=job.warnings,
        error=job.error,
    )


class NoticeSender(DueWork[Notification]):
    def __init__(self, settings: NotifySettings, store: Store, journal: Journal) -> None:
        super().__init__("notice-sender", PARALLEL)
        self._settings = settings
        self._retries = RetryPolicy(settings.attempts, settings.backoff_s, settings.max_delay_s)
        self._channels: dict[str, Channel] = channels(settings)
        self._store = store
        self._journal = journal
        self._session: aiohttp.ClientSession | None = None

    def start(self, supervisor: Supervisor) -> None:
        self._session = aiohttp.ClientSession()
        super().start(supervisor)

    async def stop(self) -> None:
        await super().stop()
        if self._session is not None:
            await self._session.close()

    async def _due(self, now: float, limit: int) -> list[Notification]:
        return await self._store.outbox.due(now, limit)

    async def _next_due_at(self) -> float | None:
        return await self._store.outbox.next_due_at()

    async def _begin(self, due: Notification) -> Coroutine[Any, Any, None] | None:
        async with self._store.transaction():
            notification = await self._store.outbox.take(due)
        return None if notification is None else self._send(notification)

    async def _send(self, notification: Notification) -> None:
        callback = notification.channel == CALLBACK
        address = shown_url(notification.address) if callback else notification.address
        who = f"{notification.channel} {address}"
        try:
            assert self._session is not None
            if callback:
                await self._call_back(self._session, notification)
            else:
                await self._notify(self._session, notification)
        except NotifyError as exc:
            await self._not_sent(notification, who, exc)
        except Exception as exc:
            log.exception("job %d: notifying %s: internal error", notification.job_id, who)
            await self._not_sent(notification, who, NotifyError(f"internal error: {exc!r}"))
        else:
            async with self._journal.change() as change:
                await change.store.outbox.sent(notification)
                await change.log(notification.job_id, f"notified {who}")

    async def _notify(self, session: aiohttp.ClientSession, notification: Notification) -> None:
        channel = self._channels.get(notification.channel)
        if channel is None:
            raise NotifyError(f"{notification.channel} is no longer configured", permanent=True)
        job = await self._store.jobs.get(notification.job_id)
        deliveries = await self._store.deliveries.of_job(job.id)
        await channel.send(session, notice_for(job, deliveries), notification.address)

    async def _call_back(self, session: aiohttp.ClientSession, notification: Notification) -> None:
        rows = await self._store.history.rows_of([notification.job_id])
        if not rows:
            raise NotifyError("the job's record was deleted", permanent=True)
        timeout_s = self._settings.timeout_s
        await call_back(session, notification.address, rows[0].as_json(), timeout_s)

    async def _not_sent(self, notification: Notification, who: str, exc: NotifyError) -> None:
        made = notification.attempts + 1
        delay = self._retries.next_in(
            made, permanent=exc.permanent, at_least_s=exc.retry_after_s or 0
        )
        async with self._journal.change() as change:
            if delay is None:
                await change.store.outbox.failed(notification, str(exc))
                await change.log(
                    notification.job_id,
                    f"could not notify {who}: {exc} (after {made} attempt(s))",
                    "warning",
                )
                return
            await change.store.outbox.retry(notification, str(exc), time.time() + delay)
            await change.log(
                notification.job_id, f"notifying {who}: {exc}; next attempt in {in_seconds(delay)}"
            )
