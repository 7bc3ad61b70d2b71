"""`file://` targets: a local or mounted folder."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import filecmp
import os
import time
from collections.abc import Callable
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
        # The whole copy is one call in a thread (a burst's copies each cost the event loop one
        # wake-up, not one per open, read, write and close); a large file's chunks are told to
        # the loop as they are written, for its progress marks.
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[int | None] = asyncio.Queue()

        def told(size: int | None) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, size)

        copying = asyncio.ensure_future(
            asyncio.to_thread(_copy, source, partial, target, existing, told if progress else None)
        )
        try:
            if progress is not None and (total := await chunks.get()) is not None:
                marks = ProgressMarks(total, progress)
                while (size := await chunks.get()) is not None:
                    await marks.advance(size)
            size, placed = await copying
        except BaseException as exc:
            copying.cancel()
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


def _copy(
    source: Path,
    partial: Path,
    target: Path,
    existing: Existing,
    told: Callable[[int | None], None] | None,
) -> tuple[int, str]:
    """Copy `source` under the partial name, then give it its own (`_place`); the bytes and
    the name. `told` hears the size of a file large enough for progress marks, then each
    chunk, then None; else only None."""
    size = 0
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as reader, partial.open("wb") as writer:
            total = os.fstat(reader.fileno()).st_size
            report = told if told is not None and total > ProgressMarks.MIN_BYTES else None
            if report is not None:
                report(total)
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                size += len(chunk)
                if report is not None:
                    report(len(chunk))
    finally:
        if told is not None:
            told(None)
    return size, _place(partial, target, existing)


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
