"""The service: every long-lived part, opened in order and closed in reverse.

`Service` is an async context manager that runs without the web app (the web app only enters
it; tests and batch commands use it directly):

    lock → spool folders → store → pool → journal, runner, scheduler → recovery → watcher
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from pathlib import Path
from types import TracebackType

from asyncpdf import __version__
from asyncpdf.config import Settings
from asyncpdf.disk import DiskSpace
from asyncpdf.door import Door
from asyncpdf.errors import AsyncPdfError
from asyncpdf.events import EventBus
from asyncpdf.health import Health
from asyncpdf.instance import InstanceLock
from asyncpdf.intake.retention import Retention
from asyncpdf.intake.spool import Spool
from asyncpdf.intake.staging import remove_staging
from asyncpdf.intake.watcher import Watcher
from asyncpdf.journal import Journal
from asyncpdf.metrics import Metrics
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pipeline import steps
from asyncpdf.pipeline.actions import JobActions
from asyncpdf.pipeline.held import Held
from asyncpdf.pipeline.pool import Pool
from asyncpdf.pipeline.runner import JobRunner
from asyncpdf.sending.notices import NoticeSender
from asyncpdf.sending.plans import Plans
from asyncpdf.sending.scheduler import DeliveryScheduler
from asyncpdf.sending.targets import Targets
from asyncpdf.store import Store
from asyncpdf.supervisor import Supervisor

log = logging.getLogger("asyncpdf")
WATCHER = "watcher"


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one (a low soft limit is a shell's default,
    not a decision) and return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.debug("open-files limit stays %d: %s", soft, exc)
            return soft
        log.debug("open-files limit raised from %d to %d", soft, hard)
    return hard


class Service(Door):
    """Every part, opened in order and closed in reverse; `web/`, `backfill/` and `cli.py`
    use its named queries and commands (`door.py`), not its parts."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None = None,
        analyse: steps.Analyse = analyze_file,
        artefacts: steps.MakeArtefacts = make_artefacts,
        watch: bool = True,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.bus = EventBus()
        self.metrics = Metrics()
        self._analyse = analyse
        self._artefacts = artefacts
        self._watch = watch
        paths = settings.paths
        self.disk = DiskSpace(
            {"spool": paths.spool, "database": paths.database.parent},
            settings.disk.min_free_mb,
        )
        self._stack = contextlib.AsyncExitStack()
        self.store: Store
        self.pool: Pool
        self.spool: Spool
        self.runner: JobRunner
        self.scheduler: DeliveryScheduler
        self.watcher: Watcher | None = None
        #: Runs every background loop: job tasks, watcher, deliveries, notices, retention.
        self.supervisor = Supervisor()
        #: Work the database refused to write, done again once it takes writes.
        self.held = Held()
        #: When the service was made (wall clock), for the uptime in /api/status.
        self.started_at = time.time()

    async def __aenter__(self) -> Service:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        left = self.runner.queue.qsize() if hasattr(self, "runner") else 0
        await self._stack.aclose()
        log.info("asyncpdf stopped (%d queued jobs will resume at the next start)", left)

    async def _open(self) -> None:
        settings = self.settings
        raise_open_files_limit()
        lock = InstanceLock(settings.paths.database)
        await asyncio.to_thread(lock.acquire)
        self._stack.callback(lock.release)
        self.spool = Spool(settings.paths)
        await asyncio.to_thread(self.spool.prepare)
        self.store = await Store.open(settings.paths.database)
        self._stack.push_async_callback(self.store.close)
        # A new or restored database must not give ids that kept files and folders still use.
        highest = await asyncio.to_thread(self.spool.highest_job_id)
        async with self.store.transaction():
            await self.store.jobs.continue_after(highest)
        pool = settings.pool
        self.pool = Pool(
            pool.workers,
            pool.job_timeout_s,
            pool.worker_memory_mb,
            # As many for analyses (short calls) as for previews: while a burst is analysed
            # the previews wait, and the analyses have every core.
            short_workers=pool.workers,
        )
        self._stack.push_async_callback(asyncio.to_thread, self.pool.close)
        ctx = steps.Context(
            settings,
            settings.rules(),
            self.pool,
            self.metrics,
            analyse_file=self._analyse,
            make_artefacts=self._artefacts,
        )
        self.bus.start_at(await self.store.events.last())
        journal = Journal(self.store, self.bus, self.metrics)
        self.scheduler = DeliveryScheduler(
            ctx,
            self.store,
            journal,
            Plans(settings, self.store, self.spool).of,
            self._settled,
            Targets(self.metrics),
            self.held,
        )
        self.notices = NoticeSender(settings.notify, self.store, journal)
        self.runner = JobRunner(
            ctx,
            self.store,
            journal,
            self.spool,
            self.metrics,
            self.scheduler.wake,
            self.notices.wake,
            self.held,
            self.scheduler.bureau_busy,
            self.scheduler.start_now,
        )
        self.claims = self.runner.claims
        self.actions = JobActions(
            self.store,
            journal,
            self.spool,
            self.runner,
            settings.paths.previews,
            self.scheduler.wake,
        )
        removed = await asyncio.to_thread(remove_staging, settings.paths.spool)
        if removed:
            log.info(
                "removed %d staging folder(s) left by a stop (nothing in them was claimed)", removed
            )
        resumed = await self.runner.recover()
        self.retention = Retention(
            settings.retention.done_days, self.store, journal, self.spool, settings.paths.done
        )
        # Last out: whatever loop is left when the parts have stopped theirs.
        self._stack.push_async_callback(self.supervisor.stop)
        self.supervisor.start("held", self.held.run)
        self.retention.start(self.supervisor)
        self._stack.push_async_callback(self.retention.stop)
        # After recovery: notices cut off by the last stop are pending again by then.
        self.notices.start(self.supervisor)
        self._stack.push_async_callback(self.notices.stop)
        self.runner.start(self.supervisor)
        self._stack.push_async_callback(self.runner.stop)
        self.scheduler.start(self.supervisor)
        self._stack.push_async_callback(self.scheduler.stop)
        if self._watch:
            await self._start_watcher()
        log.info(
            "asyncpdf %s started: config %s, hotfolder %s, presses %s, bureaus %s, "
            "%d unfinished job(s) resumed",
            __version__,
            self.config_path or "(defaults)",
            settings.paths.hotfolder,
            ", ".join(p.name for p in settings.presses) or "none",
            ", ".join(b.name for b in settings.bureaus) or "none",
            resumed,
        )

    async def _start_watcher(self) -> None:
        watch = self.settings.watch
        watcher = Watcher(
            self.settings.paths.hotfolder,
            self.claims.claim_all,
            settle_s=watch.settle_s,
            poll_s=watch.poll_s,
            ignore=watch.patterns,
            recursive=watch.recursive,
            hold=self._too_full,
        )
        watcher.open()
        self.watcher = watcher

        async def reopen() -> None:
            # The hotfolder may have been moved or deleted: made again where the config says.
            watcher.close()
            await asyncio.to_thread(self.spool.prepare)
            watcher.open()

        self.supervisor.start(WATCHER, watcher.run, reset=reopen)

        async def stop() -> None:
            await self.supervisor.stop(WATCHER)
            watcher.close()

        self._stack.push_async_callback(stop)

    async def _too_full(self) -> str | None:
        return await self.disk.too_low()

    async def _settled(self, job_id: int) -> None:
        await self.runner.settle(job_id)

    def _watcher_health(self) -> Health:
        if self.watcher is None:
            return Health(True, "not watching (batch mode)")
        folder = self.settings.paths.hotfolder
        running = self.supervisor.health_of(WATCHER)
        if not self.watcher.alive or not running.ok:
            return Health(False, f"not watching {folder}: {running.detail}")
        failed = self.watcher.failed_claims
        if failed:
            name, error = next(iter(failed.items()))
            return Health(
                False, f"{len(failed)} file(s) could not be claimed, e.g. {name!r}: {error}"
            )
        restarts = self.supervisor.restarts(WATCHER)
        again = f" (started again {restarts} time(s))" if restarts else ""
        return Health(True, f"watching {folder}{again}")

    async def health(self) -> dict[str, Health]:
        """Each part's own word on itself; none of it waits behind a job."""
        try:
            await self.store.ping()
            database = self.held.health() or Health(True, str(self.settings.paths.database))
        except Exception as exc:
            database = Health(False, str(exc) if isinstance(exc, AsyncPdfError) else repr(exc))
        try:
            await asyncio.to_thread(self.spool.check_writable)
            spool = Health(True, str(self.settings.paths.spool))
        except OSError as exc:
            spool = Health(False, f"cannot write {self.settings.paths.spool}: {exc.strerror}")
        return {
            "database": database,
            "spool": spool,
            "watcher": self._watcher_health(),
            "pool": self.pool.health(),
            "jobs": self.runner.health(),
            "deliveries": self.scheduler.health(),
            "notices": self.notices.health(),
            "loops": self.supervisor.health(),
            "disk": await self.disk.health(),
        }
