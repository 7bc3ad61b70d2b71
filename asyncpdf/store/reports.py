"""The reads the report figures are made from: plates of finished jobs per month, press and
bureau. Only jobs in state 'done' (delivered or imported) count, and never a deleted record;
months are in the server's local time, as the grid's days are."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import aiosqlite

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.store.reads import fetch_all

_LOCAL_MONTH = "strftime('%Y-%m', jobs.created_at, 'unixepoch', 'localtime')"
_LOCAL_YEAR = "strftime('%Y', jobs.created_at, 'unixepoch', 'localtime')"
_COUNTED = "jobs.state = ? AND jobs.deleted_at IS NULL"
# No time zone is more than 14 h from UTC: a window a day wider than the UTC year lets the
# created_at index narrow the rows before SQLite's local-time month decides.
_DAY_S = 86_400


@dataclass(frozen=True)
class MonthlyPlates:
    """Plates of one press, for one bureau, in one local month ("YYYY-MM")."""

    month: str
    press: str
    bureau: str | None
    plates: int


@dataclass(frozen=True)
class MonthlyInk:
    """m² of solid ink (plates × sheet area × coverage) of one ink on one press in one local
    month."""

    month: str
    press: str
    bureau: str | None
    ink: str
    area_m2: float


def _year_span(year: int) -> tuple[int, int]:
    """UTC seconds that surely hold the local year `year`, a day more on either side; from
    the year's last day, not the next year's first: 9999 has no next year."""
    start = calendar.timegm((year, 1, 1, 0, 0, 0)) - _DAY_S
    end = calendar.timegm((year, 12, 31, 0, 0, 0)) + 2 * _DAY_S
    return start, end


class ReportQueries:
    def __init__(self, read: aiosqlite.Connection) -> None:
        self._read = read

    async def plates(self, year: int) -> list[MonthlyPlates]:
        """The year's plates per (month, press, bureau), ordered by those."""
        start, end = _year_span(year)
        rows = await fetch_all(
            self._read,
            f"SELECT {_LOCAL_MONTH} AS month, job_plates.press, jobs.bureau,"
            " SUM(job_plates.plates)"
            " FROM job_plates JOIN jobs ON jobs.id = job_plates.job_id"
            f" WHERE {_COUNTED} AND jobs.created_at >= ? AND jobs.created_at < ?"
            f" AND {_LOCAL_YEAR} = ?"
            " GROUP BY month, job_plates.press, jobs.bureau"
            " ORDER BY month, job_plates.press, jobs.bureau",
            (JobState.DONE.value, start, end, f"{year:04d}"),
        )
        return [MonthlyPlates(*row) for row in rows]

    async def ink_use(self, year: int) -> list[MonthlyInk]:
        """The year's ink use per (month, press, ink), ordered by month and press."""
        start, end = _year_span(year)
        rows = await fetch_all(
            self._read,
            f"SELECT {_LOCAL_MONTH} AS month, job_inks.press, jobs.bureau, job_inks.ink,"
            " SUM(job_inks.area_m2)"
            " FROM job_inks JOIN jobs ON jobs.id = job_inks.job_id"
            f" WHERE {_COUNTED} AND jobs.created_at >= ? AND jobs.created_at < ?"
            f" AND {_LOCAL_YEAR} = ?"
            " GROUP BY month, job_inks.press, jobs.bureau, job_inks.ink"
            " ORDER BY month, job_inks.press",
            (JobState.DONE.value, start, end, f"{year:04d}"),
        )
        return [MonthlyInk(*row) for row in rows]

    async def years(self) -> list[int]:
        """The local years that have finished jobs, oldest first."""
        rows = await fetch_all(
            self._read,
            f"SELECT DISTINCT {_LOCAL_YEAR} AS year FROM jobs WHERE {_COUNTED} ORDER BY year",
            (JobState.DONE.value,),
        )
        return [int(year) for (year,) in rows]
