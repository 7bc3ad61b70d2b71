"""Queries of the `events` table: what the live page was told, numbered in commit order, so a
page that reconnects (even after a restart) gets what it missed. Only the newest are kept."""

from __future__ import annotations

import json
import time
from typing import Any

import aiosqlite

from asyncpdf.store.reads import fetch_all, fetch_one

#: Events kept; a page away for longer is told to reload instead.
KEEP = 20_000
#: Every this many events, the older ones are removed.
PRUNE_EVERY = 500

Event = dict[str, Any]


class EventTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        self._read = read

    async def add(self, events: list[Event]) -> list[Event]:
        """Number the events (each gets its `seq`) in the current transaction."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        numbered = []
        now = time.time()
        for event in events:
            cursor = await self._db.execute(
                "INSERT INTO events (ts, data) VALUES (?, ?)",
                (now, json.dumps(event, ensure_ascii=False)),
            )
            seq = cursor.lastrowid
            assert seq is not None
            numbered.append({"seq": seq, **event})
            if seq % PRUNE_EVERY == 0:
                await self._db.execute("DELETE FROM events WHERE seq <= ?", (seq - KEEP,))
        return numbered

    async def after(self, seq: int, limit: int) -> list[Event]:
        """Up to `limit` events after `seq`, oldest first."""
        rows = await fetch_all(
            self._read,
            "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [{"seq": number, **json.loads(data)} for number, data in rows]

    async def last(self) -> int:
        row = await fetch_one(self._read, "SELECT MAX(seq) FROM events")
        return int(row[0]) if row and row[0] is not None else 0
