"""The one finisher of a job: whoever settles its last delivery or makes its previews last (the
scheduler, the previews lane) or finds that it cannot go on (the analysis lane, a claim) ends
it here. One at a time: ending reads the deliveries, then writes the end, the notices into the
outbox in the same transaction, then moves the file out of the spool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from asyncpdf.config import Settings
from asyncpdf.domain.lifecycle import DeliveryState, JobState, job_outcome
from asyncpdf.domain.records import JobHeader
from asyncpdf.intake.retention import record_kept
from asyncpdf.intake.spool import Spool
from asyncpdf.journal import Change, Journal
from asyncpdf.metrics import Metrics
from asyncpdf.notify import CALLBACK, recipients
from asyncpdf.store import Store


class Finisher:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        journal: Journal,
        spool: Spool,
        metrics: Metrics,
        *,
        wake_notices: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._store = store
        self._journal = journal
        self._spool = spool
        self._metrics = metrics
        self._wake_notices = wake_notices
        # Ending a job reads its deliveries, then writes: one at a time.
        self._ending = asyncio.Lock()

    async def settle(self, job_id: int) -> None:
        """End a delivering job once its previews are made and every delivery has settled;
        nothing while something is still to do."""
        # In a burst most bureau copies settle before their job's previews are made: those
        # need not queue for the lock. Whichever of the previews and the last delivery
        # commits second reads the other's commit here, so no job is left unended.
        if not await self._store.jobs.has_previews(job_id):
            return
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

    async def end(self, job_id: int, state: JobState, reason: str) -> None:
        """End a job that cannot go on (rejected, failed, a duplicate), unless it has ended."""
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
