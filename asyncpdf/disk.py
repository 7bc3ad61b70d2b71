"""Free space where the service writes: the spool's file system (spool, done/, error/ and the
previews share it) and the database's. Below `disk.min_free_mb` the service is not ready and
leaves new files in the hotfolder, untouched, until space returns: a job that cannot be
written must not be started."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from asyncpdf.health import Health

#: Free space is asked of the kernel at most this often.
CHECK_EVERY_S = 2.0
MB = 1 << 20


@dataclass(frozen=True)
class Free:
    part: str
    path: Path
    free_mb: float

    def as_json(self) -> dict[str, object]:
        return {"path": str(self.path), "free_mb": round(self.free_mb, 1)}


def _free(part: str, path: Path) -> Free:
    found = os.statvfs(path)
    return Free(part, path, found.f_bavail * found.f_frsize / MB)


class DiskSpace:
    def __init__(self, folders: dict[str, Path], min_free_mb: int) -> None:
        self._folders = folders
        self._min_free_mb = min_free_mb
        self._found: list[Free] = []
        self._checked_at = -float("inf")

    async def free(self) -> list[Free]:
        if time.monotonic() - self._checked_at >= CHECK_EVERY_S:
            self._found = await asyncio.to_thread(
                lambda: [_free(part, path) for part, path in self._folders.items()]
            )
            self._checked_at = time.monotonic()
        return self._found

    async def too_low(self) -> str | None:
        """Why new files must wait, or None while there is room."""
        low = [found for found in await self.free() if found.free_mb < self._min_free_mb]
        if not low:
            return None
        places = ", ".join(f"{f.part} ({f.path}) has {f.free_mb:.0f} MB free" for f in low)
        return (
            f"{places}, below disk.min_free_mb ({self._min_free_mb} MB): new files wait in the "
            "hotfolder until space is freed"
        )

    async def room_for(self, part: str, nbytes: int) -> str | None:
        """Why `nbytes` more cannot be written to `part`'s file system now (asked of the
        kernel afresh: uploads under way take space between two looks), or None."""
        found = await asyncio.to_thread(_free, part, self._folders[part])
        left_mb = found.free_mb - nbytes / MB
        if left_mb >= self._min_free_mb:
            return None
        return (
            f"{part} ({found.path}) has {found.free_mb:.0f} MB free; {nbytes / MB:.0f} MB more "
            f"would leave less than disk.min_free_mb ({self._min_free_mb} MB)"
        )

    async def health(self) -> Health:
        try:
            reason = await self.too_low()
        except OSError as exc:
            return Health(False, f"cannot tell the free space: {exc}")
        facts = {found.part: found.as_json() for found in self._found}
        detail = reason or ", ".join(f"{f.part} {f.free_mb:.0f} MB free" for f in self._found)
        return Health(reason is None, detail, {**facts, "min_free_mb": self._min_free_mb})
