"""benchmarks/previews.py still runs against the package as it is, and its check of the output
("of the same use") passes; its timings are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asyncpdf.pdf.ghostscript import gs_path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.skipif(gs_path() is None, reason="needs Debian's ghostscript")


@pytest.mark.timeout(540)
def test_previews_benchmark_runs_small_and_the_output_is_of_the_same_use() -> None:
    # Four files: the fourth has no paper mark, so both methods measure its content box.
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "previews.py"), "--files", "4", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=480,  # a bound on a small run, on a busy machine too
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "asyncpdf vs baseline: " in done.stdout
    assert "same use: every check passed for every file" in done.stdout
    assert " bbox " in done.stdout
