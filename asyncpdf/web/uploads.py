"""`POST /api/jobs`: a PDF uploaded as multipart (`file`, and optionally `callback_url`),
taken into the same pipeline as a file dropped in the hotfolder.

The file is streamed into a staging folder in the spool, never held in memory, and refused
with 413 once it passes `max_file_mb`; its name is cleaned (upload_names). The disk is asked
for room for the declared length before anything is read, and again as the bytes arrive
(uploads under way share it): short of `disk.min_free_mb` it is a 507. A body that is not
readable multipart is a 400; a client that goes away is one line in the log. Whatever goes
wrong, the staging folder goes with it. Then the file is claimed as a dropped file is, and the
answer is 202 with the job's id and where to follow it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiofiles
from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from asyncpdf.disk import DiskSpace
from asyncpdf.errors import BadRequest, ClientGone, NoSpace, TooLarge
from asyncpdf.intake.claims import Origin
from asyncpdf.intake.staging import new_staging, remove_staging
from asyncpdf.notify import CallbackPolicy
from asyncpdf.notify.callback import MAX_URL
from asyncpdf.web.jsonbody import json_response
from asyncpdf.web.keys import SERVICE
from asyncpdf.web.upload_names import clean_upload_name

log = logging.getLogger(__name__)
CHUNK = 1 << 20
#: The disk is asked again for room after each this many bytes written.
ROOM_EVERY = 8 << 20
USAGE = "send the PDF as the multipart/form-data field 'file' (and optionally 'callback_url')"
NOTHING_KEPT = "nothing was kept"
#: What aiohttp's multipart reader raises on a body it cannot read (no boundary, a broken
#: part, a header with control characters).
MALFORMED = (ValueError, LookupError, HttpProcessingError)


def accepted(job_id: int, **extra: Any) -> web.Response:
    url = f"/api/jobs/{job_id}"
    body = {"id": job_id, "url": url, "page": f"/jobs/{job_id}", **extra}
    return json_response(body, status=202, headers={"Location": url})


async def upload(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not request.content_type.startswith("multipart/"):
        raise BadRequest(USAGE)
    low = await service.too_full()
    if low is None and request.content_length:
        low = await service.disk.room_for("spool", request.content_length)
    if low is not None:
        raise NoSpace(f"{low}; {NOTHING_KEPT}")
    limit_mb = service.settings.max_file_mb
    staging = new_staging(service.staging_folder())
    try:
        staged, callback_url = await _receive(request, staging, limit_mb, service.disk)
        if callback_url is not None:
            callback_url = await _policy(request).check(callback_url)
        origin = Origin(uploaded=True, callback_url=callback_url)
        job_id = await service.claim_staged(staged, origin)
    except ConnectionError as exc:
        log.info("upload from %s ended early: %s; %s", request.remote, exc, NOTHING_KEPT)
        raise ClientGone(f"the connection was lost during the upload; {NOTHING_KEPT}") from None
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise NoSpace(f"the disk is full; {NOTHING_KEPT}") from None
    finally:
        await asyncio.to_thread(remove_staging, service.staging_folder(), staging)
    return accepted(job_id)


def _policy(request: web.Request) -> CallbackPolicy:
    """Callbacks never to this service: the port in the config and the one this request came
    in on (behind a proxy, or a test server on a port of its own)."""
    settings = request.app[SERVICE].settings
    ports = {settings.web.port}
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname:
        ports.add(int(sockname[1]))
    return CallbackPolicy(settings.notify.callback_allow, ports)


async def _receive(
    request: web.Request, staging: Path, limit_mb: float, disk: DiskSpace
) -> tuple[Path, str | None]:
    try:
        reader = await request.multipart()
        return await _fields(reader, staging, limit_mb, disk)
    except MALFORMED:
        raise BadRequest(f"the multipart body cannot be read; {USAGE}") from None


async def _fields(
    reader: MultipartReader, staging: Path, limit_mb: float, disk: DiskSpace
) -> tuple[Path, str | None]:
    staged: Path | None = None
    callback_url = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest(f"nested multipart is not taken; {USAGE}")
        if part.name == "file" and staged is None:
            staged = await _save(part, staging, limit_mb, disk)
        elif part.name == "callback_url" and callback_url is None:
            callback_url = await _text(part, MAX_URL)
        else:
            raise BadRequest(f"unexpected or repeated field {part.name!r}; {USAGE}")
    if staged is None:
        raise BadRequest(f"no file; {USAGE}")
    return staged, callback_url


async def _text(part: BodyPartReader, limit: int) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(limit + 1):
        data += chunk
        if len(data) > limit:
            raise BadRequest(f"field {part.name!r} is longer than {limit} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadRequest(f"field {part.name!r} is not UTF-8 text") from None


def _unquoted(name: str) -> str:
    """Some clients (aiohttp's FormData) percent-encode the name; browsers and curl send it
    as it is. A name whose escapes do not make UTF-8 was not encoded, and stays as sent."""
    try:
        return unquote(name, errors="strict")
    except UnicodeDecodeError:
        return name


async def _save(part: BodyPartReader, staging: Path, limit_mb: float, disk: DiskSpace) -> Path:
    name = clean_upload_name(_unquoted(part.filename or ""))
    limit = int(limit_mb * 2**20)
    await asyncio.to_thread(staging.mkdir)
    target = staging / name
    size = 0
    unchecked = 0
    async with aiofiles.open(target, "xb") as stream:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(
                    f"the file is larger than {limit_mb:g} MB (max_file_mb); {NOTHING_KEPT}"
                )
            unchecked += len(chunk)
            if unchecked >= ROOM_EVERY:
                unchecked = 0
                short = await disk.room_for("spool", 0)
                if short is not None:
                    raise NoSpace(f"{short}; {NOTHING_KEPT}")
            await stream.write(chunk)
        await stream.flush()
        # The job's file (later kept in done/) must be on disk before the job says done.
        await asyncio.to_thread(os.fsync, stream.fileno())
    return target
