"""Retention: the originals of jobs that ended in done/ (delivered, imported, or duplicates of
delivered ones) are removed once older than `retention.done_days`; nothing in error/ ever is.
Each removal is said in the job's log and recorded on the job, so its page says why the
original is gone. Off (0 days) by default: nothing is removed.

A file is removed only when it is provably the job's: the one recorded when the job's file
was kept (path, device, inode, size, change time: `record_kept`), still there and unchanged.
Another job's file that took the name since is left alone, and said so. A job kept before
files were recorded is proved by its checksum, unless another job recorded that very file as
its own."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from pathlib import Path

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.intake.spool import Spool
from asyncpdf.journal import Journal
from asyncpdf.pdf.checksum import file_sha256
from asyncpdf.store import Store
from asyncpdf.store.jobs import KeptFile
from asyncpdf.supervisor import Supervisor

log = logging.getLogger(__name__)
LOOP = "retention"
EVERY_S = 3600.0
#: Jobs looked at per pass; the next pass takes the rest.
BATCH = 500
KEPT_IN_DONE = (JobState.DONE, JobState.DUPLICATE)
DAY_S = 86400.0


async def record_kept(store: Store, job_id: int, kept: Path | None) -> None:
    """Record which file the job's original was kept as (see the module's docstring)."""
    if kept is None:
        return
    try:
        found = await asyncio.to_thread(os.lstat, kept)
    except OSError:
        return
    async with store.transaction():
        await store.jobs.kept(job_id, KeptFile.of(kept, found))


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
        kept = await self._store.jobs.kept_file(job.id) or await self._unrecorded(job)
        if isinstance(kept, str):
            message = kept
        else:
            message = await asyncio.to_thread(self._remove_kept, kept)
        async with self._journal.change() as change:
            await change.store.jobs.original_removed(job.id)
            await change.log(job.id, message)
            change.touched(job.id)

    async def _unrecorded(self, job: JobHeader) -> KeptFile | str:
        """A job kept before files were recorded: its file where the name says, if its
        checksum is the job's and no other job has recorded that file as its own."""
        kept = await asyncio.to_thread(self._spool.kept_path, job)
        if kept is None or kept.parent != self._done:
            return GONE
        try:
            found = await asyncio.to_thread(os.lstat, kept)
            same = (
                job.sha256 is not None and await asyncio.to_thread(file_sha256, kept) == job.sha256
            )
        except OSError:
            return GONE
        candidate = KeptFile.of(kept, found)
        owner = await self._store.jobs.kept_as(candidate)
        if not same or (owner is not None and owner != job.id):
            return _not_ours(kept)
        return candidate

    def _remove_kept(self, kept: KeptFile) -> str:
        # Only what was kept in done/: never the spool, never error/.
        if kept.path.parent != self._done:
            return GONE
        try:
            found = kept.path.lstat()
        except FileNotFoundError:
            return GONE
        if not stat.S_ISREG(found.st_mode) or not kept.is_(found):
            return _not_ours(kept.path)
        kept.path.unlink()
        return (
            f"original {kept.path.name!r} removed from done/ by retention "
            f"(retention.done_days is {self._days})"
        )


GONE = "the original was no longer in done/ when retention came to remove it"


def _not_ours(path: Path) -> str:
    return (
        f"the original was no longer in done/ when retention came to remove it: "
        f"{path.name!r} there now is another file, left as it is"
    )
