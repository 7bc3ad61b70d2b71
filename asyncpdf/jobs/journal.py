"""Every change to a job goes through here: its state, its deliveries and its log lines are
written in one transaction, and only once that has committed do the changes go out as events
(and to the service log), so the page never shows what the database does not hold."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from asyncpdf.events import EventBus
from asyncpdf.jobs.lifecycle import JobState
from asyncpdf.jobs.records import LogLine
from asyncpdf.metrics import Metrics
from asyncpdf.store import Store

log = logging.getLogger("asyncpdf.jobs")
WARNING = "warning"


def printable(text: str) -> str:
    """`text` with control characters escaped: a file name cannot forge service log lines."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class Change:
    """The writes of one transaction; `store` is there for the rest (analysis, deliveries)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lines: list[LogLine] = []
        self.jobs: set[int] = set()
        self.callbacks: list[Callable[[], None]] = []

    async def log(self, job_id: int, message: str, level: str = "info") -> None:
        self.lines.append(await self.store.log.add(job_id, level, message))
        if level == WARNING:
            await self.store.jobs.count_warning(job_id)
            self.jobs.add(job_id)

    async def move(
        self, job_id: int, current: JobState, new: JobState, *, error: str | None = None
    ) -> None:
        await self.store.jobs.move(job_id, current, new, error=error)
        self.jobs.add(job_id)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def touched(self, job_id: int) -> None:
        """The job changed in another way a page shows (a delivery, its analysis)."""
        self.jobs.add(job_id)


class Journal:
    def __init__(self, store: Store, bus: EventBus, metrics: Metrics) -> None:
        self._store = store
        self._bus = bus
        self._metrics = metrics

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[Change]:
        change = Change(self._store)
        async with self._store.transaction():
            yield change
        for line in change.lines:
            level = logging.getLevelName(line.level.upper())
            log.log(level, "job %d: %s", line.job_id, printable(line.message))
            if line.level == WARNING:
                self._metrics.warnings.inc()
            self._bus.publish({"type": "log", **line.as_json()})
        for job_id in sorted(change.jobs):
            job = await self._store.jobs.header(job_id)
            self._bus.publish({"type": "job", "job": job.as_json()})
        for callback in change.callbacks:
            callback()

    async def log(self, job_id: int, message: str, level: str = "info") -> None:
        async with self.change() as change:
            await change.log(job_id, message, level)
