"""One task that takes every due row of a table (deliveries, notices) and works on each in a
task of its own, at most `parallel` at once, then sleeps until the next row is due or it is
woken (a row committed, a slot freed). Rows wait in the database, never in a task.

A task holds its slot until it ends, or until it says that the part which needs the slot is
over (`_free_slot`: a delivery's transfer, before its receipt is written). A slot may also be
reserved for a row being written as taken elsewhere (`_reserve`), then given its work once
that has committed (`_launch`), or given back.

The loop runs under the service's supervisor: should it raise (the database refused a read),
it is started again and the rows are still there."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from asyncpdf.health import Health
from asyncpdf.supervisor import Supervisor

T = TypeVar("T")
# Floor for sleeping towards a due time, so clock rounding cannot make a busy loop.
_MIN_SLEEP_S = 0.01


class DueWork(abc.ABC, Generic[T]):
    def __init__(self, name: str, parallel: int) -> None:
        self._name = name
        self._parallel = parallel
        self._wake = asyncio.Event()
        self._working: set[asyncio.Task[None]] = set()
        #: The tasks of `_working` that still hold one of the `parallel` slots.
        self._holding: set[asyncio.Task[None]] = set()
        #: Slots reserved for rows not yet launched.
        self._reserved = 0
        #: Whether rows may be taken (started and not stopping).
        self._taking = False
        self._supervisor: Supervisor | None = None

    @abc.abstractmethod
    async def _due(self, now: float, limit: int) -> list[T]: ...

    @abc.abstractmethod
    async def _next_due_at(self) -> float | None: ...

    @abc.abstractmethod
    async def _begin(self, row: T) -> Coroutine[Any, Any, None] | None:
        """Mark `row` as being worked on (in the store) and return the work; None when
        another has taken it meanwhile."""

    async def _begin_all(self, rows: list[T]) -> list[Coroutine[Any, Any, None]]:
        """`_begin` for each row (a subclass may mark them all in one transaction)."""
        return [work for row in rows if (work := await self._begin(row)) is not None]

    def wake(self) -> None:
        self._wake.set()

    def start(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        self._taking = True
        supervisor.start(self._name, self._run)

    async def stop(self) -> None:
        """Stop; a row cut off is marked in the store as being worked on, and the next start's
        recovery makes it due again."""
        self._taking = False
        if self._supervisor is not None:
            await self._supervisor.stop(self._name)
        tasks = list(self._working)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def health(self) -> Health:
        running = (
            self._supervisor.health_of(self._name)
            if self._supervisor is not None
            else Health(False, "not running")
        )
        if not running.ok:
            return running
        return Health(True, f"{len(self._working)} sending")

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            free = self._free()
            if free > 0:
                for work in await self._begin_all(await self._due(time.time(), free)):
                    self._start_task(work)
            delay = await self._sleep_s()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _free(self) -> int:
        """Slots neither held nor reserved."""
        return self._parallel - len(self._holding) - self._reserved

    def _start_task(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"{self._name}-work")
        self._working.add(task)
        self._holding.add(task)
        task.add_done_callback(self._done)

    def _reserve(self) -> bool:
        """Take a slot for a row about to be written as taken; False when none is free."""
        if not self._taking or self._free() <= 0:
            return False
        self._reserved += 1
        return True

    def _launch(self, work: Coroutine[Any, Any, None]) -> None:
        """A reserved slot's row is taken: its work starts in it (unless this is stopping: the
        row stays taken in the store, and the next start's recovery makes it due again)."""
        self._reserved -= 1
        if self._taking:
            self._start_task(work)
        else:
            work.close()

    def _give_back(self) -> None:
        """A reserved slot's row was not taken after all."""
        self._reserved -= 1
        self.wake()

    def _free_slot(self) -> None:
        """Called from a row's task: what needs its slot is over."""
        task = asyncio.current_task()
        if task in self._holding:
            self._holding.discard(task)
            self.wake()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._working.discard(task)
        self._holding.discard(task)
        self.wake()

    async def _sleep_s(self) -> float | None:
        if self._free() <= 0:
            return None  # woken when a slot frees
        due_at = await self._next_due_at()
        return None if due_at is None else max(_MIN_SLEEP_S, due_at - time.time())
