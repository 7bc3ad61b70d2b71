"""The one database connection: opened in WAL mode, migrated, and written only inside
`transaction()`, so the steps of one change (a job's final state and what follows from it)
commit together or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from asyncpdf.errors import AsyncPdfError
from asyncpdf.store.deliveries import DeliveryTable
from asyncpdf.store.events import EventTable
from asyncpdf.store.history import HistoryQueries, add_casefold
from asyncpdf.store.jobs import JobTable
from asyncpdf.store.log import LogTable
from asyncpdf.store.migrations import MIGRATIONS
from asyncpdf.store.outbox import OutboxTable
from asyncpdf.store.reports import ReportQueries
from asyncpdf.store.switches import SwitchTable

PING_TIMEOUT_S = 2.0


class Store:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self._read = read
        self._path = path
        self._identity = _identity(path)
        # One writing connection is shared by every task: a transaction must not take in
        # another task's statements, so writers queue here. Reads go to `read`, which sees
        # only committed data (WAL), so no page shows a change a crash would undo.
        self._write = asyncio.Lock()
        self.jobs = JobTable(db, read)
        self.deliveries = DeliveryTable(db, read)
        self.log = LogTable(db, read)
        self.outbox = OutboxTable(db, read)
        self.switches = SwitchTable(db, read)
        self.reports = ReportQueries(read)
        self.history = HistoryQueries(db, read)
        self.events = EventTable(db, read)

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await _migrate(db)
            read = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            await db.close()
            raise
        await read.execute("PRAGMA query_only=ON")
        for connection in (db, read):
            await add_casefold(connection)
        store = cls(db, read, path)
        async with store.transaction():
            await store.jobs.index_analysed()
        return store

    async def close(self) -> None:
        await self._read.close()
        await self._db.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._write:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                await self._db.commit()
            except BaseException:
                # Also after a refused COMMIT (a full disk): SQLite may have kept the
                # transaction open, and the next BEGIN would fail for good.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await self._db.rollback()
                raise

    async def ping(self) -> None:
        """Raise unless the file is still the one opened (deleted or replaced, it takes no more
        writes anyone will see) and takes a write lock within PING_TIMEOUT_S (nothing else,
        say a sqlite3 shell left open, holds it)."""
        async with asyncio.timeout(PING_TIMEOUT_S), self._read.execute("SELECT 1") as cursor:
            await cursor.fetchone()
        try:
            same = await asyncio.to_thread(_identity, self._path) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            raise AsyncPdfError(
                f"{self._path} was deleted or replaced since start-up: restart the service"
            )
        try:
            # A connection of its own: cancelling a call on the shared one could leave a
            # transaction open on it.
            await asyncio.to_thread(_take_write_lock, self._path)
        except sqlite3.OperationalError as exc:
            raise AsyncPdfError(
                f"{self._path} takes no write within {PING_TIMEOUT_S:g} s ({exc}): is another "
                "program holding it?"
            ) from None


def _take_write_lock(path: Path) -> None:
    # mode=rw: never make a new, empty database where the file has gone.
    uri = f"{path.as_uri()}?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=PING_TIMEOUT_S)) as db:
        db.execute("BEGIN IMMEDIATE")
        db.rollback()


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
