"""The one door of the service for `web/`, `backfill/` and `cli.py`: named queries and
commands of `Service` (`service.job(id)`, `service.retry(id, who)`, `service.status()`), so
none of them reaches into its parts (store, runner, scheduler, spool, pool). What they share
as it is, not as a part: `settings`, `metrics`, `bus` (the live log's events)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncpdf import __version__
from asyncpdf.domain.lifecycle import UNFINISHED, JobState
from asyncpdf.domain.records import Delivery, Job, JobHeader, JobRow, LogLine, Notification
from asyncpdf.pdf.analysis import shown_path
from asyncpdf.times import iso

if TYPE_CHECKING:
    from asyncpdf.config import Settings
    from asyncpdf.disk import DiskSpace
    from asyncpdf.events import Event
    from asyncpdf.intake.claims import Claims, Origin
    from asyncpdf.intake.spool import Spool
    from asyncpdf.intake.watcher import Watcher
    from asyncpdf.metrics import Metrics
    from asyncpdf.pipeline.actions import JobActions
    from asyncpdf.pipeline.pool import Pool
    from asyncpdf.pipeline.runner import JobRunner
    from asyncpdf.sending.scheduler import DeliveryScheduler
    from asyncpdf.store import Store
    from asyncpdf.store.history import HistoryFilter, PlateCount
    from asyncpdf.store.reports import MonthlyInk, MonthlyPlates

#: Jobs that wait for a job task (what /api/status counts as waiting).
WAITING = (JobState.RECEIVED, JobState.QUEUED)


@dataclass(frozen=True)
class JobDetail:
    """A job and everything recorded of it, for its page and the API."""

    job: Job
    deliveries: list[Delivery]
    notifications: list[Notification]
    log: list[LogLine]
    rerun_by: list[int]


class Door:
    """The queries and commands `Service` answers; its parts are its own."""

    settings: Settings
    metrics: Metrics
    started_at: float
    store: Store
    runner: JobRunner
    claims: Claims
    actions: JobActions
    scheduler: DeliveryScheduler
    spool: Spool
    pool: Pool
    disk: DiskSpace
    watcher: Watcher | None

    # --- queries ---------------------------------------------------------------------------

    async def job(self, job_id: int) -> Job:
        return await self.store.jobs.get(job_id)

    async def job_header(self, job_id: int) -> JobHeader:
        return await self.store.jobs.header(job_id)

    async def unfinished_jobs(self) -> list[JobHeader]:
        return await self.store.jobs.in_states(UNFINISHED)

    async def first_delivered(self, sha256: str) -> int | None:
        """The first job whose file has this checksum and went, or is going, to its bureau."""
        # In a transaction: the lookup must not see another task's half-written change.
        async with self.store.transaction():
            return await self.store.jobs.first_delivered(sha256)

    def held_file(self, job: JobHeader) -> Path:
        """Where an unfinished job's file is in the spool."""
        return self.spool.path(job.id, job.name)

    async def job_detail(self, job_id: int) -> JobDetail:
        job = await self.store.jobs.get(job_id)
        return JobDetail(
            job,
            await self.store.deliveries.of_job(job.id),
            await self.store.outbox.of_job(job.id),
            await self.store.log.of_job(job.id),
            await self.store.jobs.reruns_of(job.id),
        )

    async def history(
        self, where: HistoryFilter, *, limit: int, offset: int = 0
    ) -> tuple[list[JobRow], int]:
        """A page of the history grid and how many rows match in all."""
        return await self.store.history.rows(where, limit=limit, offset=offset)

    async def plate_counts(self, where: HistoryFilter) -> list[PlateCount]:
        return await self.store.history.plates(where)

    async def plates_of(self, job_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
        """Each job's plates per press."""
        return await self.store.history.plates_of(job_ids)

    async def recent_log(self, limit: int) -> list[LogLine]:
        return await self.store.log.recent(limit)

    async def events_after(self, seq: int, limit: int) -> list[Event]:
        """Live-log events kept in the database after `seq`, oldest first."""
        return await self.store.events.after(seq, limit)

    async def report_rows(self, year: int) -> list[MonthlyPlates]:
        return await self.store.reports.plates(year)

    async def report_inks(self, year: int) -> list[MonthlyInk]:
        return await self.store.reports.ink_use(year)

    async def report_years(self) -> list[int]:
        return await self.store.reports.years()

    def target_records(self) -> dict[str, dict[str, object]]:
        """Each delivery target's record (sent, failing, backed off), as /readyz shows it."""
        return self.scheduler.target_records()

    async def import_mode(self) -> bool:
        return await self.claims.import_mode()

    async def kept_file(self, job: Job) -> Path | None:
        """Where the job's original is now (spool, done/ or error/), or None."""
        return await asyncio.to_thread(self.spool.kept_path, job)

    async def too_full(self) -> str | None:
        """Why new files must wait (the disk is nearly full), or None."""
        return await self.disk.too_low()

    async def status(self) -> dict[str, Any]:
        """What the service is doing: jobs per state, the queue, the targets, and what the
        hotfolder holds that is not being worked on, and why (JSON-ready)."""
        watcher = self.watcher
        not_taken = watcher.not_taken if watcher else {}
        failed = watcher.failed_claims if watcher else {}
        now = time.time()
        counts = await self.store.jobs.count_by_state()
        waiting = await self.store.jobs.in_states(WAITING)
        oldest = min((job.created_at for job in waiting), default=None)
        return {
            "version": __version__,
            "uptime_s": round(now - self.started_at, 3),
            "jobs": {state.value: count for state, count in counts.items()},
            "queue_depth": self.runner.queue.qsize(),
            "oldest_waiting_s": round(max(now - oldest, 0.0), 3) if oldest is not None else None,
            "counters": await self.store.history.counters(date.today()),
            "import_mode": await self.claims.import_mode(),
            "targets": self.target_records(),
            "watcher_last_event": iso(watcher.last_event_at if watcher else None),
            "hotfolder": str(self.settings.paths.hotfolder),
            "disk": {found.part: found.as_json() for found in await self.disk.free()},
            # Asked now, as the watcher asks at each poll: no lag behind /readyz.
            "holding": await self.too_full() if watcher else None,
            "not_taken": [
                {"name": shown_path(name), "reason": reason}
                for name, reason in sorted(not_taken.items())
            ],
            "failed_claims": [
                {"name": shown_path(name), "error": error} for name, error in sorted(failed.items())
            ],
        }

    async def refresh_metrics(self) -> None:
        """The gauges /metrics shows, read now."""
        self.metrics.set_job_counts(await self.store.jobs.count_by_state())
        self.metrics.set_delivery_counts(await self.store.deliveries.count_by_state())
        self.metrics.queue_depth.set(self.runner.queue.qsize())
        self.metrics.count_pool_replacements(self.pool.replacements)

    # --- commands --------------------------------------------------------------------------

    async def set_import_mode(self, on: bool) -> None:
        await self.claims.set_import_mode(on)

    async def retry(self, job_id: int, who: str | None = None) -> list[str]:
        """Send the job's failed deliveries again; return the kinds retried."""
        return await self.actions.retry(job_id, who)

    async def rerun(self, job_id: int, who: str | None = None) -> int:
        """A new job from the finished job's kept file; return its id."""
        return await self.actions.rerun(job_id, who)

    async def delete(self, job_id: int, who: str | None = None) -> Path | None:
        """Delete the finished job's record and previews; return where its file is kept."""
        return await self.actions.delete(job_id, who)

    async def claim(self, path: Path, *, imported: bool | None = None) -> int | None:
        """Claim a file into the spool as a new job (in import mode when `imported`); return
        its id, or None when the file went away first."""
        return await self.claims.claim(path, imported=imported)

    async def claim_staged(self, staged: Path, origin: Origin) -> int:
        """Claim a file copied into a staging folder (an upload); return its job's id."""
        return await self.actions.claim_staged(staged, origin)

    def staging_folder(self) -> Path:
        """Where staging folders are made (the spool)."""
        return self.spool.folder
