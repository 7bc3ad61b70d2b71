"""Delivery targets by URL scheme: a registry of uploaders behind one protocol
(`base.Uploader`). Adding a scheme is one module and one entry in `UPLOADERS`; the config asks
`schemes()` which targets it may accept."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from asyncpdf.delivery.base import Delivered, Existing, Uploader
from asyncpdf.delivery.local import FileUploader
from asyncpdf.errors import DeliveryError

UPLOADERS: Mapping[str, Uploader] = {"file": FileUploader()}

__all__ = ["UPLOADERS", "Delivered", "Existing", "deliver", "in_folder", "redact", "schemes"]


def schemes() -> tuple[str, ...]:
    return tuple(UPLOADERS)


def redact(url: str) -> str:
    """The URL without its password, for logs, pages and API answers."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


async def deliver(
    url: str, source: Path, remote_name: str, existing: Existing = Existing.RENAME
) -> Delivered:
    scheme = urlsplit(url).scheme
    uploader = UPLOADERS.get(scheme)
    if uploader is None:
        raise DeliveryError(f"no uploader for {scheme!r} targets (known: {', '.join(schemes())})")
    return await uploader.upload(url, source, remote_name, existing)


def in_folder(url: str, folder: str) -> str:
    """The target URL one folder deeper (a bureau's folder per press)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + quote(folder.strip("/"))
    return urlunsplit(parts._replace(path=path))
