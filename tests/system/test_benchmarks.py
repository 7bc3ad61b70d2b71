"""The benchmark scripts still run against the package as it is (figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
#: A bound on one small run, on a busy machine too: the figures are printed, never checked.
BOUND_S = 480
pytestmark = pytest.mark.timeout(BOUND_S + 60)


def test_breakdown_runs_every_variant() -> None:
    script = BENCHMARKS / "analysis_breakdown.py"
    done = subprocess.run(
        [sys.executable, str(script), "--files", "2", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for variant in (
        "floor",
        "objects",
        "asyncpdf",
        "no text decoded",
        "no marks read",
        "python parse",
    ):
        assert f"  {variant} " in done.stdout


def test_readiness_benchmark_runs_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "readiness.py"),
            *("--requests", "5", "--files", "2", "--pages", "1000"),
        ],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "busy     /readyz" in done.stdout


def test_ftp_benchmark_runs_small() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "ftp.py"), "--size-mb", "4", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "asyncpdf / curl: " in done.stdout and "peak memory growth" in done.stdout


def test_burst_benchmark_runs_small(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "burst.py"),
            *("--count", "5", "--files", str(tmp_path), "--settle-s", "0.3", "--poll-s", "0.05"),
        ],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("overhead (service / pool alone): ", "/healthz during the burst", "VmHWM"):
        assert figure in done.stdout
    assert "check: none lost or duplicated (5 files" in done.stdout


def test_analyze_cli_benchmark_runs_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "analyze_cli.py"),
            *("--files", "2", "--repeat", "1", "--lines", "10"),
        ],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 files as one process, median of 1: asyncpdf " in done.stdout
    assert "× faster (target ≥ 25×)" in done.stdout
