"""Reads on the committed-only connection, each a whole query in one step of its thread.

A query left open across an await (a cursor read row by row) would hold its snapshot while
other tasks' queries run on the same connection, and they would see the database as it was
then, not as it is: a switch just set, or a delivery just added, would look absent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiosqlite


async def fetch_all(db: aiosqlite.Connection, sql: str, args: Iterable[Any] = ()) -> list[Any]:
    return list(await db.execute_fetchall(sql, tuple(args)))


async def fetch_one(db: aiosqlite.Connection, sql: str, args: Iterable[Any] = ()) -> Any | None:
    found = await fetch_all(db, sql, args)
    return found[0] if found else None
