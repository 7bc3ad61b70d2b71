"""The one database connection: opened in WAL mode, migrated, and written only inside
`transaction()`, so the steps of one change (a job's final state and what follows from it)
commit together or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from asyncpdf.errors import AsyncPdfError
from asyncpdf.store.deliveries import DeliveryTable
from asyncpdf.store.jobs import JobTable
from asyncpdf.store.log import LogTable
from asyncpdf.store.migrations import MIGRATIONS

PING_TIMEOUT_S = 2.0


class Store:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self._identity = _identity(path)
        # One connection is shared by every task: a transaction must not take in another
        # task's statements, so writers queue here.
        self._write = asyncio.Lock()
        self.jobs = JobTable(db)
        self.deliveries = DeliveryTable(db)
        self.log = LogTable(db)

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await _migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._write:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def ping(self) -> None:
        """Answer within PING_TIMEOUT_S or raise: a read, so it never waits for a writer; and
        the file must still be the one opened (deleted or replaced, it takes no more writes
        anyone will see)."""
        async with asyncio.timeout(PING_TIMEOUT_S), self._db.execute("SELECT 1") as cursor:
            await cursor.fetchone()
        try:
            same = await asyncio.to_thread(_identity, self._path) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            raise AsyncPdfError(
                f"{self._path} was deleted or replaced since start-up: restart the service"
            )


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
