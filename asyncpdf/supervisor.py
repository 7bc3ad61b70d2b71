"""Every background loop of the service runs under one supervisor: the job tasks of both lanes,
the watcher, the delivery and notice loops, retention. A loop that raises is logged once with
its error and started again after a backoff (doubled while it keeps failing, up to
MAX_BACKOFF_S); while it is down, `health` names it, and /readyz is not ready. A loop that
returns has finished its work (its part is stopping) and is not started again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asyncpdf.health import Health

log = logging.getLogger(__name__)
BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
#: A loop that ran this long before it failed starts again after the first backoff.
STEADY_S = 60.0

Loop = Callable[[], Awaitable[None]]
#: Called before a loop starts again (after it failed), e.g. to open what it needs anew.
Reset = Callable[[], Awaitable[None]]


@dataclass
class _Running:
    task: asyncio.Task[None]
    restarts: int = 0
    #: Why it is down (waiting to start again), or None while it runs.
    down: str | None = None


class Supervisor:
    def __init__(self, backoff_s: float = BACKOFF_S, max_backoff_s: float = MAX_BACKOFF_S) -> None:
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._loops: dict[str, _Running] = {}

    def start(self, name: str, loop: Loop, reset: Reset | None = None) -> None:
        """Run `loop` under supervision until `stop`; `name` is what logs and health say."""
        task = asyncio.create_task(self._supervise(name, loop, reset), name=name)
        self._loops[name] = _Running(task)

    async def _supervise(self, name: str, loop: Loop, reset: Reset | None) -> None:
        delay = self._backoff_s
        while True:
            started = time.monotonic()
            try:
                await loop()
                return
            except Exception as exc:
                log.exception("%s stopped: %r; starting it again in %g s", name, exc, delay)
                error = repr(exc)
            if time.monotonic() - started >= STEADY_S:
                delay = self._backoff_s
            running = self._loops[name]
            running.down = error
            await asyncio.sleep(delay)
            delay = min(self._max_backoff_s, delay * 2)
            if reset is not None:
                try:
                    await reset()
                except Exception as exc:
                    log.error("%s cannot start again yet: %r", name, exc)
                    running.down = repr(exc)
                    continue
            running.restarts += 1
            running.down = None

    def restarts(self, name: str) -> int:
        running = self._loops.get(name)
        return running.restarts if running else 0

    def health_of(self, name: str) -> Health:
        """Whether the loop `name` runs (not: waiting to start again, or never started)."""
        running = self._loops.get(name)
        if running is None or running.task.done():
            return Health(False, "not running")
        if running.down is not None:
            return Health(False, f"down ({running.down}); starting again")
        again = f" (started again {running.restarts} time(s))" if running.restarts else ""
        return Health(True, f"running{again}")

    def health(self) -> Health:
        """Every loop at once: not ok while any is down."""
        down = {name: self.health_of(name) for name in self._loops}
        failing = {name: part.detail for name, part in down.items() if not part.ok}
        if failing:
            return Health(False, "; ".join(f"{name}: {why}" for name, why in failing.items()))
        restarts = sum(running.restarts for running in self._loops.values())
        return Health(True, f"{len(self._loops)} loops running, {restarts} restarts")

    async def stop(self, *names: str) -> None:
        """Cancel the loops `names` (every loop when none is named) and wait for them."""
        chosen = names or tuple(self._loops)
        tasks = [self._loops.pop(name).task for name in chosen if name in self._loops]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
