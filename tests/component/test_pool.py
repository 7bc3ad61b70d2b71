"""The process pool survives workers that crash or hang, and fails only the culprit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncpdf.errors import JobTimeout, OutOfMemory, WorkerCrashed
from asyncpdf.pipeline.pool import Pool
from tests.support import wait_for
from tests.support.workers import allocate, crash, hang, signalled_square

#: Far above what any call here needs on a busy machine; the hang test has its own.
TIMEOUT_S = 120
HANG_TIMEOUT_S = 3


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    pool = Pool(workers=2, timeout_s=TIMEOUT_S)
    yield pool
    await asyncio.to_thread(pool.close)


async def test_runs_plain_functions(pool: Pool) -> None:
    assert await pool.run(pow, 3, 4) == 81
    assert await pool.run(os.getpid) != os.getpid()


async def test_segfaulting_worker_fails_the_call_and_pool_recovers(pool: Pool) -> None:
    with pytest.raises(WorkerCrashed, match="worker died"):
        await pool.run(crash)
    assert pool.replacements == 1
    assert await pool.run(pow, 2, 10) == 1024


async def test_hanging_worker_times_out_and_pool_recovers() -> None:
    pool = Pool(workers=2, timeout_s=HANG_TIMEOUT_S)
    try:
        # Bounded, not timed: the time-out comes, however long a busy machine takes to it.
        with pytest.raises(JobTimeout, match=f"{HANG_TIMEOUT_S} s"):
            await asyncio.wait_for(pool.run(hang), TIMEOUT_S)
        assert pool.replacements == 1
        assert await pool.run(pow, 2, 3) == 8
    finally:
        await asyncio.to_thread(pool.close)


async def test_workers_are_replaced_after_many_calls_without_a_hang() -> None:
    """A burst of calls past the number after which workers are replaced: all are answered
    (Python 3.11's own `max_tasks_per_child` could leave them queued with no worker), in
    both lanes."""
    pool = Pool(workers=1, timeout_s=TIMEOUT_S, short_workers=1)
    try:
        squares = await asyncio.gather(*(pool.run(pow, n, 2) for n in range(250)))
        assert squares == [n * n for n in range(250)]
        pids = await asyncio.gather(*(pool.run(os.getpid, short=True) for _ in range(20)))
        assert os.getpid() not in pids
    finally:
        await asyncio.to_thread(pool.close)


async def test_innocent_calls_survive_a_crash_beside_them(pool: Pool, tmp_path: Path) -> None:
    started = tmp_path / "started"
    innocent = asyncio.create_task(pool.run(signalled_square, started, 7))

    async def running() -> bool:
        return started.exists()

    await wait_for(running, TIMEOUT_S, "the innocent call to run in its worker")
    with pytest.raises(WorkerCrashed):
        await pool.run(crash)
    assert await innocent == 49


async def test_a_call_that_needs_too_much_memory_fails_alone() -> None:
    pool = Pool(workers=1, timeout_s=TIMEOUT_S, memory_mb=512)
    try:
        assert await pool.run(allocate, 64) == 64 << 20
        with pytest.raises(OutOfMemory, match="512 MB"):
            await pool.run(allocate, 1024)
        assert await pool.run(allocate, 64) == 64 << 20
        assert pool.replacements == 0
    finally:
        await asyncio.to_thread(pool.close)


SERVICE = """
import asyncio, os, sys, time
from asyncpdf.pipeline.pool import Pool

async def main():
    pool = Pool(workers=1, timeout_s=120)
    print(await pool.run(os.getpid), flush=True)
    time.sleep(60)

if __name__ == "__main__":
    asyncio.run(main())
"""


def alive(pid: int) -> bool:
    """Running, not a zombie; a process gone between the two looks is not alive either."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_with_a_service_that_is_killed_outright(tmp_path: Path) -> None:
    """SIGKILL leaves the service no chance to stop its pool: the workers must not live on."""
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    root = Path(__file__).resolve().parents[2]
    service = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        assert alive(worker)
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=TIMEOUT_S)
    deadline = time.monotonic() + TIMEOUT_S
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker), f"worker {worker} outlived the service"
