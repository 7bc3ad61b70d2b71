"""`file://` targets: a local or mounted folder."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os

from asyncpdf.errors import DeliveryError

CHUNK = 1 << 20


async def deliver_file(url: str, source: Path, remote_name: str) -> tuple[int, float]:
    """Copy `source` into the folder of a `file://` URL; return (bytes, seconds)."""
    folder = Path(unquote(urlsplit(url).path))
    target = folder / remote_name
    partial = folder / f".{remote_name}.part"
    started = time.monotonic()
    size = 0
    try:
        await aiofiles.os.makedirs(folder, exist_ok=True)
        async with aiofiles.open(source, "rb") as reader, aiofiles.open(partial, "wb") as writer:
            while chunk := await reader.read(CHUNK):
                await writer.write(chunk)
                size += len(chunk)
            await writer.flush()
        await aiofiles.os.replace(partial, target)
    except OSError as exc:
        raise DeliveryError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return size, time.monotonic() - started
