"""Functions for pool workers in tests. Kept in a module of their own so a spawned worker
imports only this and the analysis, not the test modules and their fixtures."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from asyncpdf.analysis import analyze_file
from asyncpdf.detect import Rules


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def hang() -> None:
    time.sleep(3600)


def allocate(mb: int) -> int:
    return len(bytearray(mb << 20))


def slow_square(value: int) -> int:
    time.sleep(0.5)
    return value * value


def troublesome_analysis(path: Path, rules: Rules, timeout_s: float) -> dict[str, Any]:
    """The real analysis, except for files whose names ask for a crash or a hang."""
    if "crash" in path.name:
        crash()
    if "hang" in path.name:
        hang()
    return analyze_file(path, rules, timeout_s)
