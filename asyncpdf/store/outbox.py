"""Queries of the `outbox` table: one notice per job and recipient, written in the same
transaction as the job's end, so a notice is never lost and never made twice. State changes
are checked against the lifecycle and guarded by the state the caller saw, as the jobs' and
deliveries' are."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

import aiosqlite

from asyncpdf.domain.lifecycle import NoticeState, check_notice
from asyncpdf.domain.records import Notification
from asyncpdf.errors import IllegalTransition
from asyncpdf.store.reads import fetch_all, fetch_one

_COLUMNS = "id, job_id, channel, address, state, attempts, next_attempt_at, error, sent_at"
PENDING, SENDING, SENT, FAILED = (
    NoticeState.PENDING,
    NoticeState.SENDING,
    NoticeState.SENT,
    NoticeState.FAILED,
)


def _notification(row: aiosqlite.Row) -> Notification:
    (id_, job_id, channel, address, state, *rest) = row
    return Notification(id_, job_id, channel, address, NoticeState(state), *rest)


class OutboxTable:
    def __init__(self, db: aiosqlite.Connection, read: aiosqlite.Connection) -> None:
        self._db = db
        # Reads outside a transaction go to a connection of their own, which sees only what
        # has been committed.
        self._read = read

    async def add(self, job_id: int, recipients: Iterable[tuple[str, str]]) -> None:
        """A notice of the job to each (channel, address), due at once."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        now = time.time()
        # A job that ends again (its failed deliveries retried) is notified again.
        await self._db.executemany(
            "INSERT INTO outbox (job_id, channel, address, state, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, channel, address) DO UPDATE SET"
            " state = excluded.state, attempts = 0, next_attempt_at = excluded.next_attempt_at,"
            " error = NULL, sent_at = NULL",
            [(job_id, channel, address, PENDING, now, now) for channel, address in recipients],
        )

    async def due(self, now: float, limit: int) -> list[Notification]:
        rows = await fetch_all(
            self._read,
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ? AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (PENDING, now, limit),
        )
        return [_notification(row) for row in rows]

    async def next_due_at(self) -> float | None:
        row = await fetch_one(
            self._read, "SELECT min(next_attempt_at) FROM outbox WHERE state = ?", (PENDING,)
        )
        return None if row is None or row[0] is None else float(row[0])

    async def take(self, notification: Notification) -> Notification | None:
        """Mark a due notice as being sent, so it is sent by one task only; None when it is
        no longer pending."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        check_notice(notification.state, SENDING)
        cursor = await self._db.execute(
            "UPDATE outbox SET state = ? WHERE id = ? AND state = ?",
            (SENDING, notification.id, PENDING),
        )
        return replace(notification, state=SENDING) if cursor.rowcount else None

    async def interrupted_to_pending(self) -> None:
        """Notices cut off by a stop go again (a recipient may hear of the job twice, never
        not at all)."""
        assert self._db.in_transaction, "write inside Store.transaction()"
        await self._db.execute("UPDATE outbox SET state = ? WHERE state = ?", (PENDING, SENDING))

    async def of_job(self, job_id: int) -> list[Notification]:
        rows = await fetch_all(
            self._read, f"SELECT {_COLUMNS} FROM outbox WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [_notification(row) for row in rows]

    async def sent(self, notification: Notification) -> None:
        await self._set(notification, SENT, error=None, sent_at=time.time(), next_attempt_at=None)

    async def retry(self, notification: Notification, error: str, at: float) -> None:
        await self._set(notification, PENDING, error=error, next_attempt_at=at)

    async def failed(self, notification: Notification, error: str) -> None:
        await self._set(notification, FAILED, error=error, next_attempt_at=None)

    async def _set(self, notification: Notification, state: NoticeState, **fields: object) -> None:
        assert self._db.in_transaction, "write inside Store.transaction()"
        check_notice(notification.state, state)
        columns = {"state": state, "attempts": notification.attempts + 1, **fields}
        assignments = ", ".join(f"{name} = ?" for name in columns)
        cursor = await self._db.execute(
            f"UPDATE outbox SET {assignments} WHERE id = ? AND state = ?",
            (*columns.values(), notification.id, notification.state),
        )
        if not cursor.rowcount:
            raise IllegalTransition(
                f"notice {notification.id} is no longer {notification.state.value}; "
                f"not moved to {state.value}"
            )
