"""Claims: settled files taken from the hotfolder (or a staging folder) into the spool, each
with exactly one job. A burst is claimed in batches: the renames and the jobs of a batch in one
transaction; should it fail, every file of the batch is put back where it was, to be claimed
again. Import mode (a switch kept in the database) says how the jobs are made."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncpdf.config import Settings
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.intake.spool import Claim, Settled, Spool
from asyncpdf.journal import Change, Journal
from asyncpdf.pdf.analysis import shown_name
from asyncpdf.store import Store
from asyncpdf.uninterrupted import uninterrupted

log = logging.getLogger(__name__)
IMPORT_MODE = "import_mode"
IMPORTED = (
    "import mode: analysed, previewed and recorded; nothing is uploaded and only admins are "
    "notified"
)


#: What became of a file offered for a claim: its job's id, None when it went away first, or
#: the error that left it where it was (to be tried again).
Claimed = int | Exception | None


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


class Claims:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        journal: Journal,
        spool: Spool,
        queued: Callable[[int], None],
        refused: Callable[[int, JobState, str], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._store = store
        self._journal = journal
        self._spool = spool
        #: Told of each job queued by a claim (it goes to the analysis lane).
        self._queued = queued
        #: Ends a job whose file is not a plain file.
        self._refused = refused

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
        """Take one settled file, as `claim_all` does; return its job's id, or None when the
        file went away first. The error that left it where it was is raised."""
        [claimed] = await self.claim_all([(source, settled)], imported=imported, origin=origin)
        if isinstance(claimed, Exception):
            raise claimed
        return claimed

    async def claim_all(
        self,
        found: Sequence[tuple[Path, Settled | None]],
        *,
        imported: bool | None = None,
        origin: Origin = Origin(),
    ) -> list[Claimed]:
        """Take settled files from the hotfolder: one job each, the renames into the spool and
        the jobs recorded in one transaction (if it fails, every file is put back, to be
        claimed again, and the error raised). Return what became of each file. The jobs are
        made in import mode when `imported`, or by default when the switch is on as they are
        claimed; `origin` says where a file that did not come through the hotfolder came
        from."""
        if imported is None:
            imported = await self.import_mode()
        # Renames and one transaction: cut off between the two (a stop cancelling the
        # watcher), files would sit in the spool without a job. It is let finish.
        return await uninterrupted(self._claim_all(list(found), imported, origin))

    async def _claim_all(
        self, found: list[tuple[Path, Settled | None]], imported: bool, origin: Origin
    ) -> list[Claimed]:
        claims: list[Claim] = []
        taken: list[Claim] = []
        try:
            async with self._journal.change() as change:
                names = [shown_name(source) for source, _ in found]
                job_ids = await change.store.jobs.create_all(
                    [
                        (name, source.name, self._spool.subfolder_of(source))
                        for name, (source, _) in zip(names, found, strict=True)
                    ],
                    imported=imported,
                    rerun_of=origin.rerun_of,
                    callback_url=origin.callback_url,
                )
                for job_id, name, (source, settled) in zip(job_ids, names, found, strict=True):
                    claims.append(Claim(source, job_id, name, settled))
                outcomes = await self._spool.claim_all(claims)
                for claim, outcome in zip(claims, outcomes, strict=True):
                    if isinstance(outcome, Exception):
                        await change.store.jobs.forget(claim.job_id)
                    else:
                        taken.append(claim)
                        await self._received(change, claim, outcome, imported, origin)
                queued = [c.job_id for c, o in zip(claims, outcomes, strict=True) if o is None]
                if queued:
                    await change.move_all(queued, JobState.RECEIVED, JobState.QUEUED)
        except BaseException:
            await self._spool.unclaim_all(taken)
            raise
        claimed: list[Claimed] = []
        for claim, outcome in zip(claims, outcomes, strict=True):
            if isinstance(outcome, FileNotFoundError):
                log.info("%r went away before it could be claimed", claim.source.name)
                claimed.append(None)
            elif isinstance(outcome, Exception):
                claimed.append(outcome)
            else:
                if outcome is None:
                    self._queued(claim.job_id)
                else:
                    await self._refused(claim.job_id, JobState.REJECTED, outcome)
                claimed.append(claim.job_id)
        return claimed

    async def _received(
        self, change: Change, claim: Claim, refused: str | None, imported: bool, origin: Origin
    ) -> None:
        job_id, name, source = claim.job_id, claim.name, claim.source
        subfolder = self._spool.subfolder_of(source)
        where = f" from the sub-folder “{subfolder}”" if subfolder else ""
        await change.log(job_id, f"received “{name}”{where}{origin.described}")
        if imported:
            await change.log(job_id, IMPORTED)
        if name != source.name:
            await change.log(job_id, "the file name is not UTF-8: its other bytes are shown as �")
        if refused is not None:
            change.touched(job_id)
