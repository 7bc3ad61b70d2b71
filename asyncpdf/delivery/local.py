"""`file://` targets: a local or mounted folder."""

from __future__ import annotations

import contextlib
import errno
import secrets
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiofiles
import aiofiles.os

from asyncpdf.delivery.base import Delivered
from asyncpdf.errors import DeliveryError

CHUNK = 1 << 20


# Errors that another try cannot mend: the name or the target must change first.
PERMANENT = frozenset({errno.ENAMETOOLONG, errno.EINVAL, errno.EPERM, errno.EISDIR})


class FileUploader:
    async def upload(self, url: str, source: Path, remote_name: str) -> Delivered:
        folder = Path(unquote(urlsplit(url).path))
        target = folder / remote_name
        # Short and unique: two deliveries never share it, and it fits any name limit.
        partial = folder / f".asyncpdf-{secrets.token_hex(8)}.part"
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
        return Delivered(remote_name=remote_name, bytes=size, seconds=time.monotonic() - started)
