"""Queries of the `jobs` table. State changes are checked against the lifecycle and guarded by
the state the caller saw, so an illegal or stale change raises instead of writing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from asyncpdf.domain.lifecycle import UNFINISHED, JobState, check_job
from asyncpdf.domain.records import Job, JobHeader
from asyncpdf.errors import IllegalTransition, NotFound
from asyncpdf.pdf.inks import ordered
from asyncpdf.pdf.model import ANALYSIS_VERSION, Analysis, Artefacts
from asyncpdf.store.reads import fetch_all, fetch_one

HEADER = (
    "id, name, state, sha256, size, created_at, updated_at, finished_at, error, file_name,"
    " warnings, imported, duplicate_of, rerun_of, order_number, bureau, presses, complects,"
    " plates, inks, subfolder, original_removed_at"
)
_FULL = f"{HEADER}, analysis, analysis_version, artefacts"
HEADER_COLUMNS = HEADER.count(",") + 1
#: Jobs made in one statement at most (nine values each, within SQLite's 999 variables).
CREATE_AT_ONCE = 100
# SQLite's INTEGER is 64-bit: a larger id cannot name a job.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class KeptFile:
    """Where a finished job's original was kept, and which file that was: an inode number is
    given again once its file is gone, so its change time (set when it was linked into done/)
    tells a file that took its place."""

    path: Path
    device: int
    inode: int
    size: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path, found: os.stat_result) -> KeptFile:
        return cls(path, found.st_dev, found.st_ino, found.st_size, found.st_ctime_ns)

    def is_(self, found: os.stat_result) -> bool:
        """Whether `found` (an lstat) is this very file, unchanged."""
        return KeptFile.of(self.path, found) == self


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def header_of(row: aiosqlite.Row) -> JobHeader:
    return JobHeader(
        id=row[0],
        name=row[1],
        state=JobState(row[2]),
        sha256=row[3],
        size=row[4],
        created_at=row[5],
        updated_at=row[6],
        finished_at=row[7],
        error=row[8],
        file_name=os.fsdecode(row[9]) if row[9] is not None else row[1],
        warnings=row[10],
        imported=bool(row[11]),
        duplicate_of=row[12],
        rerun_of=row[13],
        order=row[14],
        bureau=row[15],
        presses=tuple(json.loads(row[16])) if row[16] else (),
        complects=row[17],
        plates=row[18],
        # Ordered on reading too: rows written before the order was fixed have the file's.
        inks=ordered(json.loads(row[19])) if row[19] else (),
        subfolder=row[20],
        original_removed_at=row[21],
    )


def _indexed(analysis: Analysis) -> dict[str, Any]:
    """The analysis's columns the history grid filters, totals and shows."""
    return {
        "order_number": analysis.order,
        "bureau": analysis.bureau,
        "presses": _dumps(list(analysis.presses)),
        "complects": len(analysis.pages),
        "plates": analysis.plates,
        "inks": _dumps(list(analysis.inks)),
    }


def _plates_by_press(analysis: Analysis) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in analysis.pages:
        if page.press:
            found[page.press] = found.get(page.press, 0) + page.plates
    return found


def _job(row: aiosqlite.Row) -> Job:
    analysis, version, artefacts = row[HEADER_COLUMNS : HEADER_COLUMNS + 3]
    return Job(
        **vars(header_of(row)),
        analysis=Analysis.from_json(json.loads(analysis), version) if analysis else None,
        artefacts=Artefacts.from_json(json.loads(artefacts)) if artefacts else None,
    )


class JobTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        # Reads outside a transaction go to a connection of their own, which sees only what
        # has been committed.
        self._read = read

    async def _update(self, sql: str, args: tuple[Any, ...]) -> int:
        assert self._db.in_transaction, "write inside Store.transaction()"
        cursor = await self._db.execute(sql, args)
        return cursor.rowcount

    async def create(
        self,
        name: str,
        file_name: str | None = None,
        *,
        imported: bool = False,
        rerun_of: int | None = None,
        callback_url: str | None = None,
        subfolder: str | None = None,
    ) -> int:
        """A new job for the file `file_name` (its name on disk), known as `name`."""
        [job_id] = await self.create_all(
            [(name, file_name, subfolder)],
            imported=imported,
            rerun_of=rerun_of,
            callback_url=callback_url,
        )
        return job_id

    async def create_all(
        self,
        files: Sequence[tuple[str, str | None, str | None]],
        *,
        imported: bool = False,
        rerun_of: int | None = None,
        callback_url: str | None = None,
    ) -> list[int]:
        """A new job for each (name, file name on disk, sub-folder), in one statement per
        CREATE_AT_ONCE; their ids, in order."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        now = time.time()
        ids: list[int] = []
        for start in range(0, len(files), CREATE_AT_ONCE):
            chunk = files[start : start + CREATE_AT_ONCE]
            rows = await self._db.execute_fetchall(
                "INSERT INTO jobs (name, file_name, state, created_at, updated_at, imported,"
                " rerun_of, callback_url, subfolder) VALUES "
                + ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
                + " RETURNING id",
                [
                    value
                    for name, file_name, subfolder in chunk
                    for value in (
                        name,
                        os.fsencode(file_name) if file_name not in (None, name) else None,
                        JobState.RECEIVED.value,
                        now,
                        now,
                        int(imported),
                        rerun_of,
                        callback_url,
                        subfolder,
                    )
                ],
            )
            # One statement numbers its rows in the order given, upwards.
            ids += sorted(int(row[0]) for row in rows)
        return ids

    async def forget(self, job_id: int) -> None:
        """Remove a job made in this transaction whose file could not be claimed after all
        (its id is not given again)."""
        changed = await self._update(
            "DELETE FROM jobs WHERE id = ? AND state = ?", (job_id, JobState.RECEIVED.value)
        )
        if not changed:
            raise IllegalTransition(f"job {job_id} is no longer received; not forgotten")

    async def move(
        self, job_id: int, current: JobState, new: JobState, *, error: str | None = None
    ) -> None:
        await self.move_all([job_id], current, new, error=error)

    async def move_all(
        self, job_ids: Sequence[int], current: JobState, new: JobState, *, error: str | None = None
    ) -> None:
        """Move every one of the jobs from `current` to `new` in one statement; none of them
        if one is no longer `current` (the caller's transaction fails)."""
        check_job(current, new)
        now = time.time()
        wanted = sorted(set(job_ids))
        changed = await self._update(
            "UPDATE jobs SET state = ?, updated_at = ?, error = COALESCE(?, error),"
            f" finished_at = ? WHERE state = ? AND id IN ({', '.join('?' * len(wanted))})",
            (new.value, now, error, now if new.terminal else None, current.value, *wanted),
        )
        if changed == len(wanted):
            return
        if len(wanted) == 1:
            raise IllegalTransition(
                f"job {wanted[0]} is no longer {current.value}; not moved to {new.value}"
            )
        raise IllegalTransition(
            f"jobs {', '.join(map(str, wanted))}: not all still {current.value}; none moved "
            f"to {new.value}"
        )

    async def reopen(self, job_id: int, current: JobState) -> None:
        """A finished job delivers again (its failed deliveries retried): no end, no error."""
        check_job(current, JobState.DELIVERING)
        changed = await self._update(
            "UPDATE jobs SET state = ?, updated_at = ?, error = NULL, finished_at = NULL"
            " WHERE id = ? AND state = ?",
            (JobState.DELIVERING.value, time.time(), job_id, current.value),
        )
        if not changed:
            raise IllegalTransition(f"job {job_id} is no longer {current.value}; not reopened")

    async def dated(self, job_id: int, created_at: float) -> None:
        """An imported job's date: when its file was made, not when it was imported."""
        await self._update("UPDATE jobs SET created_at = ? WHERE id = ?", (created_at, job_id))

    async def duplicate_of(self, job_id: int, first: int) -> None:
        await self._update("UPDATE jobs SET duplicate_of = ? WHERE id = ?", (first, job_id))

    async def first_delivered(self, sha256: str, other_than: int | None = None) -> int | None:
        """The first job with this checksum whose file went, or is going, to its bureau: done
        (delivered or imported), still delivering, or its bureau copy sent."""
        found = await self.first_delivered_all([sha256], () if other_than is None else [other_than])
        return found.get(sha256)

    async def first_delivered_all(
        self, checksums: Collection[str], other_than: Collection[int] = ()
    ) -> dict[str, int]:
        """`first_delivered` of each checksum at once (those that have one), leaving out the
        jobs `other_than`."""
        if not checksums:
            return {}
        async with self._db.execute(
            "SELECT sha256, MIN(id) FROM jobs"
            f" WHERE sha256 IN ({', '.join('?' * len(checksums))})"
            f" AND id NOT IN ({', '.join('?' * len(other_than))}) AND (state IN (?, ?)"
            " OR EXISTS (SELECT 1 FROM deliveries WHERE deliveries.job_id = jobs.id"
            " AND kind = 'bureau' AND state = 'sent')) GROUP BY sha256",
            (*checksums, *other_than, JobState.DONE.value, JobState.DELIVERING.value),
        ) as cursor:
            rows = await cursor.fetchall()
        return {sha256: int(first) for sha256, first in rows}

    async def count_warning(self, job_id: int) -> None:
        await self._update("UPDATE jobs SET warnings = warnings + 1 WHERE id = ?", (job_id,))

    async def record_analysis(
        self, job_id: int, analysis: Analysis, *, size: int, sha256: str | None
    ) -> None:
        """Save the analysis, once: a job is analysed at most once to the end."""
        await self.record_analyses([(job_id, analysis, size, sha256)])

    async def record_analyses(
        self, analysed: Sequence[tuple[int, Analysis, int, str | None]]
    ) -> None:
        """Save each (job, analysis, size, sha256) in two statements for all; none of them if
        one job has its analysis already (the caller's transaction fails)."""
        if not analysed:
            return
        now = time.time()
        rows = [
            {
                "analysis": _dumps(analysis.to_json()),
                "analysis_version": ANALYSIS_VERSION,
                "size": size,
                "sha256": sha256,
                "updated_at": now,
                **_indexed(analysis),
                "id": job_id,
            }
            for job_id, analysis, size, sha256 in analysed
        ]
        assignments = ", ".join(f"{name} = :{name}" for name in rows[0] if name != "id")
        assert self._db.in_transaction, "write inside Store.transaction()"
        cursor = await self._db.executemany(
            f"UPDATE jobs SET {assignments} WHERE id = :id AND analysis IS NULL", rows
        )
        if cursor.rowcount != len(rows):
            ids = ", ".join(str(job_id) for job_id, *_ in analysed)
            raise IllegalTransition(f"of jobs {ids}, one has its analysis already")
        await self._index_plates([(job_id, analysis) for job_id, analysis, *_ in analysed])

    async def _index(self, job_id: int, analysis: Analysis) -> None:
        columns = _indexed(analysis)
        await self._db.execute(
            f"UPDATE jobs SET {', '.join(f'{name} = ?' for name in columns)} WHERE id = ?",
            (*columns.values(), job_id),
        )
        await self._index_plates([(job_id, analysis)])

    async def _index_plates(self, analysed: Iterable[tuple[int, Analysis]]) -> None:
        await self._db.executemany(
            "INSERT OR REPLACE INTO job_plates (job_id, press, plates) VALUES (?, ?, ?)",
            [
                (job_id, press, plates)
                for job_id, analysis in analysed
                for press, plates in _plates_by_press(analysis).items()
            ],
        )

    async def index_analysed(self) -> int:
        """Fill the grid's columns of jobs analysed before they existed; return how many."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        async with self._db.execute(
            "SELECT id, analysis, analysis_version FROM jobs"
            " WHERE analysis IS NOT NULL AND complects IS NULL"
        ) as cursor:
            rows = list(await cursor.fetchall())
        for job_id, analysis, version in rows:
            await self._index(job_id, Analysis.from_json(json.loads(analysis), version))
        return len(rows)

    async def kept(self, job_id: int, kept: KeptFile) -> None:
        await self._update(
            "UPDATE jobs SET kept_path = ?, kept_device = ?, kept_inode = ?, kept_size = ?,"
            " kept_ctime_ns = ? WHERE id = ?",
            (os.fsencode(kept.path), kept.device, kept.inode, kept.size, kept.ctime_ns, job_id),
        )

    async def kept_file(self, job_id: int) -> KeptFile | None:
        """Which file the job's original was kept as, when that was recorded."""
        row = await fetch_one(
            self._read,
            "SELECT kept_path, kept_device, kept_inode, kept_size, kept_ctime_ns FROM jobs"
            " WHERE id = ?",
            (job_id,),
        )
        if row is None or row[0] is None:
            return None
        return KeptFile(Path(os.fsdecode(row[0])), row[1], row[2], row[3], row[4])

    async def kept_as(self, found: KeptFile) -> int | None:
        """The job recorded as having kept that very file, if any."""
        row = await fetch_one(
            self._read,
            "SELECT id FROM jobs WHERE kept_inode = ? AND kept_device = ? AND kept_size = ?"
            " AND kept_ctime_ns = ? AND deleted_at IS NULL",
            (found.inode, found.device, found.size, found.ctime_ns),
        )
        return None if row is None else int(row[0])

    async def callback_url(self, job_id: int) -> str | None:
        """The URL the job's uploader asked to be called at its end, read in the transaction
        that ends it."""
        assert self._db.in_transaction, "inside Store.transaction()"
        row = await fetch_one(self._db, "SELECT callback_url FROM jobs WHERE id = ?", (job_id,))
        return None if row is None or row[0] is None else str(row[0])

    async def delete(self, job_id: int) -> None:
        """Remove the record, keeping a tombstone: its id and checksum, so the duplicate rule
        still knows its file was delivered. Its log, deliveries and notices go with it."""
        changed = await self._update(
            "UPDATE jobs SET deleted_at = ?, analysis = NULL, artefacts = NULL, error = NULL"
            " WHERE id = ? AND deleted_at IS NULL",
            (time.time(), job_id),
        )
        if not changed:
            raise NotFound(f"no job {job_id}")
        for table in ("job_log", "deliveries", "outbox", "job_plates", "job_inks"):
            await self._db.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))

    async def record_artefacts(self, job_id: int, artefacts: Artefacts) -> None:
        changed = await self._update(
            "UPDATE jobs SET artefacts = ?, updated_at = ? WHERE id = ? AND artefacts IS NULL",
            (_dumps(artefacts.to_json()), time.time(), job_id),
        )
        if not changed:
            raise IllegalTransition(f"job {job_id} already has its previews")
        row = await fetch_one(
            self._db, "SELECT analysis, analysis_version FROM jobs WHERE id = ?", (job_id,)
        )
        if row is not None and row[0] is not None:
            analysis = Analysis.from_json(json.loads(row[0]), row[1])
            use = artefacts.ink_use_m2([page.press for page in analysis.pages])
            await self._db.executemany(
                "INSERT OR REPLACE INTO job_inks (job_id, press, ink, area_m2) VALUES (?, ?, ?, ?)",
                [
                    (job_id, press, ink, m2)
                    for press, inks in use.items()
                    for ink, m2 in inks.items()
                ],
            )

    async def _row(self, columns: str, job_id: int) -> Any:
        if not 0 < job_id <= MAX_ID:
            raise NotFound(f"no job {job_id}")
        row = await fetch_one(
            self._read,
            f"SELECT {columns} FROM jobs WHERE id = ? AND deleted_at IS NULL",
            (job_id,),
        )
        if row is None:
            raise NotFound(f"no job {job_id}")
        return row

    async def continue_after(self, job_id: int) -> None:
        """Make the next new job's id greater than `job_id` (never lowers it)."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        await self._db.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'jobs'", (job_id,)
        )
        await self._db.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs', ?"
            " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs')",
            (job_id,),
        )

    async def get(self, job_id: int) -> Job:
        return _job(await self._row(_FULL, job_id))

    async def get_many(self, job_ids: Collection[int]) -> list[Job]:
        """Those of the jobs that exist (not deleted), in one read."""
        wanted = [job_id for job_id in job_ids if 0 < job_id <= MAX_ID]
        rows = await fetch_all(
            self._read,
            f"SELECT {_FULL} FROM jobs WHERE id IN ({', '.join('?' * len(wanted))})"
            " AND deleted_at IS NULL",
            wanted,
        )
        return [_job(row) for row in rows]

    async def header(self, job_id: int) -> JobHeader:
        return header_of(await self._row(HEADER, job_id))

    async def has_previews(self, job_id: int) -> bool:
        """Whether the job's previews are recorded; a cheap read, nothing parsed."""
        row = await self._row("artefacts IS NOT NULL", job_id)
        return bool(row[0])

    async def page(self, *, limit: int = 50, offset: int = 0) -> list[JobHeader]:
        rows = await fetch_all(
            self._read,
            f"SELECT {HEADER} FROM jobs WHERE deleted_at IS NULL ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [header_of(row) for row in rows]

    async def original_removed(self, job_id: int) -> None:
        await self._update(
            "UPDATE jobs SET original_removed_at = ? WHERE id = ?", (time.time(), job_id)
        )

    async def kept_before(
        self, states: Iterable[JobState], ended_before: float, limit: int
    ) -> list[JobHeader]:
        """Finished jobs in `states` that ended before then and whose original is still kept."""
        wanted = [s.value for s in states]
        marks = ", ".join("?" * len(wanted))
        rows = await fetch_all(
            self._read,
            f"SELECT {HEADER} FROM jobs WHERE state IN ({marks}) AND finished_at < ?"
            " AND original_removed_at IS NULL AND deleted_at IS NULL ORDER BY id LIMIT ?",
            [*wanted, ended_before, limit],
        )
        return [header_of(row) for row in rows]

    async def reruns_of(self, job_id: int) -> list[int]:
        """The jobs that run this one again."""
        rows = await fetch_all(
            self._read,
            "SELECT id FROM jobs WHERE rerun_of = ? AND deleted_at IS NULL ORDER BY id",
            (job_id,),
        )
        return [int(row[0]) for row in rows]

    async def in_states(self, states: Iterable[JobState] = UNFINISHED) -> list[JobHeader]:
        wanted = [s.value for s in states]
        marks = ", ".join("?" * len(wanted))
        rows = await fetch_all(
            self._read, f"SELECT {HEADER} FROM jobs WHERE state IN ({marks}) ORDER BY id", wanted
        )
        return [header_of(row) for row in rows]

    async def count_by_state(self) -> dict[JobState, int]:
        rows = await fetch_all(
            self._read,
            "SELECT state, COUNT(*) FROM jobs WHERE deleted_at IS NULL GROUP BY state",
        )
        found = {JobState(state): count for state, count in rows}
        return {state: found.get(state, 0) for state in JobState}
