"""The process pool for CPU work: a timeout per call, and a fresh pool after a crash or hang.

Two lanes of workers: short calls (the analysis, milliseconds) go to workers of their own, so
they never wait behind a long call (previews: crop, render, Ghostscript, hundreds of ms); long
calls run in the others at a lower CPU priority (nice), so while both want the cores the
analyses and the service's own loop come first. A pool made without short workers runs every
call in its one lane.

Workers are spawned (not forked from the event loop's process; a batch command with nothing
to keep from them may fork its one worker, see `start_method`), ignore SIGINT so Ctrl-C
reaches only the service, which then shuts the pool down in order, and die with the service
when it is killed outright. Each may be given an address-space limit, which the Ghostscript it
starts inherits: a small file that inflates to gigabytes (a decompression bomb) then fails its
job instead of exhausting the machine.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Any, TypeVar

from asyncpdf.errors import JobTimeout, OutOfMemory, WorkerCrashed
from asyncpdf.health import Health
from asyncpdf.lifetime import die_with_parent

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Told why a call runs a second time (for the job's log).
Note = Callable[[str], Awaitable[None]]
# Workers are replaced after so many calls each (whatever a library leaks goes with them): by
# the pool, a whole executor at a time, not by `max_tasks_per_child`, after which Python 3.11's
# executor may start no new worker and hang every call still queued. The short lane's worker
# starts anew rarely: a burst's analyses would wait for it.
_CALLS_PER_WORKER = {False: 100, True: 1000}
CLOSE_GRACE_S = 5.0
#: Niceness of the workers for long calls (and their Ghostscript), beside the short lane's.
LONG_CALLS_NICE = 10
#: Niceness of the short lane's workers: below the service's own process, whose database
#: round trips and deliveries are short waits that a busy analysis worker would otherwise
#: delay by a whole time slice each, yet above the long calls.
SHORT_CALLS_NICE = 4


def _start_worker(memory_mb: int | None, service_pid: int, nice: int = 0) -> None:
    die_with_parent(service_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    if memory_mb is not None:
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Pool:
    def __init__(
        self,
        workers: int,
        timeout_s: float,
        memory_mb: int | None = None,
        *,
        short_workers: int = 0,
        start_method: str = "spawn",
    ) -> None:
        self._workers = workers
        self._start_method = start_method
        self._short_workers = short_workers
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        # Long calls yield the CPU only where a lane of short calls is there to take it.
        self._nice = LONG_CALLS_NICE if short_workers else 0
        self._executor = self._new_executor()
        # Started on the first short call: a batch command that makes no previews has one lane.
        self._short: ProcessPoolExecutor | None = None
        #: Calls given to each lane's executor: after enough it is replaced (see above).
        self._calls = {False: 0, True: 0}
        #: Workers of replaced executors, still finishing their calls (killed on close).
        self._retired: list[multiprocessing.process.BaseProcess] = []
        self.replacements = 0

    def _new_executor(
        self, workers: int | None = None, nice: int | None = None
    ) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers or self._workers,
            mp_context=multiprocessing.get_context(self._start_method),
            initializer=_start_worker,
            initargs=(self._memory_mb, os.getpid(), self._nice if nice is None else nice),
        )

    def _lane(self, short: bool) -> ProcessPoolExecutor:
        """The executor for the next call of a lane (a pool without short workers has one)."""
        short = short and bool(self._short_workers)
        workers = self._short_workers if short else self._workers
        if self._calls[short] >= _CALLS_PER_WORKER[short] * workers:
            self._retire(short)
        self._calls[short] += 1
        if not short:
            return self._executor
        if self._short is None:
            self._short = self._new_executor(self._short_workers, nice=SHORT_CALLS_NICE)
        return self._short

    def _retire(self, short: bool) -> None:
        """Give a lane a fresh executor; the old one finishes its calls, then its workers end."""
        old = self._short if short else self._executor
        if short:
            self._short = None
        else:
            self._executor = self._new_executor()
        self._calls[short] = 0
        if old is not None:
            # shutdown() forgets the workers: take them first.
            self._retired = [p for p in self._retired if p.is_alive()] + _workers(old)
            old.shutdown(wait=False)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        # ProcessPoolExecutor cannot cancel a running call; killing its workers is the only way
        # to stop a hung one, and it breaks the executor, so a shared one is replaced.
        _kill_workers(executor)
        if executor is self._executor:
            self._executor = self._new_executor()
        elif executor is self._short:
            self._short = None
        else:
            return
        self.replacements += 1
        log.warning("process pool replaced (%d so far)", self.replacements)

    async def _run_in(self, executor: ProcessPoolExecutor, call: Callable[[], T]) -> T:
        future = asyncio.get_running_loop().run_in_executor(executor, call)
        try:
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            self._discard(executor)
            raise JobTimeout(f"took longer than the job timeout of {self._timeout_s:g} s") from None
        except BrokenExecutor:
            self._discard(executor)
            raise
        except MemoryError:
            limit = (
                f"a worker may take ({self._memory_mb} MB, pool.worker_memory_mb in the config)"
                if self._memory_mb is not None
                else "the machine has"
            )
            raise OutOfMemory(f"needed more memory than {limit}") from None

    async def run(
        self,
        func: Callable[..., T],
        *args: Any,
        retried: Note | None = None,
        short: bool = False,
        **kwargs: Any,
    ) -> T:
        """Run `func(*args, **kwargs)` in a worker process, within the job timeout; a `short`
        call in the lane of short calls, never behind a long one.

        A worker crash breaks every call in flight on the shared pool, and nothing tells which
        call caused it; so each of them runs again in a process of its own, where a second
        crash can only be its own, and `retried` is told so (for the job's log).
        """
        call = functools.partial(func, *args, **kwargs)
        try:
            return await self._run_in(self._lane(short), call)
        except BrokenExecutor:
            log.warning("a pool worker died; running %s again on its own", func.__name__)
            if retried is not None:
                await retried(
                    "a pool worker died while this and other files were in work; "
                    "trying again in a process of its own"
                )
        isolated = self._new_executor(workers=1, nice=SHORT_CALLS_NICE if short else None)
        try:
            return await self._run_in(isolated, call)
        except BrokenExecutor:
            raise WorkerCrashed("a pool worker died while working on this file") from None
        finally:
            isolated.shutdown(wait=False, cancel_futures=True)

    def health(self) -> Health:
        """From the workers' processes, without queuing a call behind the jobs."""
        executor = self._executor
        broken = getattr(executor, "_broken", False)
        if broken:
            return Health(False, f"broken: {broken}")
        # A worker that died is replaced by the next call (see `run`); only a broken executor
        # that no call has replaced yet is a failure.
        alive = sum(process.is_alive() for process in _workers(executor))
        short = ""
        if self._short_workers:
            up = sum(process.is_alive() for process in _workers(self._short)) if self._short else 0
            short = f" and {up} of {self._short_workers} for short calls"
        return Health(
            True, f"{alive} of {self._workers} workers up{short}, {self.replacements} replaced"
        )

    def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Stop the workers: those still inside a call get `grace_s`, then are killed (the
        call's job resumes at the next start), so a hung file cannot hold up a shutdown."""
        # shutdown() forgets the workers: take them first.
        executors = [e for e in (self._executor, self._short) if e is not None]
        processes = [p for executor in executors for p in _workers(executor)] + self._retired
        for executor in executors:
            executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        _kill(processes)


def _workers(executor: ProcessPoolExecutor | None) -> list[multiprocessing.process.BaseProcess]:
    return list((getattr(executor, "_processes", None) or {}).values())


def _kill(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    _kill(_workers(executor))
    executor.shutdown(wait=False, cancel_futures=True)
