"""The process pool for CPU work: a timeout per call, and a fresh pool after a crash or hang.

Workers are spawned (not forked from the event loop's process), ignore SIGINT so Ctrl-C
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
_TASKS_PER_CHILD = 100
CLOSE_GRACE_S = 5.0


def _start_worker(memory_mb: int | None, service_pid: int) -> None:
    die_with_parent(service_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_mb is not None:
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Pool:
    def __init__(self, workers: int, timeout_s: float, memory_mb: int | None = None) -> None:
        self._workers = workers
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        self._executor = self._new_executor()
        self.replacements = 0

    def _new_executor(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers or self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._memory_mb, os.getpid()),
            max_tasks_per_child=_TASKS_PER_CHILD,
        )

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        # ProcessPoolExecutor cannot cancel a running call; killing its workers is the only way
        # to stop a hung one, and it breaks the executor, so a shared one is replaced.
        _kill_workers(executor)
        if executor is self._executor:
            self._executor = self._new_executor()
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
        self, func: Callable[..., T], *args: Any, retried: Note | None = None, **kwargs: Any
    ) -> T:
        """Run `func(*args, **kwargs)` in a worker process, within the job timeout.

        A worker crash breaks every call in flight on the shared pool, and nothing tells which
        call caused it; so each of them runs again in a process of its own, where a second
        crash can only be its own, and `retried` is told so (for the job's log).
        """
        call = functools.partial(func, *args, **kwargs)
        try:
            return await self._run_in(self._executor, call)
        except BrokenExecutor:
            log.warning("a pool worker died; running %s again on its own", func.__name__)
            if retried is not None:
                await retried(
                    "a pool worker died while this and other files were in work; "
                    "trying again in a process of its own"
                )
        isolated = self._new_executor(workers=1)
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
        processes = (getattr(executor, "_processes", None) or {}).values()
        alive = sum(process.is_alive() for process in processes)
        return Health(True, f"{alive} of {self._workers} workers up, {self.replacements} replaced")

    def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Stop the workers: those still inside a call get `grace_s`, then are killed (the
        call's job resumes at the next start), so a hung file cannot hold up a shutdown."""
        # shutdown() forgets the workers: take them first.
        processes = _workers(self._executor)
        self._executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        _kill(processes)


def _workers(executor: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    return list((getattr(executor, "_processes", None) or {}).values())


def _kill(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    _kill(_workers(executor))
    executor.shutdown(wait=False, cancel_futures=True)
