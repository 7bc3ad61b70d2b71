"""What every uploader is: one object per URL scheme that streams a file to a target."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiofiles.os

from asyncpdf.credentials import SecretUnavailable, read_secret
from asyncpdf.errors import DeliveryError

#: Awaited with a percentage of the file sent (see `ProgressMarks`).
Progress = Callable[[int], Awaitable[None]]


class Existing(StrEnum):
    """What to do when the target already has a file of the delivered name (not one with the
    same content, which counts as delivered): give the new one a distinct name, fail the
    delivery with the reason, or replace it (the job log says so)."""

    RENAME = "rename"
    FAIL = "fail"
    REPLACE = "replace"


@dataclass(frozen=True)
class Delivered:
    """The receipt of one upload."""

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


def partial_name(source: Path, remote_name: str) -> str:
    """The temporary name a file is written under before it gets its own: short, and the same
    for every attempt of one delivery, so an attempt cut off by a crash leaves no file behind
    that the next attempt does not overwrite; no two deliveries share it."""
    key = hashlib.blake2b(f"{source}\0{remote_name}".encode(), digest_size=8).hexdigest()
    return f".asyncpdf-{key}.part"


def names_for(name: str) -> Iterator[str]:
    """The names a file may be delivered under, in order: `name`, then `stem (2).ext`, ..."""
    stem, suffix = os.path.splitext(name)
    return itertools.chain([name], (f"{stem} ({n}){suffix}" for n in itertools.count(2)))


def taken(where: str) -> DeliveryError:
    """The failure of `existing=fail` when `where` holds another file."""
    return DeliveryError(
        f"{where} is already there with other content (delivery.existing is 'fail': move it "
        "away, or set 'rename' or 'replace')",
        permanent=True,
    )


class ProgressMarks:
    """Tells `callback` 20, 40, 60 and 80 as the bytes sent reach each of those percentages
    of `total`, each at most once; nothing when there is no callback, nor for a file of at
    most `MIN_BYTES` (sent in one piece, it reaches every mark at once: they say nothing)."""

    MARKS = (20, 40, 60, 80)
    MIN_BYTES = 1 << 20

    def __init__(self, total: int, callback: Progress | None) -> None:
        self._total = total
        self._callback = callback if total > self.MIN_BYTES else None
        self._sent = 0
        self._next = 0

    async def advance(self, sent: int) -> None:
        self._sent += sent
        marks = self.MARKS
        while self._next < len(marks) and self._sent * 100 >= marks[self._next] * self._total:
            self._next += 1
            if self._callback is not None:
                await self._callback(marks[self._next - 1])


class Login(Protocol):
    """Where a target's options say its password is."""

    @property
    def password(self) -> str | None: ...
    @property
    def password_env(self) -> str | None: ...
    @property
    def password_file(self) -> str | None: ...


async def source_size(source: Path) -> int:
    """The size of the file to send; a DeliveryError when it cannot be read."""
    try:
        return (await aiofiles.os.stat(source)).st_size
    except OSError as exc:
        raise DeliveryError(f"cannot read {source}: {exc.strerror}") from None


async def login_secret(options: Login, shown: str) -> str | None:
    """The target's password as it is now (URL, environment or file); a permanent
    DeliveryError naming `shown` when it is not to be had."""
    try:
        return await asyncio.to_thread(
            read_secret,
            value=options.password,
            env=options.password_env,
            file=options.password_file,
        )
    except SecretUnavailable as exc:
        raise DeliveryError(f"{shown}: no password: {exc}", permanent=True) from None


class Uploader(Protocol):
    """Streams `source` from disk to the folder of `url` as `remote_name`, under a temporary
    name renamed when complete, minding `existing`; raises DeliveryError with a reason a
    person can act on. The receipt names the file as it was finally called. `progress` hears
    how far the upload got (`ProgressMarks`).

    `check` is the config's look at a target: it raises ValueError, one line naming the
    option, for anything the uploader would not take."""

    def check(self, url: str) -> None: ...

    async def upload(
        self,
        url: str,
        source: Path,
        remote_name: str,
        existing: Existing,
        *,
        progress: Progress | None = None,
    ) -> Delivered: ...
