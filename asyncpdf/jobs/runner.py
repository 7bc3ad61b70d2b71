"""The job runner: claims settled files, feeds a bounded number of job tasks from an
asyncio.Queue, and takes each job as far as it can go without waiting on a target: analysed,
its bureau delivery handed to the scheduler at once, its previews made, its press deliveries
handed on. A job ends when its last delivery has settled (`settle`), whoever settles it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from asyncpdf.errors import AnalysisFailed, AsyncPdfError, Duplicate, NotFound, RejectedFile
from asyncpdf.health import Health
from asyncpdf.jobs import steps
from asyncpdf.jobs.journal import Change, Journal
from asyncpdf.jobs.lifecycle import (
    UNFINISHED,
    DeliveryState,
    JobState,
    job_outcome,
    still_to_send,
)
from asyncpdf.jobs.pool import Note
from asyncpdf.jobs.records import Delivery, Job, JobHeader
from asyncpdf.jobs.retention import record_kept
from asyncpdf.jobs.spool import Settled, Spool
from asyncpdf.metrics import Metrics
from asyncpdf.notify import CALLBACK, recipients
from asyncpdf.pdf.analysis import shown_name
from asyncpdf.pdf.model import Analysis, Artefacts
from asyncpdf.store import Store
from asyncpdf.uninterrupted import uninterrupted

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 10.0
IMPORT_MODE = "import_mode"
IMPORTED = (
    "import mode: analysed, previewed and recorded; nothing is uploaded and only admins are "
    "notified"
)


@dataclass(frozen=True)
class Origin:
    """Where a claimed file came from, when not from the hotfolder."""

    #: Uploaded through the API, which may ask to be called back when the job ends.
    uploaded: bool = False
    callback_url: str | None = None
    #: Run again from the kept original of this job.
    rerun_of: int | None = None

    @property
    def described(self) -> str:
        if self.rerun_of is not None:
            return f" (run again from job {self.rerun_of})"
        return " (uploaded through the API)" if self.uploaded else ""


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
    ) -> None:
        self._ctx = ctx
        self._settings = ctx.settings
        self._store = store
        self._journal = journal
        self._spool = spool
        self._metrics = metrics
        self._wake_deliveries = wake_deliveries
        self._wake_notices = wake_notices
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[int] = set()
        # Ending a job reads its deliveries, then writes: one at a time.
        self._ending = asyncio.Lock()
        self._stopping = False

    async def import_mode(self) -> bool:
        return await self._store.switches.get(IMPORT_MODE, self._settings.delivery.import_mode)

    async def set_import_mode(self, on: bool) -> None:
        """Files claimed from now on are made in import mode, or not; jobs already claimed
        keep the mode they were claimed in."""
        async with self._store.transaction():
            await self._store.switches.set(IMPORT_MODE, on)
        log.warning(
            "import mode %s: %s",
            "on" if on else "off",
            IMPORTED if on else "files are delivered and notified again",
        )

    async def claim(
        self,
        source: Path,
        settled: Settled | None = None,
        *,
        imported: bool | None = None,
        origin: Origin = Origin(),
    ) -> int | None:
        """Take a settled file from the hotfolder: one job, one atomic rename into the spool,
        recorded together (a failure leaves the file where it was, to be claimed again).
        Return the job's id, or None when the file went away first. The job is made in
        import mode when `imported`, or by default when the switch is on as it is claimed;
        `origin` says where a file that did not come through the hotfolder came from."""
        if imported is None:
            imported = await self.import_mode()
        # A claim is a rename and one transaction: cut off between the two (a stop cancelling
        # the watcher), the file would sit in the spool without a job. It is let finish.
        return await uninterrupted(self._claim(source, settled, imported, origin))

    async def _claim(
        self, source: Path, settled: Settled | None, imported: bool, origin: Origin
    ) -> int | None:
        name = shown_name(source)
        subfolder = self._spool.subfolder_of(source)
        try:
            async with self._journal.change() as change:
                job_id = await change.store.jobs.create(
                    name,
                    source.name,
                    imported=imported,
                    rerun_of=origin.rerun_of,
                    callback_url=origin.callback_url,
                    subfolder=subfolder,
                )
                try:
                    refused = await self._spool.claim(source, job_id, name, settled)
                    where = f" from the sub-folder “{subfolder}”" if subfolder else ""
                    await change.log(job_id, f"received “{name}”{where}{origin.described}")
                    if imported:
                        await change.log(job_id, IMPORTED)
                    if name != source.name:
                        await change.log(
                            job_id, "the file name is not UTF-8: its other bytes are shown as �"
                        )
                    if refused is None:
                        await change.move(job_id, JobState.RECEIVED, JobState.QUEUED)
                    else:
                        change.touched(job_id)
                except BaseException:
                    await self._spool.unclaim(source, job_id, name)
                    raise
        except FileNotFoundError:
            log.info("%r went away before it could be claimed", source.name)
            return None
        if refused is not None:
            await self._end(job_id, JobState.REJECTED, refused)
        else:
            await self.queue.put(job_id)
        return job_id

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
                    await self.claim(path)
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

    async def _resume(self, job: JobHeader) -> None:
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
            await change.log(job.id, f"resuming after restart (was {job.state.value})")
            if job.state in (JobState.RECEIVED, JobState.ANALYSING):
                await change.move(job.id, job.state, JobState.QUEUED)
        await self.queue.put(job.id)

    async def _process(self, job_id: int) -> None:
        job = await self._store.jobs.get(job_id)
        source = self._spool.path(job.id, job.name)
        try:
            if job.state is JobState.QUEUED:
                job = await self._analyse(job, source)
            if job.state is not JobState.DELIVERING or job.analysis is None:
                return
            if job.artefacts is None:
                await self._previews(job, source, job.analysis)
            else:
                async with self._journal.change() as change:
                    await self._plan(change, job, job.analysis, job.artefacts)
            await self.settle(job.id)
        except AsyncPdfError as exc:
            await self._end(job_id, JobState(exc.outcome), str(exc))
        except sqlite3.Error as exc:
            # Not the file's fault: the job stays as the database last has it and is taken up
            # again at the next start.
            log.error(
                "job %d: the database refused a write (%s); it resumes at the next start",
                job_id,
                exc,
            )
        except Exception as exc:
            log.exception("job %d: internal error", job_id)
            await self._end(job_id, JobState.FAILED, f"internal error: {exc!r}")

    async def _analyse(self, job: Job, source: Path) -> Job:
        """Analyse (unless a stop came after the analysis was saved); hand the original to the
        bureau as soon as its route is known."""
        async with self._journal.change() as change:
            await change.move(job.id, JobState.QUEUED, JobState.ANALYSING)
            await change.log(job.id, "analysing")
        note = self._warning_for(job.id)
        found = await steps.analyse(self._ctx, source, note) if job.analysis is None else None
        analysis = found.analysis if found else job.analysis
        assert analysis is not None
        sha256 = found.sha256 if found else job.sha256
        first = None
        async with self._journal.change() as change:
            if found:
                await change.store.jobs.record_analysis(
                    job.id, analysis, size=found.size, sha256=found.sha256
                )
                if job.imported:
                    await change.store.jobs.dated(job.id, found.mtime)
                for warning in analysis.warnings:
                    await change.log(job.id, warning, "warning")
            if analysis.error is None:
                # In this transaction: of two copies of one file, the second sees the first.
                first = await self._delivered_before(change, job.id, sha256)
            if analysis.error is None and first is None:
                await change.log(job.id, steps.summary(analysis))
                await change.move(job.id, JobState.ANALYSING, JobState.DELIVERING)
                await self._plan(change, job, analysis, None)
        if analysis.rejected:
            raise RejectedFile(analysis.error)
        if analysis.error:
            raise AnalysisFailed(analysis.error)
        if first is not None:
            raise Duplicate(
                f"the same file (sha256 {sha256}) as job {first}, which was delivered: not "
                "sent again (delivery.duplicates is 'skip'; set 'deliver' to send such files "
                "again)"
            )
        return await self._store.jobs.get(job.id)

    def _warning_for(self, job_id: int) -> Note:
        async def warn(message: str) -> None:
            await self._journal.log(job_id, message, "warning")

        return warn

    async def _delivered_before(
        self, change: Change, job_id: int, sha256: str | None
    ) -> int | None:
        if sha256 is None or self._settings.delivery.duplicates != "skip":
            return None
        first = await change.store.jobs.first_delivered(sha256, other_than=job_id)
        if first is not None:
            await change.store.jobs.duplicate_of(job_id, first)
        return first

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
        plans = self._plans(job, analysis, artefacts)
        existing = {d.kind: d.state for d in await change.store.deliveries.of_job(job.id)}
        new = set(still_to_send([plan.kind for plan in plans], existing))
        for plan in plans:
            if plan.kind in new:
                await change.store.deliveries.add(
                    job.id, plan.kind, plan.shown_target, plan.remote_name
                )
        if new:
            change.touched(job.id)
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

    async def plan_for(self, delivery: Delivery) -> steps.Plan:
        """Where a delivery goes, from the config as it is now (no password is stored)."""
        job = await self._store.jobs.get(delivery.job_id)
        if job.analysis is None:
            raise AsyncPdfError(f"job {job.id} has no analysis to deliver by")
        for plan in self._plans(job, job.analysis, job.artefacts):
            if plan.kind == delivery.kind:
                return plan
        raise AsyncPdfError(
            f"{delivery.kind} is no longer a target of this job (changed in the config?)"
        )

    async def settle(self, job_id: int) -> None:
        """End a delivering job once its previews are made and every delivery has settled."""
        async with self._ending:
            job = await self._store.jobs.get(job_id)
            if job.state is not JobState.DELIVERING:
                return
            deliveries = await self._store.deliveries.of_job(job_id)
            outcome = job_outcome([d.state for d in deliveries], job.artefacts is not None)
            if outcome is None:
                return
            state, _ = outcome
            reason = "; ".join(
                f"{d.kind}: {d.error}" for d in deliveries if d.state is DeliveryState.FAILED
            )
            await self._end_locked(job, state, reason or None)

    async def _end(self, job_id: int, state: JobState, reason: str) -> None:
        async with self._ending:
            job = await self._store.jobs.header(job_id)
            if not job.state.terminal:
                await self._end_locked(job, state, reason)

    async def _end_locked(self, job: JobHeader, state: JobState, reason: str | None) -> None:
        # The store says where the file belongs; the move after it is redone at start-up if
        # the process dies in between.
        async with self._journal.change() as change:
            await change.move(job.id, job.state, state, error=reason)
            if job.state is JobState.DELIVERING:
                await self._notify(change, job.id)
            await self._call_back(change, job.id)
        self._metrics.finished.labels(state=state.value).inc()
        ended = replace(job, state=state, error=reason or job.error)
        try:
            kept = await self._spool.release(ended, reason)
            await record_kept(self._store, job.id, kept)
        except OSError as exc:
            # The job has ended all the same; the file waits in the spool and the move is
            # tried again at the next start.
            held = self._spool.path(job.id, job.name)
            await self._journal.log(
                job.id, f"could not move the file out of the spool ({exc}); it stays as {held}"
            )
            kept = None
        if state is JobState.DONE:
            await self._journal.log(job.id, "done")
        else:
            where = f"; file kept as {kept}" if kept else ""
            level = "warning" if state is JobState.DUPLICATE else "error"
            await self._journal.log(job.id, f"{state.value}: {reason}{where}", level)

    async def _notify(self, change: Change, job_id: int) -> None:
        """The job's notices into the outbox, in the transaction that ends the job: only the
        admins hear of an imported job or one for a bureau that is not to be notified."""
        job = await change.store.jobs.get(job_id)
        bureau = self._settings.bureau(job.analysis.bureau or "") if job.analysis else None
        quiet = job.imported or (bureau is not None and not bureau.notify)
        found = recipients(self._settings.notify, admins_only=quiet)
        if found:
            await change.store.outbox.add(job_id, [(r.channel, r.address) for r in found])
            change.after_commit(self._wake_notices)

    async def _call_back(self, change: Change, job_id: int) -> None:
        """The API caller that asked for it hears of the job's end, whatever it is."""
        url = await change.store.jobs.callback_url(job_id)
        if url is not None:
            await change.store.outbox.add(job_id, [(CALLBACK, url)])
            change.after_commit(self._wake_notices)

    async def _work(self) -> None:
        while not self._stopping:
            job_id = await self.queue.get()
            self._busy.add(job_id)
            try:
                await self._process(job_id)
            except Exception:
                # Even ending the job failed (the database or the disk is failing): say so
                # and take the next job; the job resumes at the next start.
                log.exception("job %d: could not be ended", job_id)
            finally:
                self._busy.discard(job_id)
                self.queue.task_done()

    def start(self) -> None:
        self._tasks = [self._start_task(n) for n in range(self._settings.pool.jobs)]

    def _start_task(self, number: int) -> asyncio.Task[None]:
        task = asyncio.create_task(self._work(), name=f"job-task-{number}")
        task.add_done_callback(lambda done: self._restart(number, done))
        return task

    def _restart(self, number: int, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        log.error("job task %d ended (%r); starting it again", number, task.exception())
        self._tasks[number] = self._start_task(number)

    def health(self) -> Health:
        dead = sum(task.done() for task in self._tasks)
        detail = (
            f"{len(self._tasks) - dead} job tasks, {len(self._busy)} busy, "
            f"{self.queue.qsize()} queued"
        )
        return Health(dead == 0 and bool(self._tasks), detail)

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
