"""`file://` targets: a local or mounted folder."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import filecmp
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os

from asyncpdf.delivery.base import (
    Delivered,
    Existing,
    Progress,
    ProgressMarks,
    names_for,
    partial_name,
    taken,
)
from asyncpdf.errors import DeliveryError

CHUNK = 1 << 20


# Errors that another try cannot mend: the name or the target must change first.
PERMANENT = frozenset({errno.ENAMETOOLONG, errno.EINVAL, errno.EPERM, errno.EISDIR})


class FileUploader:
    def check(self, url: str) -> None:
        if urlsplit(url).query:
            raise ValueError("file:// targets take no options (remove the part from '?')")

    async def upload(
        self,
        url: str,
        source: Path,
        remote_name: str,
        existing: Existing,
        *,
        progress: Progress | None = None,
    ) -> Delivered:
        folder = Path(unquote(urlsplit(url).path))
        target = folder / remote_name
        partial = folder / partial_name(source, remote_name)
        started = time.monotonic()
        size = 0
        try:
            await aiofiles.os.makedirs(folder, exist_ok=True)
            marks = ProgressMarks((await aiofiles.os.stat(source)).st_size, progress)
            async with (
                aiofiles.open(source, "rb") as reader,
                aiofiles.open(partial, "wb") as writer,
            ):
                while chunk := await reader.read(CHUNK):
                    await writer.write(chunk)
                    size += len(chunk)
                    await marks.advance(len(chunk))
                await writer.flush()
            placed = await asyncio.to_thread(_place, partial, target, existing)
        except BaseException as exc:
            # Failed or cut off by a stop: no partial file is left to hold the space.
            with contextlib.suppress(OSError):
                await aiofiles.os.remove(partial)
            if isinstance(exc, OSError):
                raise DeliveryError(
                    f"cannot write {target}: {exc.strerror or exc}",
                    permanent=exc.errno in PERMANENT,
                ) from exc
            raise
        return Delivered(remote_name=placed, bytes=size, seconds=time.monotonic() - started)


def _place(partial: Path, target: Path, existing: Existing) -> str:
    """Give the complete copy its final name without ever replacing another file unasked:
    a hard link fails where the name is taken. A file there with the same bytes is this one,
    delivered before (a retry after a stop): nothing is added."""
    if existing is Existing.REPLACE:
        partial.replace(target)
        return target.name
    for name in names_for(target.name):
        candidate = target.with_name(name)
        try:
            os.link(partial, candidate)
        except FileExistsError:
            if candidate.is_file() and filecmp.cmp(partial, candidate, shallow=False):
                partial.unlink()
                return name
            if existing is Existing.FAIL:
                raise taken(str(candidate)) from None
            continue
        partial.unlink()
        return name
    raise AssertionError("unreachable: the names never run out")
