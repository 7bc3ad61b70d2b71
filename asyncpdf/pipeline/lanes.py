"""The two lanes a job goes through, each a bounded number of tasks over a queue of job ids.

- The analysis lane takes every claimed job first: its analysis (short pool calls) and its
  bureau delivery planned and woken. The bureau never waits for previews.
- The previews lane takes the jobs the analysis lane routed, but only while the analysis lane
  has nothing to do and no bureau copy is being sent or due (to a target that is not failing):
  in a burst every file is analysed and at its bureau before pool time goes to previews (long
  pool calls: crop, render, Ghostscript).

The tasks run under the service's supervisor (one that raises is logged and started again); a
stop cancels them all (the jobs they held resume at the next start).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asyncpdf.health import Health
from asyncpdf.supervisor import Supervisor

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 10.0
#: The analysis lane's step over a batch of jobs: those that go on to the previews lane.
Route = Callable[[list[int]], Awaitable[list[int]]]
#: Jobs an analysis task takes at once (analysed in shared pool calls, recorded in one
#: transaction).
ANALYSIS_BATCH = 32
Preview = Callable[[int], Awaitable[None]]
#: Whether bureau copies are still being sent or due: previews wait meanwhile.
Busy = Callable[[], Awaitable[bool]]
#: How often a waiting previews task asks whether the bureau copies are out.
BUREAU_POLL_S = 0.2
Work = Callable[[], Awaitable[None]]


class Lanes:
    def __init__(
        self,
        route: Route,
        preview: Preview,
        analysis_tasks: int,
        preview_tasks: int,
        bureau_busy: Busy | None = None,
    ):
        self._route = route
        self._preview = preview
        self._bureau_busy = bureau_busy
        self._counts = {"analysis": analysis_tasks, "previews": preview_tasks}
        #: Jobs waiting for their analysis (or to be routed again after a restart).
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._previews: asyncio.Queue[int] = asyncio.Queue()
        self._analysing: set[int] = set()
        self._previewing: set[int] = set()
        #: Every job queued or in work in either lane.
        self._in_lanes: set[int] = set()
        #: Set while the analysis lane has nothing queued and nothing in work.
        self._routed = asyncio.Event()
        self._routed.set()
        self._names: list[str] = []
        self._supervisor: Supervisor | None = None
        self._stopping = False

    def route(self, job_id: int) -> None:
        """Queue a job for the analysis lane (it goes on from wherever it stands), unless it
        is in a lane already: it goes on from there."""
        if job_id in self._in_lanes:
            return
        self._in_lanes.add(job_id)
        self.queue.put_nowait(job_id)
        self._routed.clear()

    @property
    def busy(self) -> int:
        return len(self._analysing) + len(self._previewing)

    def _check_routed(self) -> None:
        if self.queue.empty() and not self._analysing:
            self._routed.set()

    async def _analysis(self) -> None:
        while not self._stopping:
            batch = [await self.queue.get()]
            while len(batch) < ANALYSIS_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._analysing.update(batch)
            try:
                previews = await self._route(batch)
            except Exception:
                # Even ending the jobs failed (the database or the disk is failing).
                log.exception("jobs %s: could not be ended", ", ".join(map(str, batch)))
                previews = []
            finally:
                self._analysing.difference_update(batch)
                for _ in batch:
                    self.queue.task_done()
            for job_id in previews:
                self._previews.put_nowait(job_id)
            self._in_lanes.difference_update(set(batch) - set(previews))
            self._check_routed()

    async def _previews_work(self) -> None:
        while not self._stopping:
            job_id = await self._previews.get()
            try:
                await self._routed.wait()
                while self._bureau_busy is not None and await self._bureau_busy():
                    # The routed files' bureau copies go first: previews take the main
                    # process's time and the database's writer from them.
                    await asyncio.sleep(BUREAU_POLL_S)
                    await self._routed.wait()
                self._previewing.add(job_id)
                await self._preview(job_id)
            except Exception:
                log.exception("job %d: could not be ended", job_id)
            finally:
                self._previewing.discard(job_id)
                self._in_lanes.discard(job_id)
                self._previews.task_done()

    def start(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        work: dict[str, Work] = {"analysis": self._analysis, "previews": self._previews_work}
        for lane, count in self._counts.items():
            for number in range(count):
                name = f"{lane}-task-{number}"
                supervisor.start(name, work[lane])
                self._names.append(name)

    def health(self) -> Health:
        supervisor = self._supervisor
        running = sum(supervisor.health_of(name).ok for name in self._names) if supervisor else 0
        detail = (
            f"{running} job tasks; analysis: {len(self._analysing)} busy, "
            f"{self.queue.qsize()} queued; previews: {len(self._previewing)} busy, "
            f"{self._previews.qsize()} queued"
        )
        return Health(running == len(self._names) and bool(self._names), detail)

    async def stop(self) -> None:
        """Stop taking jobs, give running ones a bounded time, then cancel; they resume at
        start-up."""
        self._stopping = True
        if self.busy:
            idle = asyncio.create_task(self._wait_idle())
            await asyncio.wait([idle], timeout=SHUTDOWN_GRACE_S)
            idle.cancel()
        if self._supervisor is not None:
            await self._supervisor.stop(*self._names)

    async def _wait_idle(self) -> None:
        while self.busy:
            await asyncio.sleep(0.1)
