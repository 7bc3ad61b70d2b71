"""The job store: SQLite through aiosqlite, WAL, schema versioned by ordered migrations.

One connection and one write path; every method is a small transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from asyncpdf.errors import NotFound
from asyncpdf.jobs import UNFINISHED, Delivery, Job, LogLine, State

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        sha256 TEXT,
        size INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        analysis TEXT,
        error TEXT
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_created ON jobs(created_at);
    CREATE TABLE deliveries (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        bytes INTEGER,
        seconds REAL,
        remote_name TEXT,
        PRIMARY KEY (job_id, kind)
    );
    CREATE TABLE job_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX job_log_job ON job_log(job_id, id);
    """,
)

_JOB_COLUMNS = "id, name, state, sha256, size, created_at, updated_at, finished_at, analysis, error"


def _job(row: aiosqlite.Row) -> Job:
    return Job(
        id=row[0],
        name=row[1],
        state=State(row[2]),
        sha256=row[3],
        size=row[4],
        created_at=row[5],
        updated_at=row[6],
        finished_at=row[7],
        analysis=json.loads(row[8]) if row[8] else None,
        error=row[9],
    )


class Store:
    """All reads and writes of jobs, deliveries and job log lines."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        store = cls(db)
        await store._migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = row[0] if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")

    async def ping(self) -> None:
        async with self._db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    async def create_job(self, name: str) -> int:
        now = time.time()
        cursor = await self._db.execute(
            "INSERT INTO jobs (name, state, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (name, State.RECEIVED.value, now, now),
        )
        await self._db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def set_state(self, job_id: int, state: State, *, error: str | None = None) -> None:
        now = time.time()
        await self._db.execute(
            "UPDATE jobs SET state = ?, updated_at = ?, error = COALESCE(?, error),"
            " finished_at = ? WHERE id = ?",
            (state.value, now, error, now if state.terminal else None, job_id),
        )
        await self._db.commit()

    async def set_analysis(self, job_id: int, analysis: dict[str, Any]) -> None:
        await self._db.execute(
            "UPDATE jobs SET analysis = ?, updated_at = ? WHERE id = ?",
            (json.dumps(analysis, ensure_ascii=False), time.time(), job_id),
        )
        await self._db.commit()

    async def set_file(self, job_id: int, *, size: int, sha256: str | None) -> None:
        await self._db.execute(
            "UPDATE jobs SET size = ?, sha256 = ?, updated_at = ? WHERE id = ?",
            (size, sha256, time.time(), job_id),
        )
        await self._db.commit()

    async def get_job(self, job_id: int) -> Job:
        async with self._db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return _job(row)

    async def list_jobs(self, *, limit: int = 50, offset: int = 0) -> list[Job]:
        async with self._db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        ) as cursor:
            return [_job(row) for row in await cursor.fetchall()]

    async def jobs_in(self, states: Iterable[State] = UNFINISHED) -> list[Job]:
        wanted = [s.value for s in states]
        marks = ", ".join("?" * len(wanted))
        async with self._db.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state IN ({marks}) ORDER BY id", wanted
        ) as cursor:
            return [_job(row) for row in await cursor.fetchall()]

    async def count_by_state(self) -> dict[State, int]:
        async with self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state") as cursor:
            found = {State(state): count for state, count in await cursor.fetchall()}
        return {state: found.get(state, 0) for state in State}

    async def upsert_delivery(
        self,
        job_id: int,
        kind: str,
        *,
        target: str,
        status: str,
        attempts: int = 0,
        error: str | None = None,
        size: int | None = None,
        seconds: float | None = None,
        remote_name: str | None = None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO deliveries"
            " (job_id, kind, target, status, attempts, error, bytes, seconds, remote_name)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id, kind) DO UPDATE SET target = excluded.target,"
            " status = excluded.status, attempts = excluded.attempts, error = excluded.error,"
            " bytes = excluded.bytes, seconds = excluded.seconds,"
            " remote_name = excluded.remote_name",
            (job_id, kind, target, status, attempts, error, size, seconds, remote_name),
        )
        await self._db.commit()

    async def deliveries(self, job_id: int) -> list[Delivery]:
        async with self._db.execute(
            "SELECT kind, target, status, attempts, error, bytes, seconds, remote_name"
            " FROM deliveries WHERE job_id = ? ORDER BY kind",
            (job_id,),
        ) as cursor:
            return [Delivery(*row) for row in await cursor.fetchall()]

    async def add_log(self, job_id: int, level: str, message: str) -> LogLine:
        line = LogLine(job_id=job_id, ts=time.time(), level=level, message=message)
        await self._db.execute(
            "INSERT INTO job_log (job_id, ts, level, message) VALUES (?, ?, ?, ?)",
            (line.job_id, line.ts, line.level, line.message),
        )
        await self._db.commit()
        return line

    async def recent_log(self, limit: int) -> list[LogLine]:
        """The newest log lines of all jobs, oldest first."""
        async with self._db.execute(
            "SELECT job_id, ts, level, message FROM"
            " (SELECT id, job_id, ts, level, message FROM job_log ORDER BY id DESC LIMIT ?)"
            " ORDER BY id",
            (limit,),
        ) as cursor:
            return [LogLine(*row) for row in await cursor.fetchall()]

    async def log_lines(self, job_id: int) -> list[LogLine]:
        async with self._db.execute(
            "SELECT job_id, ts, level, message FROM job_log WHERE job_id = ? ORDER BY id",
            (job_id,),
        ) as cursor:
            return [LogLine(*row) for row in await cursor.fetchall()]
