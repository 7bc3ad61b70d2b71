"""Queries of the `job_log` table: each job's own log lines."""

from __future__ import annotations

import time

import aiosqlite

from asyncpdf.domain.records import LogLine
from asyncpdf.store.reads import fetch_all

#: A line for the job's own log only, left out of the live log (a quick transfer's progress).
DETAIL = "detail"


class LogTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        # Reads outside a transaction go to a connection of their own, which sees only what
        # has been committed.
        self._read = read

    async def add(self, job_id: int, level: str, message: str) -> LogLine:
        line = LogLine(job_id=job_id, ts=time.time(), level=level, message=message)
        await self.add_all([line])
        return line

    async def add_all(self, lines: list[LogLine]) -> None:
        """Write the lines, in order, in one statement of the current transaction."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        await self._db.executemany(
            "INSERT INTO job_log (job_id, ts, level, message) VALUES (?, ?, ?, ?)",
            [(line.job_id, line.ts, line.level, line.message) for line in lines],
        )

    async def recent(self, limit: int) -> list[LogLine]:
        """The newest log lines of all jobs for the live log, oldest first: without the
        `detail` lines only a job's own log shows."""
        rows = await fetch_all(
            self._read,
            "SELECT job_id, ts, level, message FROM"
            " (SELECT id, job_id, ts, level, message FROM job_log WHERE level != ?"
            " ORDER BY id DESC LIMIT ?) ORDER BY id",
            (DETAIL, limit),
        )
        return [LogLine(*row) for row in rows]

    async def of_job(self, job_id: int) -> list[LogLine]:
        rows = await fetch_all(
            self._read,
            "SELECT job_id, ts, level, message FROM job_log WHERE job_id = ? ORDER BY id",
            (job_id,),
        )
        return [LogLine(*row) for row in rows]
