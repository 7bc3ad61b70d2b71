"""`ftp://` and `ftps://` targets through aioftp (options: `ftp_options.py`).

The file is streamed from disk under a temporary name, its size checked with SIZE, then renamed
(RNFR/RNTO). ftps is explicit TLS: AUTH TLS, then PBSZ 0 / PROT P, so the data connections are
TLS too. aioftp holds the control connection; the data connections are `ftp_data`'s, which
says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Literal

import aiofiles
import aiofiles.os
import aioftp

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
from asyncpdf.delivery.ftp_data import open_data
from asyncpdf.delivery.ftp_options import FtpOptions
from asyncpdf.delivery.places import Places
from asyncpdf.delivery.remote import RemoteUploader
from asyncpdf.errors import DeliveryError

CHUNK = 1 << 20
#: How long removing a partial file after a failure may take: it must not hold up the error.
CLEANUP_S = 5.0
# What the network, the server and TLS raise; anything else is a bug and stays itself.
_FAILURES = (OSError, EOFError, aioftp.AIOFTPException)

_Spot = tuple[str, Literal["free", "delivered", "replace"]]
_AIOFTP_LOG = logging.getLogger("aioftp.client")


class FtpUploader(RemoteUploader[FtpOptions]):
    """Uploads to FTP and FTPS servers. How many go at once to a target is the scheduler's
    (sending/gates.py), which holds back a delivery before it takes a shared slot."""

    def _options(self, url: str) -> FtpOptions:
        return FtpOptions.from_url(url)

    def _transfer(
        self,
        options: FtpOptions,
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
        options: FtpOptions,
        shown: str,
        source: Path,
        progress: Progress | None,
        places: Places,
    ) -> None:
        self.options = options
        self.places = places
        self.shown = shown
        self.source = source
        self.progress = progress
        self.password = ""
        self.size = 0
        self.tls: ssl.SSLContext | None = None
        self.step = "connecting"
        self.partial: PurePosixPath | None = None
        self.home = PurePosixPath("/")

    async def prepare(self) -> None:
        """Read the source's size, the password and the TLS settings, before connecting."""
        options = self.options
        self.size = await source_size(self.source)
        self.password = await login_secret(options, self.shown) or ""
        if options.tls:
            try:
                self.tls = await asyncio.to_thread(_tls_context, options)
            except OSError as exc:
                raise DeliveryError(
                    f"{self.shown}: cannot use ca_file {options.ca_file}: {exc.strerror or exc}",
                    permanent=True,
                ) from None

    async def run(self, remote_name: str, existing: Existing) -> Delivered:
        started = time.monotonic()
        try:
            async with self._session() as client:
                name = await self._deliver(client, remote_name, existing)
        except BaseException as exc:
            error = self._error(exc) if isinstance(exc, _FAILURES) else None
            if self.partial is not None:
                await self._remove_partial()
            if error is None:
                raise
            raise error from None
        return Delivered(remote_name=name, bytes=self.size, seconds=time.monotonic() - started)

    async def _deliver(self, client: aioftp.Client, remote_name: str, existing: Existing) -> str:
        options = self.options
        folder = options.folder
        await self._make_folders(client)
        place = self.places.hold((options.host, options.port, str(self.home / folder)))
        if not options.rename:
            # Straight to the final name: the whole upload is the placing.
            async with place:
                name, state = await self._spot(client, remote_name, existing)
                if state != "delivered":
                    await self._replace(client, name, state)
                    await self._send(client, folder / name)
                    self.partial = None
            return name
        # Looked at first too: an attempt cut off after its rename has nothing left to send.
        name, state = await self._spot(client, remote_name, existing)
        if state == "delivered":
            return name
        partial = folder / partial_name(self.source, remote_name)
        await self._send(client, partial)
        async with place:
            # The name is chosen right before the rename, with no other delivery of this
            # service placing a file in the folder meanwhile.
            name, state = await self._spot(client, remote_name, existing)
            if state == "delivered":
                await self._command(client, f"removing {partial.name}", f"DELE {partial}")
            else:
                await self._replace(client, name, state)
                self.step = f"renaming {partial.name} to {name}"
                await client.rename(partial, folder / name)
        self.partial = None
        return name

    async def _replace(self, client: aioftp.Client, name: str, state: str) -> None:
        """With existing=replace, the old file goes first: many servers refuse RNTO (and
        some STOR) onto a name that is taken."""
        if state == "replace":
            path = self.options.folder / name
            await self._command(client, f"removing the old {name}", f"DELE {path}")

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[aioftp.Client]:
        options = self.options
        client = aioftp.Client(
            socket_timeout=options.timeout_s, connection_timeout=options.timeout_s
        )
        hide = _Hide(self.password)
        _AIOFTP_LOG.addFilter(hide)
        try:
            self.step = "connecting"
            await client.connect(options.host, options.port)
            if self.tls is not None:
                # Explicit TLS as curl does it: AUTH TLS, log in, then PBSZ and PROT, which
                # some servers take only after the login.
                self.step = "starting TLS"
                await client.command("AUTH TLS", "234")
                await client.stream.start_tls(self.tls, server_hostname=options.host)
            self.step = "logging in"
            await client.login(options.user, self.password)
            if self.tls is not None:
                self.step = "asking for TLS on the data connections"
                await client.command("PBSZ 0", "200")
                await client.command("PROT P", "200")
            # Binary before anything else: some servers refuse SIZE in ASCII mode.
            await client.command("TYPE I", "200")
            self.home = await client.get_current_directory()
            yield client
        except BaseException:
            client.close()
            raise
        else:
            with contextlib.suppress(*_FAILURES):
                await asyncio.wait_for(client.quit(), CLEANUP_S)
            client.close()
        finally:
            _AIOFTP_LOG.removeFilter(hide)

    async def _command(self, client: aioftp.Client, step: str, command: str) -> None:
        self.step = step
        await client.command(command, "2xx")

    async def _make_folders(self, client: aioftp.Client) -> None:
        """Make the target's folder and those above it that are missing. Looked for with CWD,
        which needs no data connection and which every server has (MLST is not vsftpd's)."""
        folder = self.options.folder
        if not folder.name or await self._is_folder(client, folder):
            return
        missing = [folder]
        for path in folder.parents:
            if not path.name or await self._is_folder(client, path):
                break
            missing.append(path)
        for path in reversed(missing):
            self.step = f"creating folder {path}"
            try:
                await client.command(f"MKD {path}", "257")
            except aioftp.StatusCodeError:
                # Another delivery to the same new folder may just have made it.
                if not await self._is_folder(client, path):
                    raise

    async def _is_folder(self, client: aioftp.Client, path: PurePosixPath) -> bool:
        self.step = f"looking for folder {path}"
        try:
            await client.command(f"CWD {path}", "250")
        except aioftp.StatusCodeError as exc:
            if exc.received_codes[-1].matches("550"):
                return False
            raise
        # Back to the login folder, which every path here starts from.
        await client.command(f"CWD {self.home}", "250")
        return True

    async def _spot(self, client: aioftp.Client, remote_name: str, existing: Existing) -> _Spot:
        """Where the file goes: the first name that is free, or holds these very bytes (sent
        before by an attempt cut off before its receipt), or, with `replace`, holds another."""
        for name in names_for(remote_name):
            path = self.options.folder / name
            there = await self._size(client, path)
            if there is None:
                return name, "free"
            if there == self.size and await self._same_bytes(client, path):
                return name, "delivered"
            if existing is Existing.REPLACE:
                return name, "replace"
            if existing is Existing.FAIL:
                raise taken(f"{self.shown}: {name}")
        raise AssertionError("unreachable: the names never run out")

    async def _size(self, client: aioftp.Client, path: PurePosixPath) -> int | None:
        """The size of the file at `path`, None when there is none."""
        self.step = f"asking the size of {path.name}"
        try:
            _, info = await client.command(f"SIZE {path}", "213")
        except aioftp.StatusCodeError as exc:
            if exc.received_codes[-1].matches("550"):
                return None
            raise
        text = info[-1].strip()
        if not text.isdigit():
            raise DeliveryError(f"{self.shown}: the server answers SIZE with no size")
        return int(text)

    async def _same_bytes(self, client: aioftp.Client, path: PurePosixPath) -> bool:
        """Whether the file at `path` holds the source's bytes, read up to the first
        difference. A server that will not send it back (an upload-only folder) cannot show
        it is the same, so it is not."""
        self.step = f"comparing {path.name} with the file to deliver"
        try:
            stream = await self._data(client, f"RETR {path}")
        except aioftp.StatusCodeError as exc:
            if exc.received_codes[-1].matches("5xx"):
                return False
            raise
        try:
            async with aiofiles.open(self.source, "rb") as local:
                same = True
                while same and (chunk := await local.read(CHUNK)):
                    try:
                        same = await stream.readexactly(len(chunk)) == chunk
                    except asyncio.IncompleteReadError:
                        same = False
                same = same and not await stream.read(1)
        finally:
            stream.close()
        # 226 when it was read to the end, 426 or 451 when it was closed before.
        await client.command(None, ("2xx", "4xx"), "1xx")
        return same

    async def _send(self, client: aioftp.Client, path: PurePosixPath) -> None:
        marks = ProgressMarks(self.size, self.progress)
        self.step = f"uploading {path.name}"
        async with aiofiles.open(self.source, "rb") as reader:
            stream = await self._data(client, f"STOR {path}")
            self.partial = path
            async with stream:
                while chunk := await reader.read(CHUNK):
                    # Not aioftp's write: its asyncio.wait_for can swallow a cancellation on
                    # Python 3.11, and a stop would then wait for the whole upload.
                    async with asyncio.timeout(self.options.idle_s):
                        stream.writer.write(chunk)
                        await stream.writer.drain()
                    await marks.advance(len(chunk))
                self.step = f"waiting for the server to confirm {path.name}"
        there = await self._size(client, path)
        if there != self.size:
            raise DeliveryError(
                f"{self.shown}: {path.name} has {there} bytes on the server after the "
                f"upload, not {self.size}"
            )

    async def _data(
        self, client: aioftp.Client, command: str
    ) -> aioftp.DataConnectionThrottleStreamIO:
        """A data connection for `command` (STOR, RETR), in the target's mode."""
        reader, writer = await open_data(
            client, command, passive=self.options.passive, timeout_s=self.options.timeout_s
        )
        return aioftp.DataConnectionThrottleStreamIO(
            client, reader, writer, throttles={"_": client.throttle}, timeout=self.options.idle_s
        )

    async def _remove_partial(self) -> None:
        """Best effort and brief, on a new connection: the one that failed may be broken or
        still owe a reply."""
        with contextlib.suppress(*_FAILURES):
            async with asyncio.timeout(CLEANUP_S), self._session() as client:
                await client.command(f"DELE {self.partial}", "2xx")

    def _error(self, exc: BaseException) -> DeliveryError:
        """A message a person can act on, naming the target and the step; never the password,
        which a server may echo in its reply."""
        message, permanent = _explain(exc, self.step, self.options)
        if self.password:
            message = message.replace(self.password, "***")
        return DeliveryError(f"{self.shown}: {message}", permanent=permanent)


class _Hide(logging.Filter):
    """aioftp logs every reply at DEBUG, and a server may echo the password in one."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.secret and self.secret in text:
            record.msg, record.args = text.replace(self.secret, "***"), None
        return True


def _explain(exc: BaseException, step: str, options: FtpOptions) -> tuple[str, bool]:
    """What went wrong and whether another try could help."""
    if isinstance(exc, aioftp.StatusCodeError):
        code = exc.received_codes[-1]
        reply = f"{code} {' '.join(exc.info).strip()}"[:300]
        if code == "530":
            return f"login refused ({reply}): check the user and the password", True
        if code.matches("55x"):
            return (
                f"the server refused {step} ({reply}): check that user {options.user} may "
                "write there and that the server takes the name",
                True,
            )
        if code.matches("5xx"):
            return f"the server refused {step} ({reply})", True
        return f"the server answered {reply} while {step}", False
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the server's TLS certificate is not trusted ({exc.verify_message}): name its CA "
            "with ca_file=/path/to/ca.pem, or set tls_verify=no",
            True,
        )
    if isinstance(exc, TimeoutError):
        return f"no answer or no progress in time while {step}", False
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused while {step} (is the server up?)", False
    if isinstance(exc, EOFError | ConnectionResetError | BrokenPipeError):
        return f"the connection was cut while {step}", False
    if isinstance(exc, aioftp.AIOFTPException):
        return f"cannot go on while {step}: {type(exc).__name__}", True
    assert isinstance(exc, OSError)
    return f"{step}: {exc.strerror or type(exc).__name__}", False


def _tls_context(options: FtpOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.ca_file)
    if not options.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
