"""Every change to a job goes through here: its state, its deliveries and its log lines are
written in one transaction together with the numbered events that tell the live page of them,
and only once that has committed do the events go out (and the lines to the service log), so
the page never shows what the database does not hold, and sees changes in commit order.

Small changes that may wait for each other (a delivery's receipt) go through `grouped`: those
that come while a transaction is under way share the next one, one commit for all, so a burst
of them does not queue one transaction each behind the database's one writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import LogLine
from asyncpdf.events import Event, EventBus
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
        self.deleted: set[int] = set()
        self.callbacks: list[Callable[[], None]] = []
        self.undo: list[Callable[[], None]] = []

    async def log(self, job_id: int, message: str, level: str = "info") -> None:
        # Written with the change's events, all lines in one statement.
        self.lines.append(LogLine(job_id=job_id, ts=time.time(), level=level, message=message))
        if level == WARNING:
            await self.store.jobs.count_warning(job_id)
            self.jobs.add(job_id)

    async def move(
        self, job_id: int, current: JobState, new: JobState, *, error: str | None = None
    ) -> None:
        await self.move_all([job_id], current, new, error=error)

    async def move_all(
        self, job_ids: Sequence[int], current: JobState, new: JobState, *, error: str | None = None
    ) -> None:
        """Move the jobs in one statement (a burst's batch): all of them, or the change fails."""
        await self.store.jobs.move_all(job_ids, current, new, error=error)
        self.jobs.update(job_ids)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Called should the transaction not commit: what was taken for it is given back."""
        self.undo.append(callback)

    def touched(self, job_id: int) -> None:
        """The job changed in another way a page shows (a delivery, its analysis)."""
        self.jobs.add(job_id)

    async def delete(self, job_id: int) -> None:
        await self.store.jobs.delete(job_id)
        self.deleted.add(job_id)

    async def events(self) -> list[Event]:
        """The change's log lines and events, numbered, written in its transaction."""
        if self.lines:
            await self.store.log.add_all(self.lines)
        events: list[Event] = [{"type": "log", **line.as_json()} for line in self.lines]
        rows = await self.store.history.rows_of(sorted(self.jobs), in_transaction=True)
        events.extend({"type": "job", "job": row.as_json()} for row in rows)
        events.extend({"type": "deleted", "job_id": job_id} for job_id in sorted(self.deleted))
        return await self.store.events.add(events) if events else []


Write = Callable[[Change], Awaitable[None]]


class Journal:
    def __init__(self, store: Store, bus: EventBus, metrics: Metrics) -> None:
        self._store = store
        self._bus = bus
        self._metrics = metrics
        self._waiting: list[tuple[Write, asyncio.Future[None]]] = []
        self._grouping = asyncio.Lock()

    async def grouped(self, write: Write) -> None:
        """Run `write` in a transaction it may share with other grouped writes that wait at the
        same time; returns once it has committed. Should the shared transaction fail, each
        write runs again in one of its own, so an error is only ever its own write's."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((write, done))
        async with self._grouping:
            if not done.done():
                group, self._waiting = self._waiting, []
                try:
                    await self._commit_group(group)
                except BaseException:
                    # Cut off (a stop): the others' writes wait for the next one to commit.
                    self._waiting[:0] = [(w, f) for w, f in group if f is not done]
                    raise
        await done

    async def _commit_group(self, group: list[tuple[Write, asyncio.Future[None]]]) -> None:
        try:
            async with self.change() as change:
                for write, _ in group:
                    await write(change)
        except Exception as exc:
            if len(group) > 1:
                for one in group:
                    await self._commit_group([one])
            elif not group[0][1].done():
                group[0][1].set_exception(exc)
            return
        for _, done in group:
            if not done.done():
                done.set_result(None)

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[Change]:
        change = Change(self._store)
        try:
            async with self._store.transaction():
                yield change
                events = await change.events()
        except BaseException:
            for undo in change.undo:
                undo()
            raise
        # Nothing awaited from the commit to the last event: they go out in commit order.
        for line in change.lines:
            # "detail" lines (a quick transfer's progress) are DEBUG in the service's log.
            level = logging.getLevelNamesMapping().get(line.level.upper(), logging.DEBUG)
            log.log(level, "job %d: %s", line.job_id, printable(line.message))
            if line.level == WARNING:
                self._metrics.warnings.inc()
        for event in events:
            self._bus.publish(event)
        for callback in change.callbacks:
            callback()

    async def log(self, job_id: int, message: str, level: str = "info") -> None:
        async with self.change() as change:
            await change.log(job_id, message, level)
