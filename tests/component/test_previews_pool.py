"""The previews in a real pool worker: a job that times out takes its Ghostscript with it, now
that Ghostscript works on the job's own preview file rather than on the original."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.errors import JobTimeout
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.pipeline.pool import Pool
from asyncpdf.testing.processes import ghostscripts

pytestmark = pytest.mark.skipif(gs_path() is None, reason="needs Debian's ghostscript")

DEPTH = 100_000


async def test_ghostscript_on_the_preview_does_not_outlive_a_timed_out_job(tmp_path: Path) -> None:
    # 100000 nested q/Q: Ghostscript's content box takes many seconds, and there is no paper
    # mark, so the preview step measures it, on the preview it has just written.
    source = tmp_path / "123_deepq_Leonov.pdf"
    with pikepdf.new() as pdf:
        page = pdf.add_blank_page(page_size=(2920, 2183))
        page.obj.Contents = pdf.make_stream(b"q " * DEPTH + b"0 0 100 100 re f" + b" Q" * DEPTH)
        pdf.save(source)
    previews = tmp_path / "previews"
    pool = Pool(workers=1, timeout_s=3)
    try:
        job = asyncio.ensure_future(
            pool.run(make_artefacts, source, previews, [None], timeout_s=60)
        )
        deadline = asyncio.get_running_loop().time() + 2.5
        while not ghostscripts(tmp_path) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert ghostscripts(tmp_path), "the job never got to ghostscript: nothing was checked"
        with pytest.raises(JobTimeout):
            await job
        await asyncio.sleep(1)
        assert not ghostscripts(tmp_path), "ghostscript still running after the job timed out"
    finally:
        for pid in ghostscripts(tmp_path):  # ours: started by this test's worker
            os.kill(pid, signal.SIGKILL)
        assert await pool.run(pow, 2, 3) == 8
        pool.close()
