"""The previews in a real pool worker: a job that times out takes its Ghostscript with it, now
that Ghostscript works on the job's own preview file rather than on the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncpdf.pdf.ghostscript import gs_path
from tests.support.ghostscript import assert_ghostscript_dies_with_the_job, deep_q_pages

pytestmark = pytest.mark.skipif(gs_path() is None, reason="needs Debian's ghostscript")


async def test_ghostscript_on_the_preview_does_not_outlive_a_timed_out_job(tmp_path: Path) -> None:
    source = deep_q_pages(tmp_path / "123_deepq_Leonov.pdf", 20)
    previews = tmp_path / "previews"
    # Seen under previews/ only: Ghostscript works on the preview the step has just written.
    await assert_ghostscript_dies_with_the_job(source, previews, under=previews)
