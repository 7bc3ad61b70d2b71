"""Work the database refused to write (a full disk, an I/O error, a lock held too long): held
here, not dropped, and done again once the database takes writes, without a restart. While
anything is held, the database's part of /readyz says so and is not ready.

Each held item is a retry (resume the job; write the delivery's receipt). The loop tries the
oldest now and then, backing off while the database still refuses; once one goes through, the
rest follow.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from asyncpdf.health import Health

log = logging.getLogger(__name__)
RETRY_S = 0.5
MAX_RETRY_S = 5.0
Retry = Callable[[], Awaitable[None]]


class Held:
    def __init__(self) -> None:
        #: What is held (e.g. "job 12"), oldest first, with its retry.
        self._held: dict[str, Retry] = {}
        self._error: str | None = None
        self._wake = asyncio.Event()

    def hold(self, what: str, retry: Retry, error: BaseException) -> None:
        """Hold `what` until the database takes writes again, then run `retry`."""
        if what not in self._held:
            log.error(
                "%s: the database refused a write (%s); held until it takes writes again",
                what,
                error,
            )
        self._held[what] = retry
        self._error = str(error)
        self._wake.set()

    @property
    def count(self) -> int:
        return len(self._held)

    def health(self) -> Health | None:
        """Not ready while anything is held; None when nothing is."""
        if not self._held:
            return None
        first = next(iter(self._held))
        return Health(
            False,
            f"refused a write ({self._error}): {len(self._held)} held (e.g. {first}), "
            "done again once it takes writes",
        )

    async def run(self) -> None:
        """Retry what is held until nothing is (a loop for the supervisor)."""
        while True:
            await self._wake.wait()
            delay = RETRY_S
            while self._held:
                what, retry = next(iter(self._held.items()))
                del self._held[what]
                try:
                    await retry()
                except sqlite3.Error as exc:
                    self._held = {what: retry, **self._held}
                    self._error = str(exc)
                    await asyncio.sleep(delay)
                    delay = min(MAX_RETRY_S, delay * 2)
                    continue
                except Exception:
                    log.exception("%s: could not be done again", what)
                    continue
                log.info("%s: done again, the database takes writes", what)
                delay = RETRY_S
            self._error = None
            self._wake.clear()
