"""Delivery targets by URL scheme. Each uploader streams from disk to a temporary name, then
renames, so a reader at the target never sees half a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from asyncpdf.delivery.local import deliver_file
from asyncpdf.errors import DeliveryError


@dataclass(frozen=True)
class Delivered:
    remote_name: str
    bytes: int
    seconds: float


def redact(url: str) -> str:
    """The URL without its password, for logs, pages and API answers."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


async def deliver(url: str, source: Path, remote_name: str) -> Delivered:
    scheme = urlsplit(url).scheme
    if scheme == "file":
        size, seconds = await deliver_file(url, source, remote_name)
        return Delivered(remote_name=remote_name, bytes=size, seconds=seconds)
    raise DeliveryError(f"no uploader for {scheme!r} targets")


def in_folder(url: str, folder: str) -> str:
    """The target URL one folder deeper (a bureau's folder per press)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + quote(folder.strip("/"))
    return urlunsplit(parts._replace(path=path))
