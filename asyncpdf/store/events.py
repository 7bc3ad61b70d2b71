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
#: Events written by one statement at most (two values each, well within SQLite's limit).
ROWS_AT_ONCE = 400

Event = dict[str, Any]


class EventTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        self._read = read

    async def add(self, events: list[Event]) -> list[Event]:
        """Number the events (each gets its `seq`) in the current transaction: one statement
        for up to ROWS_AT_ONCE of them."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        numbered: list[Event] = []
        now = time.time()
        for start in range(0, len(events), ROWS_AT_ONCE):
            chunk = events[start : start + ROWS_AT_ONCE]
            rows = await self._db.execute_fetchall(
                "INSERT INTO events (ts, data) VALUES "
                + ", ".join("(?, ?)" for _ in chunk)
                + " RETURNING seq",
                [
                    value
                    for event in chunk
                    for value in (now, json.dumps(event, ensure_ascii=False))
                ],
            )
            # One statement numbers its rows in the order given, upwards.
            seqs = sorted(int(row[0]) for row in rows)
            numbered += [{"seq": seq, **event} for seq, event in zip(seqs, chunk, strict=True)]
            if seqs[-1] // PRUNE_EVERY != (seqs[0] - 1) // PRUNE_EVERY:
                await self._db.execute("DELETE FROM events WHERE seq <= ?", (seqs[-1] - KEEP,))
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
