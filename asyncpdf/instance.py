"""One service per data folder: an exclusive lock on a file beside the database, taken before
anything touches the spool or the database, held until the process ends (the kernel drops it
even after SIGKILL, so a crash never leaves a stale lock)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from asyncpdf.errors import AlreadyRunning


class InstanceLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another asyncpdf (PID {holder}) is already running on {self.path.parent} "
                f"(lock {self.path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
