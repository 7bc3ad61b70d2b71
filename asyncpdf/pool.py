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
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Any, TypeVar

from asyncpdf.errors import JobTimeout, OutOfMemory, WorkerCrashed
from asyncpdf.lifetime import die_with_parent

log = logging.getLogger(__name__)
T = TypeVar("T")
_TASKS_PER_CHILD = 100


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
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            if process.is_alive():
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)
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

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `func(*args, **kwargs)` in a worker process, within the job timeout.

        A worker crash breaks every call in flight on the shared pool, and nothing tells which
        call caused it; so each of them runs again in a process of its own, where a second
        crash can only be its own.
        """
        call = functools.partial(func, *args, **kwargs)
        try:
            return await self._run_in(self._executor, call)
        except BrokenExecutor:
            log.warning("a pool worker died; running %s again on its own", func.__name__)
        isolated = self._new_executor(workers=1)
        try:
            return await self._run_in(isolated, call)
        except BrokenExecutor:
            raise WorkerCrashed("a pool worker died while working on this file") from None
        finally:
            isolated.shutdown(wait=False, cancel_futures=True)

    async def ping(self) -> None:
        await self.run(os.getpid)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
