"""A job's Ghostscript stopped by the job timeout: a file that keeps gs busy for minutes, and
the check that gs died with its pool worker rather than living on or ending on its own."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.errors import JobTimeout
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pipeline.pool import Pool
from asyncpdf.testing.processes import ghostscripts
from tests.support import wait_for

#: The job timeout under which Ghostscript is to be stopped: long enough for a worker to start
#: and Ghostscript to be seen at work on a busy machine.
GS_TIMEOUT_S = 15.0
#: Nested q/Q per page: gs's bbox pass spends many seconds a page on them.
DEPTH = 100_000
PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>


def deep_q_pages(path: Path, count: int) -> Path:
    """`count` Speedmaster-sized pages sharing one content stream of DEPTH nested q/Q and no
    paper mark, so the preview step runs the bbox pass over them: minutes for 20 pages."""
    content = b"q " * DEPTH + b"0 0 100 100 re f" + b" Q" * DEPTH
    with pikepdf.new() as pdf:
        shared = pdf.make_stream(content)
        for _ in range(count):
            pdf.add_blank_page(page_size=(2920, 2183)).obj.Contents = shared
        pdf.save(path)
    return path


def _adopting(on: bool) -> None:
    """Make this process the one that inherits (and must reap) its descendants' orphans."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on))


async def assert_ghostscript_dies_with_the_job(source: Path, out_dir: Path, under: Path) -> None:
    """Make `source`'s previews in a pool worker until the job timeout; Ghostscript, seen at
    work on a file at or below `under`, must then be killed by its worker's death: not left
    running, nor ending on its own or of a broken pipe. This process adopts the orphaned gs
    as a subreaper and reads how it died, so no sleep decides the outcome."""
    with pikepdf.open(source) as pdf:
        pages = len(pdf.pages)
    pool = Pool(workers=1, timeout_s=GS_TIMEOUT_S)
    seen: set[int] = set()
    ends: dict[int, int] = {}
    _adopting(True)
    try:
        job = asyncio.create_task(
            pool.run(make_artefacts, source, out_dir, [None] * pages, timeout_s=3600)
        )

        async def started() -> bool:
            seen.update(ghostscripts(under))
            return bool(seen) or job.done()

        async def ended() -> bool:
            for pid in seen - ends.keys():
                reaped, status = os.waitpid(pid, os.WNOHANG)
                if reaped:
                    ends[pid] = status
            return ends.keys() == seen

        await wait_for(started, 2 * GS_TIMEOUT_S, "Ghostscript at work", 0.02)
        assert not job.done(), "the job ended before its Ghostscript was seen: nothing checked"
        with pytest.raises(JobTimeout):
            await job
        await wait_for(ended, 60, "Ghostscript to end with the timed-out job's worker")
        assert all(
            os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            for status in ends.values()
        ), f"ghostscript outlived its worker and ended on its own: {ends}"
    finally:
        _adopting(False)
        for pid in ghostscripts(under):  # ours: started by this test's worker
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # adopted: ours to reap
                os.waitpid(pid, 0)
        assert await pool.run(pow, 2, 3) == 8
        await asyncio.to_thread(pool.close)
