"""Notices of finished jobs: built from the job's records, sent from the outbox by one task,
each retried with backoff on its own. A notice that cannot be sent is a warning on the job;
it never changes the job's result. A notice cut off by a stop is sent again at the next start
(a recipient may then hear of the job twice, never not at all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp

from asyncpdf.errors import NotifyError
from asyncpdf.health import Health
from asyncpdf.jobs.journal import Journal
from asyncpdf.jobs.lifecycle import DeliveryState, in_seconds, retry_delay
from asyncpdf.jobs.records import Delivery, Job, Notification
from asyncpdf.jobs.steps import BUREAU
from asyncpdf.notify import Channel, DeliveryLine, Notice, NotifySettings, channels
from asyncpdf.store import Store

log = logging.getLogger(__name__)
_MIN_SLEEP_S = 0.01
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


class NoticeSender:
    def __init__(self, settings: NotifySettings, store: Store, journal: Journal) -> None:
        self._settings = settings
        self._channels: dict[str, Channel] = channels(settings)
        self._store = store
        self._journal = journal
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name="notice-sender")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def health(self) -> Health:
        if self._task is None or self._task.done():
            return Health(False, "not running")
        return Health(True, f"{len(self._sending)} sending")

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            free = PARALLEL - len(self._sending)
            if free > 0:
                for due in await self._store.outbox.due(time.time(), free):
                    async with self._store.transaction():
                        notification = await self._store.outbox.take(due)
                    if notification is None:
                        continue
                    task = asyncio.create_task(self._send(notification))
                    self._sending.add(task)
                    task.add_done_callback(self._done)
            delay = await self._sleep_s()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self.wake()

    async def _sleep_s(self) -> float | None:
        if len(self._sending) >= PARALLEL:
            return None
        due_at = await self._store.outbox.next_due_at()
        return None if due_at is None else max(_MIN_SLEEP_S, due_at - time.time())

    async def _send(self, notification: Notification) -> None:
        who = f"{notification.channel} {notification.address}"
        try:
            channel = self._channels.get(notification.channel)
            if channel is None:
                raise NotifyError(f"{notification.channel} is no longer configured", permanent=True)
            job = await self._store.jobs.get(notification.job_id)
            deliveries = await self._store.deliveries.of_job(job.id)
            assert self._session is not None
            await channel.send(self._session, notice_for(job, deliveries), notification.address)
        except NotifyError as exc:
            await self._not_sent(notification, who, exc)
        except Exception as exc:
            log.exception("job %d: notifying %s: internal error", notification.job_id, who)
            await self._not_sent(notification, who, NotifyError(f"internal error: {exc!r}"))
        else:
            async with self._journal.change() as change:
                await change.store.outbox.sent(notification)
                await change.log(notification.job_id, f"notified {who}")

    async def _not_sent(self, notification: Notification, who: str, exc: NotifyError) -> None:
        attempts = notification.attempts + 1
        settings = self._settings
        async with self._journal.change() as change:
            if exc.permanent or attempts >= settings.attempts:
                await change.store.outbox.failed(notification, str(exc))
                await change.log(
                    notification.job_id,
                    f"could not notify {who}: {exc} (after {attempts} attempt(s))",
                    "warning",
                )
                return
            delay = retry_delay(attempts, settings.backoff_s, settings.max_delay_s)
            delay = max(delay, exc.retry_after_s or 0)
            await change.store.outbox.retry(notification, str(exc), time.time() + delay)
            await change.log(
                notification.job_id, f"notifying {who}: {exc}; next attempt in {in_seconds(delay)}"
            )
