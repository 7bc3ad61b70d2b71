"""What an operator (or a script) asks of a job through the API: retry its failed deliveries,
run it again after a config fix, delete its record, or make a new one from an upload.

None of these ever removes an original file: a retry brings it back into the spool, a rerun
and an upload are copies claimed as a dropped file is, and a deleted record's file stays
where it was kept.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from asyncpdf.domain.records import Job
from asyncpdf.errors import AsyncPdfError, Conflict
from asyncpdf.intake.claims import Origin
from asyncpdf.intake.retention import record_kept
from asyncpdf.intake.spool import Spool
from asyncpdf.intake.staging import copy_to_staging, new_staging, remove_staging
from asyncpdf.journal import Journal
from asyncpdf.pipeline.runner import JobRunner
from asyncpdf.store import Store

log = logging.getLogger(__name__)
RETRIED = frozenset({JobState.DONE, JobState.FAILED})


class JobActions:
    def __init__(
        self,
        store: Store,
        journal: Journal,
        spool: Spool,
        runner: JobRunner,
        previews: Path,
        wake_deliveries: Callable[[], None],
    ) -> None:
        self._store = store
        self._journal = journal
        self._spool = spool
        self._runner = runner
        self._previews = previews
        self._wake_deliveries = wake_deliveries
        # One action at a time: each reads the job, then changes it.
        self._lock = asyncio.Lock()

    async def retry(self, job_id: int, who: str | None = None) -> list[str]:
        """Send the job's failed deliveries again: the job goes back to delivering, its file
        back into the spool, and it ends again (and is notified again) when they settle.
        Return the kinds retried."""
        async with self._lock:
            job = await self._store.jobs.get(job_id)
            failed = [
                d
                for d in await self._store.deliveries.of_job(job_id)
                if d.state is DeliveryState.FAILED
            ]
            if job.state not in RETRIED or not failed:
                raise Conflict(
                    f"job {job_id} has no failed delivery to retry (it is {job.state.value})"
                )
            try:
                await self._spool.restore(job)
            except OSError as exc:
                raise Conflict(f"job {job_id} cannot be retried: {exc}") from None
            try:
                async with self._journal.change() as change:
                    await change.store.jobs.reopen(job_id, job.state)
                    for delivery in failed:
                        await change.store.deliveries.retry(delivery)
                    kinds = ", ".join(d.kind for d in failed)
                    await change.log(job_id, f"retrying on request{_of(who)}: {kinds}")
                    change.touched(job_id)
                    change.after_commit(self._wake_deliveries)
            except BaseException:
                await record_kept(self._store, job_id, await self._spool.release(job))
                raise
        return [d.kind for d in failed]

    async def rerun(self, job_id: int, who: str | None = None) -> int:
        """A new job from a copy of the finished job's kept file, analysed and delivered by
        the config as it is now, linked to this one; return its id."""
        job = await self._finished(job_id, "run again")
        kept = await asyncio.to_thread(self._spool.kept_path, job)
        if kept is None:
            raise Conflict(f"job {job_id} cannot be run again: its file is no longer kept")
        # Under the job's own name: the kept copy's " (job N)" can hide the bureau tag.
        try:
            new = await self.claim_copy(kept, Origin(rerun_of=job_id), name=job.file_name)
        except OSError as exc:
            # A link or FIFO kept as it came (rejected): there is no file to run again.
            raise Conflict(
                f"job {job_id} cannot be run again: its kept file cannot be copied "
                f"({exc.strerror or exc}); only a plain file can"
            ) from None
        await self._journal.log(job_id, f"run again as job {new}{_of(who, 'on request')}")
        return new

    async def claim_copy(self, source: Path, origin: Origin, name: str | None = None) -> int:
        """Claim a copy of `source` (left as it is), named `name` (by default its own), through
        a staging folder."""
        staging = new_staging(self._spool.folder)
        try:
            staged, _ = await asyncio.to_thread(copy_to_staging, source, staging, name)
            return await self.claim_staged(staged, origin)
        finally:
            await asyncio.to_thread(remove_staging, self._spool.folder, staging)

    async def claim_staged(self, staged: Path, origin: Origin) -> int:
        job_id = await self._runner.claims.claim(staged, origin=origin)
        if job_id is None:
            raise AsyncPdfError(f"{staged.name} went away from the spool before it was claimed")
        return job_id

    async def delete(self, job_id: int, who: str | None = None) -> Path | None:
        """Delete the finished job's record and previews; its file stays where it was kept.
        Return where that is, if it is still there."""
        async with self._lock:
            job = await self._finished(job_id, "deleted")
            kept = await asyncio.to_thread(self._spool.kept_path, job)
            async with self._journal.change() as change:
                await change.delete(job_id)
            await asyncio.to_thread(self._remove_previews, job)
        log.info(
            "job %d: record deleted%s; its file stays as %s", job_id, _of(who), kept or "(gone)"
        )
        return kept

    async def _finished(self, job_id: int, what: str) -> Job:
        job = await self._store.jobs.get(job_id)
        if not job.state.terminal:
            raise Conflict(
                f"job {job_id} is {job.state.value}: it can be {what} once it has finished"
            )
        return job

    def _remove_previews(self, job: Job) -> None:
        # Where steps.make_previews makes them; a path from the record could be edited.
        folder = self._previews / str(job.id)
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _of(who: str | None, before: str = "") -> str:
    """ " of alice" (after `before`, e.g. " on request of alice"), or "" when nobody is named."""
    if who is None:
        return ""
    return f"{' ' + before if before else ''} of {who}"
