"""Out of file descriptors, asyncio's accept loop logs a traceback for every failed accept();
this handler turns that flood into a count and one line a minute."""

from __future__ import annotations

import asyncio
import logging
import math
import resource
from collections.abc import Callable
from typing import Any

from asyncpdf.metrics import Metrics

log = logging.getLogger(__name__)
#: asyncio's message when accept() fails with EMFILE, ENFILE, ENOBUFS or ENOMEM.
ACCEPT_ERROR = "socket.accept() out of system resource"
ACCEPT_REPORT_S = 60.0

ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


class AcceptErrors:
    """The loop's exception handler: asyncio's failed accept() becomes one line a minute.

    Out of file descriptors, asyncio logs each failed accept() at ERROR with a traceback, up to
    the listen backlog per loop pass, and tries again a second later (121 MB of log in 45 s).
    The connections wait in the backlog either way; this counts the failures in
    `asyncpdf_accept_failures` and says so once a minute. Anything else goes to the handler
    there was before.
    """

    def __init__(self, metrics: Metrics, previous: ExceptionHandler | None) -> None:
        self.previous = previous
        self._metrics = metrics
        self._next_report = -math.inf
        self._unreported = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_ERROR:
            if self.previous is None:
                loop.default_exception_handler(context)
            else:
                self.previous(loop, context)
            return
        self._metrics.accept_failures.inc()
        self._unreported += 1
        now = loop.time()
        if now < self._next_report:
            return
        self._next_report = now + ACCEPT_REPORT_S
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        log.error(
            "cannot accept connections: %s (open-files limit %d); they wait until descriptors "
            "are free (%d failed tries since the last such line; this line at most every %g s)",
            context.get("exception"),
            soft,
            self._unreported,
            ACCEPT_REPORT_S,
        )
        self._unreported = 0
