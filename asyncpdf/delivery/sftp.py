"""`sftp://` targets through asyncssh (options: `sftp_options.py`).

As for FTP: the file is streamed from disk under a temporary name, its size checked, and
renamed when complete, the final name chosen one delivery at a time per folder (`Places`).
SFTP's own rename (version 3, OpenSSH's default) fails where the new name exists, so not even
another client's file put there meanwhile is replaced. The host key must be in the
known_hosts file: an unknown server is refused with how to add it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Literal, cast

import aiofiles
import aiofiles.os
import asyncssh

from asyncpdf.delivery.base import (
    Delivered,
    Existing,
    Progress,
    ProgressMarks,
    login_secret,
    names_for,
    partial_name,
    source_size,
    taken,
)
from asyncpdf.delivery.places import Places
from asyncpdf.delivery.remote import RemoteUploader
from asyncpdf.delivery.sftp_options import SftpOptions
from asyncpdf.errors import DeliveryError

CHUNK = 1 << 18
CLEANUP_S = 5.0
_FAILURES = (OSError, asyncssh.Error)
_Spot = tuple[str, Literal["free", "delivered", "replace"]]
# asyncssh logs every connection, channel and login at INFO; the job log says what matters.
logging.getLogger("asyncssh").setLevel(logging.WARNING)


class SftpUploader(RemoteUploader[SftpOptions]):
    def _options(self, url: str) -> SftpOptions:
        return SftpOptions.from_url(url)

    def _transfer(
        self,
        options: SftpOptions,
        shown: str,
        source: Path,
        progress: Progress | None,
        places: Places,
    ) -> _Transfer:
        return _Transfer(options, shown, source, progress, places)


class _Transfer:
    """One upload: its settings, the step it is at (for the error message) and the partial
    file on the server that a failure must remove."""

    def __init__(
        self,
        options: SftpOptions,
        shown: str,
        source: Path,
        progress: Progress | None,
        places: Places,
    ) -> None:
        self.options = options
        self.shown = shown
        self.source = source
        self.progress = progress
        self.places = places
        self.password: str | None = None
        self.known_hosts = os.path.expanduser(options.known_hosts)
        self.size = 0
        self.step = "connecting"
        self.partial: PurePosixPath | None = None

    async def prepare(self) -> None:
        options = self.options
        self.size = await source_size(self.source)
        self.password = await login_secret(options, self.shown)
        if not await aiofiles.os.path.isfile(self.known_hosts):
            raise DeliveryError(
                f"{self.shown}: no known_hosts file at {self.known_hosts}: make it with "
                f"`ssh-keyscan -p {options.port} {options.host} >> {self.known_hosts}` (and "
                "check the key's fingerprint with the bureau), or name one with known_hosts=",
                permanent=True,
            )

    async def run(self, remote_name: str, existing: Existing) -> Delivered:
        started = time.monotonic()
        try:
            async with self._session() as sftp:
                name = await self._deliver(sftp, remote_name, existing)
        except BaseException as exc:
            error = self._error(exc) if isinstance(exc, _FAILURES) else None
            if self.partial is not None:
                await self._remove_partial()
            if error is None:
                raise
            raise error from None
        return Delivered(remote_name=name, bytes=self.size, seconds=time.monotonic() - started)

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncssh.SFTPClient]:
        options = self.options
        self.step = "connecting"
        try:
            async with asyncio.timeout(options.timeout_s):
                connection = await self._connect()
        except ValueError as exc:
            raise DeliveryError(
                f"{self.shown}: cannot read known_hosts {self.known_hosts}: {exc}",
                permanent=True,
            ) from None
        try:
            self.step = "starting SFTP"
            async with asyncio.timeout(options.timeout_s):
                sftp = await connection.start_sftp_client()
            async with sftp:
                yield sftp
        finally:
            connection.close()

    async def _connect(self) -> asyncssh.SSHClientConnection:
        options = self.options
        return await asyncssh.connect(
            options.host,
            options.port,
            username=options.user,
            password=self.password,
            client_keys=[options.key_file] if options.key_file else None,
            agent_path=None,
            known_hosts=self.known_hosts,
            connect_timeout=options.timeout_s,
        )

    async def _deliver(
        self, sftp: asyncssh.SFTPClient, remote_name: str, existing: Existing
    ) -> str:
        options = self.options
        folder = options.folder
        self.step = f"creating folder {folder}"
        async with asyncio.timeout(options.timeout_s):
            await sftp.makedirs(str(folder), exist_ok=True)
        place = self.places.hold((options.host, options.port, str(folder)))
        if not options.rename:
            async with place:
                name, state = await self._spot(sftp, remote_name, existing)
                if state != "delivered":
                    await self._replace(sftp, name, state)
                    await self._send(sftp, folder / name)
                    self.partial = None
            return name
        name, state = await self._spot(sftp, remote_name, existing)
        if state == "delivered":
            return name
        partial = folder / partial_name(self.source, remote_name)
        await self._send(sftp, partial)
        async with place:
            name, state = await self._spot(sftp, remote_name, existing)
            async with asyncio.timeout(options.timeout_s):
                if state == "delivered":
                    self.step = f"removing {partial.name}"
                    await sftp.remove(str(partial))
                else:
                    await self._replace(sftp, name, state)
                    self.step = f"renaming {partial.name} to {name}"
                    # Fails, replacing nothing, where the name was taken meanwhile.
                    await sftp.rename(str(partial), str(folder / name))
        self.partial = None
        return name

    async def _replace(self, sftp: asyncssh.SFTPClient, name: str, state: str) -> None:
        if state == "replace":
            self.step = f"removing the old {name}"
            await sftp.remove(str(self.options.folder / name))

    async def _spot(self, sftp: asyncssh.SFTPClient, remote_name: str, existing: Existing) -> _Spot:
        """As for FTP: the first name that is free, or holds these very bytes, or, with
        `replace`, holds another."""
        for name in names_for(remote_name):
            path = self.options.folder / name
            self.step = f"looking for {name}"
            try:
                async with asyncio.timeout(self.options.timeout_s):
                    there = (await sftp.stat(str(path))).size
            except asyncssh.SFTPNoSuchFile:
                return name, "free"
            if there == self.size and await self._same_bytes(sftp, path):
                return name, "delivered"
            if existing is Existing.REPLACE:
                return name, "replace"
            if existing is Existing.FAIL:
                raise taken(f"{self.shown}: {name}")
        raise AssertionError("unreachable: the names never run out")

    async def _same_bytes(self, sftp: asyncssh.SFTPClient, path: PurePosixPath) -> bool:
        self.step = f"comparing {path.name} with the file to deliver"
        try:
            remote = await sftp.open(str(path), "rb")
        except asyncssh.SFTPPermissionDenied:
            return False
        same = True
        async with remote, aiofiles.open(self.source, "rb") as local:
            while same and (chunk := await local.read(CHUNK)):
                async with asyncio.timeout(self.options.idle_s):
                    same = cast(bytes, await remote.read(len(chunk))) == chunk
        return same

    async def _send(self, sftp: asyncssh.SFTPClient, path: PurePosixPath) -> None:
        marks = ProgressMarks(self.size, self.progress)
        self.step = f"uploading {path.name}"
        async with aiofiles.open(self.source, "rb") as reader:
            async with asyncio.timeout(self.options.timeout_s):
                remote = await sftp.open(str(path), "wb")
            self.partial = path
            async with remote:
                while chunk := await reader.read(CHUNK):
                    async with asyncio.timeout(self.options.idle_s):
                        await remote.write(chunk)
                    await marks.advance(len(chunk))
        self.step = f"asking the size of {path.name}"
        async with asyncio.timeout(self.options.timeout_s):
            there = (await sftp.stat(str(path))).size
        if there != self.size:
            raise DeliveryError(
                f"{self.shown}: {path.name} has {there} bytes on the server after the "
                f"upload, not {self.size}"
            )

    async def _remove_partial(self) -> None:
        with contextlib.suppress(*_FAILURES, TimeoutError):
            async with asyncio.timeout(CLEANUP_S), self._session() as sftp:
                await sftp.remove(str(self.partial))

    def _error(self, exc: BaseException) -> DeliveryError:
        message, permanent = _explain(exc, self.step, self)
        if self.password:
            message = message.replace(self.password, "***")
        return DeliveryError(f"{self.shown}: {message}", permanent=permanent)


def _explain(exc: BaseException, step: str, transfer: _Transfer) -> tuple[str, bool]:
    """What went wrong and whether another try could help."""
    options = transfer.options
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return (
            f"the server's host key is not in {transfer.known_hosts}: add it with "
            f"`ssh-keyscan -p {options.port} {options.host} >> {transfer.known_hosts}` after "
            "checking its fingerprint with the bureau",
            True,
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        how = "the key in key_file" if options.key_file else "the password"
        return f"login refused: check the user {options.user} and {how}", True
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return (
            f"the server refused {step} ({exc.reason}): check that user {options.user} may "
            "write there",
            True,
        )
    if isinstance(exc, asyncssh.SFTPError):
        return f"the server refused {step} ({exc.reason})", False
    if isinstance(exc, asyncssh.Error):
        return f"the connection failed while {step} ({exc.reason})", False
    if isinstance(exc, TimeoutError):
        return f"no answer or no progress in time while {step}", False
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused while {step} (is the server up?)", False
    assert isinstance(exc, OSError)
    return f"{step}: {exc.strerror or type(exc).__name__}", False
