"""Which Ghostscript processes are running on which files (for tests and benchmarks that
check a pool worker's Ghostscript is busy, or died with it). Reads /proc; Linux only."""

from __future__ import annotations

import os
from pathlib import Path


def ghostscripts(under: Path) -> list[int]:
    """Pids of running `gs` processes with an argument that is `under` or lies below it."""
    prefix = os.fsencode(under)
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gs") and any(arg.startswith(prefix) for arg in argv):
            pids.append(int(entry.name))
    return pids
