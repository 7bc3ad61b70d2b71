"""Queries of the `switches` table: settings changed at run time (import mode), kept across
restarts; a switch never set has the config's default."""

from __future__ import annotations

import aiosqlite

from asyncpdf.store.reads import fetch_one


class SwitchTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        self._read = read

    async def get(self, name: str, default: bool) -> bool:
        row = await fetch_one(self._read, "SELECT value FROM switches WHERE name = ?", (name,))
        return default if row is None else row[0] == "on"

    async def set(self, name: str, on: bool) -> None:
        assert self._db.in_transaction, "write inside Store.transaction()"
        await self._db.execute(
            "INSERT INTO switches (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, "on" if on else "off"),
        )
