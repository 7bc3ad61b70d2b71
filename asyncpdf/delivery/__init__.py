"""Delivery targets by URL scheme: a registry of uploaders behind one protocol
(`base.Uploader`). Adding a scheme is one module and one entry in `UPLOADERS`; the config asks
`schemes()` which targets it may accept and the uploader's `check` whether one is well formed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from asyncpdf.delivery.base import Delivered, Existing, Progress, Uploader, redact
from asyncpdf.delivery.ftp import FtpUploader
from asyncpdf.delivery.local import FileUploader
from asyncpdf.delivery.sftp import SftpUploader
from asyncpdf.errors import DeliveryError

# One FTP uploader for both schemes: one folder is one folder, by ftp or by ftps.
_FTP = FtpUploader()
UPLOADERS: Mapping[str, Uploader] = {
    "file": FileUploader(),
    "ftp": _FTP,
    "ftps": _FTP,
    "sftp": SftpUploader(),
}

__all__ = [
    "UPLOADERS",
    "Delivered",
    "Existing",
    "Progress",
    "deliver",
    "in_folder",
    "redact",
    "schemes",
]


def schemes() -> tuple[str, ...]:
    return tuple(UPLOADERS)


async def deliver(
    url: str,
    source: Path,
    remote_name: str,
    existing: Existing = Existing.RENAME,
    *,
    progress: Progress | None = None,
) -> Delivered:
    scheme = urlsplit(url).scheme
    uploader = UPLOADERS.get(scheme)
    if uploader is None:
        raise DeliveryError(f"no uploader for {scheme!r} targets (known: {', '.join(schemes())})")
    return await uploader.upload(url, source, remote_name, existing, progress=progress)


def in_folder(url: str, folder: str) -> str:
    """The target URL one folder deeper (a bureau's folder per press)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + quote(folder.strip("/"))
    return urlunsplit(parts._replace(path=path))
