"""The process pool survives workers that crash or hang, and fails only the culprit."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from asyncpdf.errors import JobTimeout, OutOfMemory, WorkerCrashed
from asyncpdf.pool import Pool
from tests.pool_functions import allocate, crash, hang, slow_square


@pytest.fixture
async def pool():
    pool = Pool(workers=2, timeout_s=3)
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


async def test_hanging_worker_times_out_and_pool_recovers(pool: Pool) -> None:
    started = time.monotonic()
    with pytest.raises(JobTimeout, match="3 s"):
        await pool.run(hang)
    assert time.monotonic() - started < 10
    assert pool.replacements == 1
    assert await pool.run(pow, 2, 3) == 8


async def test_innocent_calls_survive_a_crash_beside_them(pool: Pool) -> None:
    innocent = asyncio.create_task(pool.run(slow_square, 7))
    await asyncio.sleep(0.2)
    with pytest.raises(WorkerCrashed):
        await pool.run(crash)
    assert await innocent == 49


async def test_a_call_that_needs_too_much_memory_fails_alone() -> None:
    pool = Pool(workers=1, timeout_s=10, memory_mb=512)
    try:
        assert await pool.run(allocate, 64) == 64 << 20
        with pytest.raises(OutOfMemory, match="512 MB"):
            await pool.run(allocate, 1024)
        assert await pool.run(allocate, 64) == 64 << 20
        assert pool.replacements == 0
    finally:
        await asyncio.to_thread(pool.close)
