"""The history grid's queries: jobs by the grid's filters, newest first, with their deliveries
in brief; how many match; and the plates of the matching jobs per press and bureau."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobRow
from asyncpdf.store.jobs import HEADER, HEADER_COLUMNS, header_of
from asyncpdf.store.reads import fetch_all, fetch_one

#: SQLite's lower() folds ASCII only; names are often Cyrillic.
CASEFOLD = "casefold"
#: Ids in one IN (...) list: SQLite allows some thousands of parameters.
_IDS_AT_ONCE = 500


def _midnight(day: date) -> float:
    """The start of `day` in the server's local time; the first and last days a date can name
    (0001-01-01, and the day after 9999-12-31) are before and after every time."""
    try:
        return datetime.combine(day, datetime.min.time()).timestamp()
    except (ValueError, OverflowError):
        return -math.inf if day.year == date.min.year else math.inf


def _day_after(day: date) -> float:
    return math.inf if day == date.max else _midnight(day + timedelta(days=1))


@dataclass(frozen=True)
class HistoryFilter:
    """What the grid shows: jobs received between two days (inclusive, local time), of the
    bureaus whose name contains some text, of one press, some states, and whose name contains
    (or with a leading "-", does not contain) some text, case-insensitively."""

    since: date | None = None
    until: date | None = None
    bureau: str | None = None
    press: str | None = None
    states: tuple[JobState, ...] = ()
    name: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition on `jobs` (aliased `j`) and its arguments."""
        terms = ["j.deleted_at IS NULL"]
        args: list[Any] = []
        if self.since is not None:
            terms.append("j.created_at >= ?")
            args.append(_midnight(self.since))
        if self.until is not None:
            terms.append("j.created_at < ?")
            args.append(_day_after(self.until))
        if self.bureau:
            terms.append(f"instr({CASEFOLD}(j.bureau), ?) > 0")
            args.append(self.bureau.casefold())
        if self.press:
            terms.append(
                "EXISTS (SELECT 1 FROM job_plates p WHERE p.job_id = j.id"
                f" AND {CASEFOLD}(p.press) = ?)"
            )
            args.append(self.press.casefold())
        if self.states:
            terms.append(f"j.state IN ({', '.join('?' * len(self.states))})")
            args.extend(state.value for state in self.states)
        if self.name:
            excluded = self.name.startswith("-") and len(self.name) > 1
            text = self.name[1:] if excluded else self.name
            terms.append(f"instr({CASEFOLD}(j.name), ?) {'=' if excluded else '>'} 0")
            args.append(text.casefold())
        return " AND ".join(terms), args


@dataclass(frozen=True)
class PlateCount:
    """Plates of done jobs for one press and bureau."""

    press: str
    bureau: str | None
    plates: int


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


async def add_casefold(db: aiosqlite.Connection) -> None:
    await db.create_function(CASEFOLD, 1, _casefold, deterministic=True)


class HistoryQueries:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        self._read = read

    async def rows(
        self, where: HistoryFilter, *, limit: int, offset: int = 0
    ) -> tuple[list[JobRow], int]:
        """One page of matching jobs, newest first, and how many match in all."""
        condition, args = where.where()
        total = await fetch_one(self._read, f"SELECT COUNT(*) FROM jobs j WHERE {condition}", args)
        found = await fetch_all(
            self._read,
            f"SELECT {_columns('j.')} FROM jobs j WHERE {condition}"
            " ORDER BY j.id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return await self._rows(self._read, found), int(total[0]) if total else 0

    async def rows_of(self, ids: Sequence[int], *, in_transaction: bool = False) -> list[JobRow]:
        """The rows of these jobs (those not deleted), by id; `in_transaction` reads what the
        current transaction has written, before it commits."""
        db = self._db if in_transaction else self._read
        if in_transaction:
            assert self._db.in_transaction, "inside Store.transaction()"
        marks = ", ".join("?" * len(ids))
        found = await fetch_all(
            db,
            f"SELECT {_columns('j.')} FROM jobs j WHERE j.id IN ({marks})"
            " AND j.deleted_at IS NULL ORDER BY j.id",
            ids,
        )
        return await self._rows(db, found)

    async def _rows(self, db: aiosqlite.Connection, found: list[Any]) -> list[JobRow]:
        if not found:
            return []
        ids = [row[0] for row in found]
        marks = ", ".join("?" * len(ids))
        deliveries: dict[int, list[dict[str, Any]]] = {}
        for job_id, kind, state, attempts, error in await fetch_all(
            db,
            "SELECT job_id, kind, state, attempts, error FROM deliveries"
            f" WHERE job_id IN ({marks}) ORDER BY job_id, kind != 'bureau', kind",
            ids,
        ):
            deliveries.setdefault(job_id, []).append(
                {"kind": kind, "state": state, "attempts": attempts, "error": error}
            )
        return [
            JobRow(
                header=header_of(row),
                has_previews=bool(row[HEADER_COLUMNS]),
                deliveries=tuple(deliveries.get(row[0], ())),
                fixed_by=row[HEADER_COLUMNS + 1],
                first_sent_at=row[HEADER_COLUMNS + 2],
            )
            for row in found
        ]

    async def plates(self, where: HistoryFilter) -> list[PlateCount]:
        """Plates per press and bureau of the matching jobs that were delivered (done): the
        plates made, not those of failed or duplicate jobs."""
        condition, args = where.where()
        found = await fetch_all(
            self._read,
            "SELECT p.press, j.bureau, SUM(p.plates) FROM job_plates p"
            f" JOIN jobs j ON j.id = p.job_id WHERE {condition} AND j.state = ?"
            " GROUP BY p.press, j.bureau ORDER BY p.press, j.bureau",
            [*args, JobState.DONE.value],
        )
        return [PlateCount(press, bureau, int(plates)) for press, bureau, plates in found]

    async def plates_of(self, ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
        """Each job's plates per press (for the CSV's cost column)."""
        found: dict[int, list[tuple[str, int]]] = {}
        for start in range(0, len(ids), _IDS_AT_ONCE):
            chunk = ids[start : start + _IDS_AT_ONCE]
            rows = await fetch_all(
                self._read,
                "SELECT job_id, press, plates FROM job_plates"
                f" WHERE job_id IN ({', '.join('?' * len(chunk))}) ORDER BY job_id, press",
                chunk,
            )
            for job_id, press, plates in rows:
                found.setdefault(job_id, []).append((press, int(plates)))
        return found

    async def counters(self, today: date) -> dict[str, int]:
        """The header's counters: jobs waiting, in work, and failed (or rejected) today and
        not fixed by a rerun since."""
        waiting = (JobState.RECEIVED.value, JobState.QUEUED.value)
        working = (JobState.ANALYSING.value, JobState.DELIVERING.value)
        failed = (JobState.FAILED.value, JobState.REJECTED.value)
        row = await fetch_one(
            self._read,
            "SELECT SUM(state IN (?, ?)), SUM(state IN (?, ?)),"
            f" SUM(state IN (?, ?) AND finished_at >= ? AND {_FIXED_BY.format(job='jobs')} IS NULL)"
            " FROM jobs WHERE deleted_at IS NULL",
            [*waiting, *working, *failed, _midnight(today)],
        )
        values = [int(value or 0) for value in row] if row else [0, 0, 0]
        return dict(zip(("waiting", "in_work", "failed_today"), values, strict=True))


#: The first rerun of a job that is done: it fixed what made the job fail.
_FIXED_BY = (
    "(SELECT MIN(r.id) FROM jobs r WHERE r.rerun_of = {job}.id AND r.state = 'done'"
    " AND r.deleted_at IS NULL)"
)
#: When the job a duplicate names ended (or, still delivering, was received).
_FIRST_SENT_AT = (
    "(SELECT COALESCE(f.finished_at, f.created_at) FROM jobs f WHERE f.id = {job}.duplicate_of)"
)


def _columns(alias: str) -> str:
    header = ", ".join(f"{alias}{column.strip()}" for column in HEADER.split(","))
    job = alias.rstrip(".")
    return (
        f"{header}, {alias}artefacts IS NOT NULL, {_FIXED_BY.format(job=job)},"
        f" {_FIRST_SENT_AT.format(job=job)}"
    )
