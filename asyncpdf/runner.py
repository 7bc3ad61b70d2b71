"""The job runner: claims settled files, feeds a bounded number of job tasks from an
asyncio.Queue, and drives each job through its states to a terminal one.

Data flows one way: claim → analyse (pool) → deliver → finish; every step writes the job's log,
which also goes out on the event bus.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from asyncpdf import pipeline
from asyncpdf.analysis import analyze_file
from asyncpdf.config import Settings
from asyncpdf.detect import Rules
from asyncpdf.errors import AsyncPdfError, NotFound
from asyncpdf.events import EventBus
from asyncpdf.jobs import UNFINISHED, Job, State
from asyncpdf.metrics import Metrics
from asyncpdf.pool import Pool
from asyncpdf.spool import Spool
from asyncpdf.store import Store

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 10.0


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        spool: Spool,
        pool: Pool,
        bus: EventBus,
        metrics: Metrics,
        analyse: pipeline.Analyse = analyze_file,
    ) -> None:
        self._settings = settings
        self._ctx = pipeline.Context(
            settings, Rules.from_settings(settings), store, pool, metrics, self.log, analyse
        )
        self._store = store
        self._spool = spool
        self._bus = bus
        self._metrics = metrics
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[int] = set()
        self._stopping = False

    async def log(self, job_id: int, message: str, level: str = "info") -> None:
        line = await self._store.add_log(job_id, level, message)
        log.log(logging.getLevelName(level.upper()), "job %d: %s", job_id, message)
        self._bus.publish({"type": "log", **line.as_json()})

    async def _set_state(self, job_id: int, state: State, error: str | None = None) -> None:
        await self._store.set_state(job_id, state, error=error)
        job = await self._store.get_job(job_id)
        self._bus.publish({"type": "job", "job": job.as_json()})

    async def claim(self, source: Path) -> int | None:
        """Take a settled file from the hotfolder: one job, one atomic rename into the spool."""
        job_id = await self._store.create_job(source.name)
        try:
            await self._spool.claim(source, job_id)
        except FileNotFoundError:
            await self._finish(job_id, State.FAILED, "the file disappeared before it was claimed")
            return None
        await self.log(job_id, f"received {source.name!r}")
        await self._set_state(job_id, State.QUEUED)
        await self.queue.put(job_id)
        return job_id

    async def recover(self) -> None:
        """Resume every unfinished job and give every spool file exactly one job."""
        for job in await self._store.jobs_in(UNFINISHED):
            await self._resume(job)
        for job_id, path in await asyncio.to_thread(self._spool.entries):
            owner = await self._owner(job_id, path)
            if owner is None:
                await self.claim(path)
            elif owner.state.terminal:
                await self._spool.release(owner)

    async def _owner(self, job_id: int, path: Path) -> Job | None:
        try:
            job = await self._store.get_job(job_id)
        except NotFound:
            return None
        return job if job.name == path.name else None

    async def _resume(self, job: Job) -> None:
        path = self._spool.path(job.id, job.name)
        if job.state is State.RECEIVED and not path.exists():
            hot = self._spool.hotfolder_path(job.name)
            if hot.exists():
                await self._spool.claim(hot, job.id)
        if not path.exists():
            await self._finish(job.id, State.FAILED, "the file is missing from the spool")
            return
        await self.log(job.id, f"resuming after restart (was {job.state.value})")
        if job.state is State.RECEIVED:
            await self._set_state(job.id, State.QUEUED)
        await self.queue.put(job.id)

    async def _finish(self, job_id: int, state: State, reason: str | None = None) -> None:
        # The store says where the file belongs; the move after it is redone at start-up if
        # the process dies in between.
        await asyncio.shield(self._set_state(job_id, state, reason))
        self._metrics.finished.labels(state=state.value).inc()
        job = await self._store.get_job(job_id)
        kept = await self._spool.release(job, reason)
        if state is State.DONE:
            await self.log(job_id, "done")
        else:
            where = f"; file kept as {kept}" if kept else ""
            await self.log(job_id, f"{state.value}: {reason}{where}", "error")

    async def _process(self, job_id: int) -> None:
        job = await self._store.get_job(job_id)
        source = self._spool.path(job.id, job.name)
        try:
            analysis = job.analysis
            if job.state in (State.QUEUED, State.ANALYSING) or analysis is None:
                await self._set_state(job.id, State.ANALYSING)
                await self.log(job.id, "analysing")
                analysis = await pipeline.analyse(self._ctx, job.id, source)
                analysis["artefacts"] = await pipeline.make_previews(
                    self._ctx, job.id, source, analysis
                )
                await self._store.set_analysis(job.id, analysis)
            await self._set_state(job.id, State.DELIVERING)
            plans = pipeline.plan_deliveries(self._settings, job.name, source, analysis)
            await pipeline.deliver_all(self._ctx, job.id, plans)
        except AsyncPdfError as exc:
            await self._finish(job_id, State(exc.outcome), str(exc))
        except Exception as exc:
            log.exception("job %d: internal error", job_id)
            await self._finish(job_id, State.FAILED, f"internal error: {exc!r}")
        else:
            await self._finish(job_id, State.DONE)

    async def _work(self) -> None:
        while not self._stopping:
            job_id = await self.queue.get()
            self._busy.add(job_id)
            try:
                await self._process(job_id)
            finally:
                self._busy.discard(job_id)
                self.queue.task_done()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"job-task-{n}")
            for n in range(self._settings.pool.jobs)
        ]

    async def stop(self) -> None:
        """Stop intake, give running jobs a bounded time, then cancel; they resume at start-up."""
        self._stopping = True
        waiting = [t for t in self._tasks if not t.done()]
        if self._busy:
            idle = asyncio.create_task(self._wait_idle())
            await asyncio.wait([idle], timeout=SHUTDOWN_GRACE_S)
            idle.cancel()
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _wait_idle(self) -> None:
        while self._busy:
            await asyncio.sleep(0.1)
