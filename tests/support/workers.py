"""Functions for pool workers in tests. Kept in a module of their own so a spawned worker
imports only this and the analysis, not the test modules and their fixtures."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.model import Analysis, Artefacts
from asyncpdf.pdf.rules import Rules

#: The longest a gated preview step waits for its gate.
GATE_S = 600


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def hang() -> None:
    time.sleep(3600)


def allocate(mb: int) -> int:
    return len(bytearray(mb << 20))


def slow_square(value: int) -> int:
    time.sleep(0.5)
    return value * value


def signalled_square(started: Path, value: int) -> int:
    """`slow_square`, saying it has started by making the file `started`."""
    started.touch()
    return slow_square(value)


def troublesome_analysis(path: Path, rules: Rules) -> Analysis:
    """The real analysis, except for files whose names ask for a crash or a hang."""
    if "crash" in path.name:
        crash()
    if "hang" in path.name:
        hang()
    return analyze_file(path, rules)


def gated_artefacts(source: Path, out_dir: Path, *args: Any, **kwargs: Any) -> Artefacts:
    """The real previews, made only once a file `gate` appears beside the job's preview folder
    (`previews/gate`): the test decides when the preview step may end. (The deadline only
    frees a worker a failed test never opened the gate for: tests give the pool a job
    timeout as long, so the previews are held for as long as the test waits.)"""
    gate = out_dir.parent / "gate"
    deadline = time.monotonic() + GATE_S
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return make_artefacts(source, out_dir, *args, **kwargs)
