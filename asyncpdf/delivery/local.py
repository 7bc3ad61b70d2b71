"""`file://` targets: a local or mounted folder."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os

from asyncpdf.delivery.base import Delivered
from asyncpdf.errors import DeliveryError

CHUNK = 1 << 20


class FileUploader:
    async def upload(self, url: str, source: Path, remote_name: str) -> Delivered:
        folder = Path(unquote(urlsplit(url).path))
        target = folder / remote_name
        partial = folder / f".{remote_name}.part"
        started = time.monotonic()
        size = 0
        try:
            await aiofiles.os.makedirs(folder, exist_ok=True)
            async with (
                aiofiles.open(source, "rb") as reader,
                aiofiles.open(partial, "wb") as writer,
            ):
                while chunk := await reader.read(CHUNK):
                    await writer.write(chunk)
                    size += len(chunk)
                await writer.flush()
            await aiofiles.os.replace(partial, target)
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return Delivered(remote_name=remote_name, bytes=size, seconds=time.monotonic() - started)
