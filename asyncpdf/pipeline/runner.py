"""The job runner: takes each claimed job (`intake/claims.py`) through the two lanes
(`lanes.py`) as far as it can go without waiting on a target: in the analysis lane analysed and
its bureau delivery handed to the scheduler at once; in the previews lane its previews made and
its press deliveries handed on. A job ends when its previews are made and its last delivery has
settled (`settle`), whoever settles it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from asyncpdf.domain.lifecycle import (
    UNFINISHED,
    DeliveryState,
    JobState,
    still_to_send,
)
from asyncpdf.domain.records import Delivery, Job, JobHeader
from asyncpdf.errors import AnalysisFailed, AsyncPdfError, Duplicate, NotFound, RejectedFile
from asyncpdf.health import Health
from asyncpdf.intake.claims import Claims
from asyncpdf.intake.retention import record_kept
from asyncpdf.intake.spool import Spool
from asyncpdf.journal import Change, Journal
from asyncpdf.metrics import Metrics
from asyncpdf.pdf.model import Analysed, Analysis, Artefacts
from asyncpdf.pipeline import steps
from asyncpdf.pipeline.finisher import Finisher
from asyncpdf.pipeline.held import Held
from asyncpdf.pipeline.lanes import Busy, Lanes
from asyncpdf.pipeline.pool import Note
from asyncpdf.store import Store
from asyncpdf.supervisor import Supervisor

T = TypeVar("T")
#: The scheduler's `start_now`: of deliveries just added in a change, send those it can take
#: as soon as the change has committed.
StartNow = Callable[[Change, Sequence[tuple[Delivery, steps.Plan]]], Awaitable[None]]

log = logging.getLogger(__name__)


class _Batch:
    """What the analysis lane's batch has routed so far: each job's new plans, and which
    checksum went first (in the database before the batch, or earlier in it)."""

    def __init__(self, delivered: dict[str, int] | None) -> None:
        #: None when copies are delivered again (`delivery.duplicates: deliver`).
        self._first = delivered
        #: Each routed job's new plans, by its id.
        self.plans: dict[int, list[steps.Plan]] = {}

    def first_of(self, sha256: str | None) -> int | None:
        return None if sha256 is None or self._first is None else self._first.get(sha256)

    def route(self, job: Job, plans: list[steps.Plan]) -> None:
        self.plans[job.id] = plans
        if self._first is not None and job.sha256 is not None:
            self._first.setdefault(job.sha256, job.id)


class JobRunner:
    def __init__(
        self,
        ctx: steps.Context,
        store: Store,
        journal: Journal,
        spool: Spool,
        metrics: Metrics,
        wake_deliveries: Callable[[], None],
        wake_notices: Callable[[], None],
        held: Held,
        bureau_busy: Busy | None = None,
        start_now: StartNow | None = None,
    ) -> None:
        self._ctx = ctx
        self._held = held
        self._settings = ctx.settings
        self._store = store
        self._journal = journal
        self._spool = spool
        self._metrics = metrics
        self._wake_deliveries = wake_deliveries
        self._wake_notices = wake_notices
        self._start_now = start_now
        workers = ctx.settings.pool
        self.lanes = Lanes(self._route, self._preview, workers.jobs, workers.jobs, bureau_busy)
        self.finisher = Finisher(
            self._settings, store, journal, spool, metrics, wake_notices=wake_notices
        )
        self.claims = Claims(self._settings, store, journal, spool, self.lanes.route, self._end)

    @property
    def queue(self) -> asyncio.Queue[int]:
        """Jobs waiting for the analysis lane."""
        return self.lanes.queue

    async def recover(self) -> int:
        """Resume every unfinished job and give every spool file exactly one job; return how
        many jobs were resumed."""
        async with self._store.transaction():
            await self._store.deliveries.interrupted_to_pending()
            await self._store.outbox.interrupted_to_pending()
        jobs = await self._store.jobs.in_states(UNFINISHED)
        for job in jobs:
            try:
                await self._resume(job)
            except Exception:
                log.exception("job %d: could not be resumed", job.id)
        for job_id, path in await asyncio.to_thread(self._spool.entries):
            try:
                owner = await self._owner(job_id, path)
                if owner is None:
                    await self.claims.claim(path)
                elif owner.state.terminal:
                    await record_kept(self._store, owner.id, await self._spool.release(owner))
            except Exception:
                log.exception("could not take %s from the spool; it stays there", path)
        return len(jobs)

    async def _owner(self, job_id: int, path: Path) -> JobHeader | None:
        try:
            job = await self._store.jobs.header(job_id)
        except NotFound:
            return None
        return job if job.name == path.name else None

    async def _resume(self, job: JobHeader, why: str = "after restart") -> None:
        held = await asyncio.to_thread(self._spool.holds, job.id, job.name)
        if job.state is JobState.RECEIVED and not held:
            hot = self._spool.hotfolder_path(job.file_name, job.subfolder)
            if await asyncio.to_thread(os.path.lexists, hot):
                refused = await self._spool.claim(hot, job.id, job.name)
                if refused is not None:
                    await self._end(job.id, JobState.REJECTED, refused)
                    return
                held = True
        if not held:
            await self._end(job.id, JobState.FAILED, "the file is missing from the spool")
            return
        async with self._journal.change() as change:
            await change.log(job.id, f"resuming {why} (was {job.state.value})")
            if job.state in (JobState.RECEIVED, JobState.ANALYSING):
                await change.move(job.id, job.state, JobState.QUEUED)
        self.lanes.route(job.id)

    async def _route(self, job_ids: list[int]) -> list[int]:
        """The analysis lane's step for a batch of jobs: each analysed (if not yet) and its
        bureau delivery planned, the batch in two transactions; return the jobs whose previews
        are still to make."""
        jobs = await self._read_all(job_ids)
        queued = [job for job in jobs if job.state is JobState.QUEUED]
        routed = [job for job in jobs if job.state is not JobState.QUEUED]
        if queued:
            routed += await self._guarded_all(queued, self._analyse_all(queued)) or []
        return [job.id for job in routed if await self._guarded(job.id, self._go_on(job))]

    async def _read_all(self, job_ids: list[int]) -> list[Job]:
        """The batch's jobs in one read; those it did not give, one by one, so that a job
        that cannot be read ends with its own reason."""
        try:
            found = {job.id: job for job in await self._store.jobs.get_many(job_ids)}
        except Exception:
            found = {}
        jobs: list[Job] = []
        for job_id in job_ids:
            job = found.get(job_id) or await self._guarded(job_id, self._store.jobs.get(job_id))
            if job is not None:
                jobs.append(job)
        return jobs

    async def _go_on(self, job: Job) -> bool:
        """True when the job's previews are still to make; a job that has them (resumed) has
        its press deliveries planned and may end."""
        if job.state is not JobState.DELIVERING or job.analysis is None:
            return False
        if job.artefacts is None:
            return True
        async with self._journal.change() as change:
            await self._plan(change, job, job.analysis, job.artefacts)
        await self.settle(job.id)
        return False

    async def _preview(self, job_id: int) -> None:
        """The previews lane's step: the previews made, the press deliveries planned."""

        async def preview() -> None:
            job = await self._store.jobs.get(job_id)
            if job.state is not JobState.DELIVERING or job.analysis is None:
                return
            if job.artefacts is None:
                await self._previews(job, self._spool.path(job.id, job.name), job.analysis)
            await self.settle(job.id)

        await self._guarded(job_id, preview())

    async def _guarded(self, job_id: int, step: Awaitable[T]) -> T | None:
        """`step`'s result; a failure ends the job with its reason (None then)."""
        return await self._guarded_all([job_id], step)

    async def _guarded_all(self, jobs: Sequence[int | JobHeader], step: Awaitable[T]) -> T | None:
        """`step`'s result; a failure ends each of the jobs with its reason (None then). Should
        the database refuse the write, the jobs are held, to go on once it takes writes."""
        ids = [job if isinstance(job, int) else job.id for job in jobs]
        try:
            return await step
        except Exception as exc:
            try:
                await self._failed(ids, exc)
            except sqlite3.Error as refused:
                self._hold(ids, refused)
        return None

    async def _failed(self, ids: list[int], exc: Exception) -> None:
        if isinstance(exc, sqlite3.Error):
            # Not the file's fault: the job stays as the database last has it.
            self._hold(ids, exc)
            return
        if isinstance(exc, AsyncPdfError):
            state, reason = JobState(exc.outcome), str(exc)
        else:
            log.exception("jobs %s: internal error", ", ".join(map(str, ids)), exc_info=exc)
            state, reason = JobState.FAILED, f"internal error: {exc!r}"
        for job_id in ids:
            await self._end(job_id, state, reason)

    def _hold(self, ids: list[int], error: sqlite3.Error) -> None:
        for job_id in ids:
            self._held.hold(f"job {job_id}", functools.partial(self._retake, job_id), error)

    async def _retake(self, job_id: int) -> None:
        """A held job goes on from where the database has it."""
        job = await self._store.jobs.header(job_id)
        if not job.state.terminal:
            await self._resume(job, "now that the database takes writes again")

    async def _analyse_all(self, jobs: list[Job]) -> list[Job]:
        """Analyse the queued jobs (unless a stop came after an analysis was saved) and hand
        each original to its bureau as soon as its route is known; return the routed ones."""
        async with self._journal.change() as change:
            await change.move_all([job.id for job in jobs], JobState.QUEUED, JobState.ANALYSING)
            for job in jobs:
                await change.log(job.id, "analysing")
        fresh = [job for job in jobs if job.analysis is None]
        shared = await steps.analyse_in_turn(
            self._ctx, [self._spool.path(job.id, job.name) for job in fresh]
        )
        done: dict[int, Analysed] = {job.id: got for job, got in zip(fresh, shared, strict=False)}
        found = await asyncio.gather(
            *(self._guarded(job.id, self._analysed(job, done.get(job.id))) for job in jobs)
        )
        analysed = [(job, got) for job, got in zip(jobs, found, strict=True) if got is not None]
        try:
            recorded = await self._record_all(analysed)
        except Exception:
            if len(analysed) < 2:
                raise
            # One job's trouble must not hold the others: each on its own.
            recorded = []
            for pair in analysed:
                recorded += await self._guarded(pair[0].id, self._record_all([pair])) or []
        routed: list[Job] = []
        for job, outcome in recorded:
            if isinstance(outcome, AsyncPdfError):
                await self._end(job.id, JobState(outcome.outcome), str(outcome))
            else:
                routed.append(outcome)
        return routed

    async def _analysed(self, job: Job, shared: Analysed | None) -> Analysed | Analysis:
        """The file's analysis saved before a stop, or made in the batch's shared pool calls,
        else made now on its own."""
        if job.analysis is not None:
            return job.analysis
        if shared is not None:
            return shared
        source = self._spool.path(job.id, job.name)
        return await steps.analyse(self._ctx, source, self._warning_for(job.id))

    async def _record_all(
        self, analysed: list[tuple[Job, Analysed | Analysis]]
    ) -> list[tuple[Job, Job | AsyncPdfError]]:
        """Record the analyses and plan the bureau deliveries in one transaction, a few
        statements for the whole batch; for each job, the job as routed, or why it ends
        (raised by the caller once this has committed)."""
        async with self._journal.change() as change:
            fresh = [(job, found) for job, found in analysed if not isinstance(found, Analysis)]
            await change.store.jobs.record_analyses(
                [(job.id, found.analysis, found.size, found.sha256) for job, found in fresh]
            )
            for job, found in fresh:
                if job.imported:
                    await change.store.jobs.dated(job.id, found.mtime)
                for warning in found.analysis.warnings:
                    await change.log(job.id, warning, "warning")
            batch = _Batch(await self._delivered_before(change, analysed))
            recorded = [
                (job, await self._record(change, job, found, batch)) for job, found in analysed
            ]
            if batch.plans:
                await change.move_all(list(batch.plans), JobState.ANALYSING, JobState.DELIVERING)
            await self._add_plans(change, batch.plans)
        return recorded

    async def _record(
        self, change: Change, job: Job, found: Analysed | Analysis, batch: _Batch
    ) -> Job | AsyncPdfError:
        analysis, sha256 = (
            (found, job.sha256) if isinstance(found, Analysis) else (found.analysis, found.sha256)
        )
        if analysis.rejected:
            return RejectedFile(analysis.error)
        if analysis.error:
            return AnalysisFailed(analysis.error)
        first = batch.first_of(sha256)
        if first is not None:
            await change.store.jobs.duplicate_of(job.id, first)
            return Duplicate(
                f"the same file (sha256 {sha256}) as job {first}, which was delivered: not "
                "sent again (delivery.duplicates is 'skip'; set 'deliver' to send such files "
                "again)"
            )
        await change.log(job.id, steps.summary(analysis))
        routed = replace(job, state=JobState.DELIVERING, analysis=analysis, sha256=sha256)
        # Just analysed, it has no deliveries yet: nothing to read.
        existing = await self._existing(change, job.id) if isinstance(found, Analysis) else {}
        batch.route(routed, self._new_plans(routed, analysis, None, existing))
        return routed

    def _warning_for(self, job_id: int) -> Note:
        async def warn(message: str) -> None:
            await self._journal.log(job_id, message, "warning")

        return warn

    async def _delivered_before(
        self, change: Change, analysed: list[tuple[Job, Analysed | Analysis]]
    ) -> dict[str, int] | None:
        """The first delivered job of each checksum in the batch (in this transaction: of two
        copies of one file, the second sees the first), or None when copies are delivered."""
        if self._settings.delivery.duplicates != "skip":
            return None
        checksums = {
            sha256
            for job, found in analysed
            if (sha256 := job.sha256 if isinstance(found, Analysis) else found.sha256)
        }
        return await change.store.jobs.first_delivered_all(
            checksums, other_than=[job.id for job, _ in analysed]
        )

    async def _previews(self, job: Job, source: Path, analysis: Analysis) -> None:
        note = self._warning_for(job.id)
        artefacts = await steps.make_previews(self._ctx, job.id, source, analysis, note)
        async with self._journal.change() as change:
            await change.store.jobs.record_artefacts(job.id, artefacts)
            for warning in artefacts.warnings:
                await change.log(job.id, warning, "warning")
            for said in artefacts.notes:
                await change.log(job.id, said)
            if coverage := steps.ink_summary(artefacts):
                await change.log(job.id, coverage)
            await self._plan(change, job, analysis, artefacts)

    async def _plan(
        self, change: Change, job: Job, analysis: Analysis, artefacts: Artefacts | None
    ) -> None:
        """Add the deliveries this job has not had yet; the scheduler sends them."""
        existing = await self._existing(change, job.id)
        await self._add_plans(change, {job.id: self._new_plans(job, analysis, artefacts, existing)})

    @staticmethod
    async def _existing(change: Change, job_id: int) -> dict[str, DeliveryState]:
        return {d.kind: d.state for d in await change.store.deliveries.of_job(job_id)}

    def _new_plans(
        self,
        job: JobHeader,
        analysis: Analysis,
        artefacts: Artefacts | None,
        existing: dict[str, DeliveryState],
    ) -> list[steps.Plan]:
        plans = self._plans(job, analysis, artefacts)
        new = set(still_to_send([plan.kind for plan in plans], existing))
        return [plan for plan in plans if plan.kind in new]

    async def _add_plans(self, change: Change, plans: dict[int, list[steps.Plan]]) -> None:
        """Add the deliveries; those the scheduler can take now are sent as this commits."""
        flat = [(job_id, plan) for job_id, planned in plans.items() for plan in planned]
        if not flat:
            return
        added = await change.store.deliveries.add_all(
            (job_id, plan.kind, plan.shown_target, plan.remote_name) for job_id, plan in flat
        )
        for job_id, _ in flat:
            change.touched(job_id)
        if self._start_now is not None:
            await self._start_now(
                change, [(d, plan) for d, (_, plan) in zip(added, flat, strict=True)]
            )
        # Once committed: the scheduler reads only what is.
        change.after_commit(self._wake_deliveries)

    def _plans(
        self, job: JobHeader, analysis: Analysis, artefacts: Artefacts | None
    ) -> list[steps.Plan]:
        if job.imported:
            return []
        return steps.plan_deliveries(
            self._settings, job.name, self._spool.path(job.id, job.name), analysis, artefacts
        )

    async def settle(self, job_id: int) -> None:
        """End a delivering job once its previews are made and every delivery has settled
        (held, should the database refuse the write)."""
        try:
            await self._settle(job_id)
        except sqlite3.Error as exc:
            self._hold([job_id], exc)

    async def _settle(self, job_id: int) -> None:
        await self.finisher.settle(job_id)

    async def _end(self, job_id: int, state: JobState, reason: str) -> None:
        await self.finisher.end(job_id, state, reason)

    def start(self, supervisor: Supervisor) -> None:
        self.lanes.start(supervisor)

    def health(self) -> Health:
        return self.lanes.health()

    async def stop(self) -> None:
        """Stop intake, give running jobs a bounded time, then cancel; they resume at start-up."""
        await self.lanes.stop()
