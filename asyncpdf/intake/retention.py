"""Retention: the originals of jobs that ended in done/ (delivered, imported, or duplicates of
delivered ones) are removed once older than `retention.done_days`; nothing in error/ ever is.
Each removal is said in the job's log and recorded on the job, so its page says why the
original is gone. Off (0 days) by default: nothing is removed."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.intake.spool import Spool
from asyncpdf.journal import Journal
from asyncpdf.store import Store
from asyncpdf.supervisor import Supervisor

log = logging.getLogger(__name__)
LOOP = "retention"
EVERY_S = 3600.0
#: Jobs looked at per pass; the next pass takes the rest.
BATCH = 500
KEPT_IN_DONE = (JobState.DONE, JobState.DUPLICATE)
DAY_S = 86400.0


class Retention:
    def __init__(
        self, done_days: int, store: Store, journal: Journal, spool: Spool, done: Path
    ) -> None:
        self._days = done_days
        self._store = store
        self._journal = journal
        self._spool = spool
        self._done = done
        self._supervisor: Supervisor | None = None

    def start(self, supervisor: Supervisor) -> None:
        if self._days > 0:
            self._supervisor = supervisor
            supervisor.start(LOOP, self._run)

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop(LOOP)

    async def _run(self) -> None:
        while True:
            try:
                while await self.pass_once() == BATCH:
                    pass
            except Exception:
                log.exception("retention: a pass failed; trying again in %g s", EVERY_S)
            await asyncio.sleep(EVERY_S)

    async def pass_once(self, now: float | None = None) -> int:
        """Remove the originals due; return how many jobs were looked at."""
        before = (now or time.time()) - self._days * DAY_S
        jobs = await self._store.jobs.kept_before(KEPT_IN_DONE, before, BATCH)
        for job in jobs:
            await self._remove(job)
        return len(jobs)

    async def _remove(self, job: JobHeader) -> None:
        kept = await asyncio.to_thread(self._remove_kept, job)
        if kept is None:
            message = "the original was no longer in done/ when retention came to remove it"
        else:
            message = (
                f"original {kept.name!r} removed from done/ by retention "
                f"(retention.done_days is {self._days})"
            )
        async with self._journal.change() as change:
            await change.store.jobs.original_removed(job.id)
            await change.log(job.id, message)
            change.touched(job.id)

    def _remove_kept(self, job: JobHeader) -> Path | None:
        kept = self._spool.kept_path(job)
        # Only what was kept in done/: never the spool, never error/.
        if kept is None or kept.parent != self._done:
            return None
        kept.unlink(missing_ok=True)
        return kept
