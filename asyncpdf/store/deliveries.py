"""Queries of the `deliveries` table: one row per file and target, which is also the receipt.

A row waits here for its next attempt (`next_attempt_at`), so no job task is held meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

import aiosqlite

from asyncpdf.domain.lifecycle import DeliveryState, check_delivery
from asyncpdf.domain.records import Delivery
from asyncpdf.errors import IllegalTransition
from asyncpdf.store.reads import fetch_all, fetch_one

_COLUMNS = (
    "job_id, kind, target, state, attempts, next_attempt_at, error, bytes, seconds, remote_name"
)
_OPEN = (DeliveryState.PENDING.value, DeliveryState.WAITING.value)


def _delivery(row: aiosqlite.Row) -> Delivery:
    return Delivery(
        job_id=row[0],
        kind=row[1],
        target=row[2],
        state=DeliveryState(row[3]),
        attempts=row[4],
        next_attempt_at=row[5],
        error=row[6],
        bytes=row[7],
        seconds=row[8],
        remote_name=row[9],
    )


class DeliveryTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        # Reads outside a transaction go to a connection of their own, which sees only what
        # has been committed.
        self._read = read

    async def add(self, job_id: int, kind: str, target: str, remote_name: str) -> None:
        """A new delivery, due at once."""
        await self.add_all([(job_id, kind, target, remote_name)])

    async def add_all(self, planned: Iterable[tuple[int, str, str, str]]) -> list[Delivery]:
        """New deliveries (job, kind, target, remote name), due at once, in one statement."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        now, pending = time.time(), DeliveryState.PENDING
        added = [
            Delivery(job_id, kind, target, pending, 0, now, None, None, None, name)
            for job_id, kind, target, name in planned
        ]
        await self._db.executemany(
            "INSERT INTO deliveries (job_id, kind, target, state, attempts, next_attempt_at,"
            " remote_name) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [(d.job_id, d.kind, d.target, pending.value, now, d.remote_name) for d in added],
        )
        return added

    async def start_all(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Pending deliveries marked as being sent, one more attempt each, in one statement:
        all of them, or an IllegalTransition."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        check_delivery(DeliveryState.PENDING, DeliveryState.SENDING)
        if not deliveries:
            return []
        keys = [value for d in deliveries for value in (d.job_id, d.kind)]
        cursor = await self._db.execute(
            "UPDATE deliveries SET state = ?, attempts = attempts + 1 WHERE state = ?"
            f" AND (job_id, kind) IN (VALUES {', '.join(['(?, ?)'] * len(deliveries))})",
            (DeliveryState.SENDING.value, DeliveryState.PENDING.value, *keys),
        )
        if cursor.rowcount != len(deliveries):
            raise IllegalTransition(
                f"{len(deliveries) - cursor.rowcount} of {len(deliveries)} deliveries are no "
                "longer pending"
            )
        return [
            replace(d, state=DeliveryState.SENDING, attempts=d.attempts + 1) for d in deliveries
        ]

    async def move(self, delivery: Delivery, new: DeliveryState, **fields: Any) -> Delivery:
        """Change the delivery's state from the one it was read in, setting `fields` beside."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        check_delivery(delivery.state, new)
        columns = {"state": new.value, **fields}
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor = await self._db.execute(
            f"UPDATE deliveries SET {assignments} WHERE job_id = ? AND kind = ? AND state = ?",
            (*columns.values(), delivery.job_id, delivery.kind, delivery.state.value),
        )
        if not cursor.rowcount:
            raise IllegalTransition(
                f"job {delivery.job_id} {delivery.kind}: no longer {delivery.state.value}"
            )
        return replace(delivery, state=new, **fields)

    async def retry(self, delivery: Delivery) -> Delivery:
        """A failed delivery, due again at once with its attempts counted afresh."""
        return await self.move(
            delivery, DeliveryState.PENDING, attempts=0, next_attempt_at=time.time()
        )

    async def interrupted_to_pending(self) -> int:
        """At start-up: uploads cut off by a stop go again, in full, at once."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        check_delivery(DeliveryState.SENDING, DeliveryState.PENDING)
        cursor = await self._db.execute(
            "UPDATE deliveries SET state = ?, next_attempt_at = ? WHERE state = ?",
            (DeliveryState.PENDING.value, time.time(), DeliveryState.SENDING.value),
        )
        return cursor.rowcount

    async def of_job(self, job_id: int) -> list[Delivery]:
        rows = await fetch_all(
            self._read,
            f"SELECT {_COLUMNS} FROM deliveries WHERE job_id = ? ORDER BY kind != 'bureau', kind",
            (job_id,),
        )
        return [_delivery(row) for row in rows]

    async def due(self, now: float, limit: int, skip: Collection[str] = ()) -> list[Delivery]:
        """Deliveries whose attempt is due, bureau copies first, then the longest waiting;
        none to the targets in `skip` (those that may take nothing now)."""
        rows = await fetch_all(
            self._read,
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN (?, ?) AND next_attempt_at <= ?"
            f" AND target NOT IN ({', '.join('?' * len(skip))})"
            " ORDER BY kind != 'bureau', next_attempt_at LIMIT ?",
            (*_OPEN, now, *skip, limit),
        )
        return [_delivery(row) for row in rows]

    async def due_of_kind(self, kind: str, now: float, skip: Collection[str] = ()) -> bool:
        """Whether a delivery of `kind` is due, to a target not in `skip`."""
        row = await fetch_one(
            self._read,
            "SELECT 1 FROM deliveries WHERE kind = ? AND state IN (?, ?) AND next_attempt_at <= ?"
            f" AND target NOT IN ({', '.join('?' * len(skip))}) LIMIT 1",
            (kind, *_OPEN, now, *skip),
        )
        return row is not None

    async def next_due_at(self, skip: Collection[str] = ()) -> float | None:
        row = await fetch_one(
            self._read,
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE state IN (?, ?)"
            f" AND target NOT IN ({', '.join('?' * len(skip))})",
            (*_OPEN, *skip),
        )
        return row[0] if row else None

    async def note_held(self, target: str, reason: str) -> list[int]:
        """Say on every delivery waiting for `target` why it waits; the jobs it touched."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        rows = await fetch_all(
            self._db,
            "UPDATE deliveries SET error = ? WHERE target = ? AND state IN (?, ?) RETURNING job_id",
            (reason, target, *_OPEN),
        )
        return sorted({row[0] for row in rows})

    async def retarget(self, delivery: Delivery, target: str) -> Delivery:
        """The row names the target its attempt goes to, as the config says it now."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        await self._db.execute(
            "UPDATE deliveries SET target = ? WHERE job_id = ? AND kind = ?",
            (target, delivery.job_id, delivery.kind),
        )
        return replace(delivery, target=target)

    async def count_by_state(self) -> dict[DeliveryState, int]:
        rows = await fetch_all(self._read, "SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        found = {DeliveryState(state): count for state, count in rows}
        return {state: found.get(state, 0) for state in DeliveryState}
