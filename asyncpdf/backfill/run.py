"""The import itself: the service without web server or watcher, each file admitted by its
checksum, staged, claimed in import mode and followed to its end; signals stop it in order."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from asyncpdf.backfill.files import Found, check_folder, scan
from asyncpdf.backfill.report import (
    FAILED,
    SKIPPED,
    Outcome,
    Progress,
    Report,
    quiet_logs,
)
from asyncpdf.config import Settings
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.errors import EXIT_FAILED, EXIT_OK, AlreadyRunning, CannotStart
from asyncpdf.intake.staging import copy_to_staging, new_staging, remove_staging
from asyncpdf.pdf.checksum import file_sha256
from asyncpdf.service import Service
from asyncpdf.uninterrupted import uninterrupted

log = logging.getLogger("asyncpdf.import")
POLL_S = 0.2


class Importer:
    def __init__(self, service: Service, report: Report, progress: Progress) -> None:
        self._service = service
        self._spool = service.settings.paths.spool
        self._report = report
        self._progress = progress
        #: Checksum → the first file of this run that has it.
        self._seen: dict[str, Path] = {}
        #: Checksum → unfinished job (resumed at this start) whose file had no checksum yet.
        self._resumed: dict[str, int] = {}

    async def run(self, files: Sequence[Path]) -> None:
        await self._index_resumed()
        self._show()
        # Claimed in path order, at most `pool.jobs` files under way: the job tasks' number.
        slots = asyncio.Semaphore(self._service.settings.pool.jobs)
        async with asyncio.TaskGroup() as group:
            for path in files:
                await slots.acquire()
                try:
                    job_id = await self._admit(path)
                except BaseException:
                    slots.release()
                    raise
                if job_id is None:
                    slots.release()
                else:
                    group.create_task(self._follow(path, job_id, slots))

    async def _index_resumed(self) -> None:
        """Jobs an interrupted run claimed and this start resumed have no checksum until their
        analysis: read it from their spool file, so their files are not imported twice."""
        for job in await self._service.unfinished_jobs():
            if job.sha256 is not None:
                continue
            held = self._service.held_file(job)
            try:
                self._resumed.setdefault(await asyncio.to_thread(file_sha256, held), job.id)
            except OSError:
                continue  # ended meanwhile: its checksum is in the store, if it has one

    async def _known(self, sha256: str) -> JobHeader | None:
        first = await self._service.first_delivered(sha256)
        if first is None:
            first = self._resumed.get(sha256)
        return None if first is None else await self._service.job_header(first)

    async def _admit(self, path: Path) -> int | None:
        """The job that takes `path`: a new one, or one resumed from an interrupted run; None
        when the file is not to be imported (recorded as skipped or failed)."""
        try:
            sha256 = await asyncio.to_thread(file_sha256, path)
        except OSError as exc:
            self._add(Outcome(path, FAILED, f"cannot read it: {exc.strerror or exc}"))
            return None
        earlier = self._seen.setdefault(sha256, path)
        if earlier != path:
            shown = self._report.shown(earlier)
            self._add(Outcome(path, SKIPPED, f"the same file as {shown}, earlier in this run"))
            return None
        job = await self._known(sha256)
        if job is not None and job.imported and not job.state.terminal:
            return job.id  # claimed by the interrupted run: follow it to its end
        if job is not None:
            state = "" if job.state is JobState.DONE else f" ({job.state.value})"
            self._add(Outcome(path, SKIPPED, f"already job {job.id}{state}"))
            return None
        return await uninterrupted(self._claim(path, sha256))

    async def _claim(self, path: Path, sha256: str) -> int | None:
        staging = new_staging(self._spool)
        try:
            staged, copied = await asyncio.to_thread(copy_to_staging, path, staging)
        except OSError as exc:
            await asyncio.to_thread(remove_staging, self._spool, staging)
            self._add(Outcome(path, FAILED, f"cannot copy it into the spool: {exc}"))
            return None
        if copied != sha256:
            await asyncio.to_thread(remove_staging, self._spool, staging)
            self._add(Outcome(path, FAILED, "it changed while being read; import it again"))
            return None
        try:
            job_id = await self._service.claim(staged, imported=True)
        except Exception as exc:
            log.exception("%s: could not be claimed", path)
            self._add(Outcome(path, FAILED, f"could not be claimed: {exc}"))
            job_id = None
        # Claimed, the folder is gone already (the claim removes it); otherwise the copy in
        # it is not wanted.
        await asyncio.to_thread(remove_staging, self._spool, staging)
        return job_id

    async def _follow(self, path: Path, job_id: int, slots: asyncio.Semaphore) -> None:
        try:
            while not (job := await self._service.job_header(job_id)).state.terminal:
                await asyncio.sleep(POLL_S)
            self._add(Outcome(path, job.state.value, job.error, job.id))
        finally:
            slots.release()

    def _add(self, outcome: Outcome) -> None:
        self._report.add(outcome)
        self._show()

    def _show(self) -> None:
        self._progress.update(self._report.finished, self._report.counted())


class _Signals:
    """SIGINT and SIGTERM cancel the task that imports, once, while `armed`: it stops
    claiming, the service closes in order, and the summary says what is left."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self.armed = True
        self.caught: signal.Signals | None = None

    def __enter__(self) -> _Signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)

    def _on_signal(self, signum: signal.Signals) -> None:
        if self.caught is None and self.armed:
            self.caught = signum
            log.warning("%s: stopping; jobs under way get a few seconds", signum.name)
            self._task.cancel()
        else:
            log.warning("%s: already stopping", signum.name)


async def import_folder(
    settings: Settings,
    folder: Path,
    *,
    config_path: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import every plain PDF under `folder`; the progress goes to `err`, the summary to `out`.
    Return 0 when none failed, 1 when some failed or were rejected, 128 + the signal's number
    when interrupted; raise NotAFolder (exit code 2) or CannotStart (3)."""
    out = out or sys.stdout
    err = err or sys.stderr
    own = (settings.paths.spool, settings.paths.previews)
    await asyncio.to_thread(check_folder, folder, own)
    task = asyncio.current_task()
    assert task is not None
    report: Report | None = None
    with _Signals(task) as signals:
        try:
            found = await asyncio.to_thread(scan, folder, own)
            report = Report(folder, found)
            progress = Progress(found.total, err)
            with quiet_logs(progress):
                service = Service(settings, config_path=config_path, watch=False)
                await _import(service, found, report, progress, signals)
            progress.finish()
        except asyncio.CancelledError:
            if signals.caught is None:
                raise
            task.uncancel()
    caught = signals.caught
    if report is not None:
        print("\n".join(report.summary(caught.name if caught else None)), file=out)
    if caught is not None:
        return 128 + caught.value
    assert report is not None
    return EXIT_FAILED if report.failed else EXIT_OK


async def _import(
    service: Service, found: Found, report: Report, progress: Progress, signals: _Signals
) -> None:
    try:
        async with service:
            try:
                await Importer(service, report, progress).run(found.files)
            finally:
                # Closing the service must not be cut short by a late Ctrl-C.
                signals.armed = False
                progress.clear()
    except AlreadyRunning as exc:
        raise CannotStart(
            f"{exc}: the import needs the data folder to itself. Stop the service and run the "
            "import again, or leave the service running and let it import: switch import mode "
            'on (PUT /api/import-mode with {"import_mode": true}), drop the files into the '
            "hotfolder, and switch it off again afterwards"
        ) from None
