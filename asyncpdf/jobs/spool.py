"""Where a job's file lives: hotfolder → spool/<job id>/<name> → done/ or error/.

The spool holds only unfinished jobs. A claim is one atomic rename, so a file is either still
in the hotfolder or already in the spool, never both and never neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from pathlib import Path

from asyncpdf.config import Paths
from asyncpdf.errors import ConfigError
from asyncpdf.jobs.lifecycle import JobState
from asyncpdf.jobs.records import JobHeader

_HASH_CHUNK = 1 << 20


class Spool:
    def __init__(self, paths: Paths) -> None:
        self._paths = paths

    def prepare(self) -> None:
        for folder in (
            self._paths.hotfolder,
            self._paths.spool,
            self._paths.done,
            self._paths.error,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        if os.stat(self._paths.hotfolder).st_dev != os.stat(self._paths.spool).st_dev:
            raise ConfigError("paths.spool must be on the same filesystem as paths.hotfolder")

    def path(self, job_id: int, name: str) -> Path:
        return self._paths.spool / str(job_id) / name

    def hotfolder_path(self, name: str) -> Path:
        return self._paths.hotfolder / name

    async def claim(self, source: Path, job_id: int) -> Path:
        return await asyncio.to_thread(self._claim, source, job_id)

    def _claim(self, source: Path, job_id: int) -> Path:
        target = self.path(job_id, source.name)
        target.parent.mkdir(exist_ok=True)
        source.rename(target)
        if source.parent.parent == self._paths.spool:
            # Adopted from a spool folder the store did not know: leave no empty folder behind.
            with contextlib.suppress(OSError):
                source.parent.rmdir()
        return target

    async def release(self, job: JobHeader, reason: str | None = None) -> Path | None:
        """Move a finished job's file out of the spool; a failed one gets its reason beside it."""
        return await asyncio.to_thread(self._release, job, reason)

    def _release(self, job: JobHeader, reason: str | None) -> Path | None:
        source = self.path(job.id, job.name)
        if not source.exists():
            return None
        folder = self._paths.done if job.state is JobState.DONE else self._paths.error
        target = _free_name(folder, job)
        if job.state is not JobState.DONE:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            Path(f"{target}.error.txt").write_text(
                f"job {job.id} {job.state.value} at {stamp}\n{reason or job.error or ''}\n",
                encoding="utf-8",
            )
        source.rename(target)
        source.parent.rmdir()
        return target

    def entries(self) -> list[tuple[int, Path]]:
        """(job id, file) for every file in the spool, including ones the store may not know."""
        found: list[tuple[int, Path]] = []
        for folder in sorted(self._paths.spool.iterdir()):
            if folder.is_dir() and folder.name.isdigit():
                found.extend((int(folder.name), f) for f in sorted(folder.iterdir()) if f.is_file())
        return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _free_name(folder: Path, job: JobHeader) -> Path:
    target = folder / job.name
    if not target.exists():
        return target
    stem, suffix = os.path.splitext(job.name)
    return folder / f"{stem} (job {job.id}){suffix}"
