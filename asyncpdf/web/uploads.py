"""`POST /api/jobs`: a PDF uploaded as multipart (`file`, and optionally `callback_url`),
taken into the same pipeline as a file dropped in the hotfolder.

The file is streamed into a staging folder in the spool, never held in memory, and refused
with 413 once it passes `max_file_mb`; its name is cleaned (upload_names). Then it is claimed
as a dropped file is, and the answer is 202 with the job's id and where to follow it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiofiles
from aiohttp import BodyPartReader, MultipartReader, web

from asyncpdf.errors import BadRequest, NoSpace, TooLarge
from asyncpdf.intake.claims import Origin
from asyncpdf.intake.staging import new_staging, remove_staging
from asyncpdf.notify import check_callback_url
from asyncpdf.notify.callback import MAX_URL
from asyncpdf.web.jsonbody import json_response
from asyncpdf.web.keys import SERVICE
from asyncpdf.web.upload_names import clean_upload_name

CHUNK = 1 << 20
USAGE = "send the PDF as the multipart/form-data field 'file' (and optionally 'callback_url')"


def accepted(job_id: int, **extra: Any) -> web.Response:
    url = f"/api/jobs/{job_id}"
    body = {"id": job_id, "url": url, "page": f"/jobs/{job_id}", **extra}
    return json_response(body, status=202, headers={"Location": url})


async def upload(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not request.content_type.startswith("multipart/"):
        raise BadRequest(USAGE)
    low = await service.too_full()
    if low is not None:
        raise NoSpace(low)
    limit_mb = service.settings.max_file_mb
    staging = new_staging(service.staging_folder())
    try:
        staged, callback_url = await _receive(await request.multipart(), staging, limit_mb)
        origin = Origin(uploaded=True, callback_url=callback_url)
        job_id = await service.claim_staged(staged, origin)
    finally:
        await asyncio.to_thread(remove_staging, service.staging_folder(), staging)
    return accepted(job_id)


async def _receive(
    reader: MultipartReader, staging: Path, limit_mb: float
) -> tuple[Path, str | None]:
    staged: Path | None = None
    callback_url = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest(f"nested multipart is not taken; {USAGE}")
        if part.name == "file" and staged is None:
            staged = await _save(part, staging, limit_mb)
        elif part.name == "callback_url" and callback_url is None:
            callback_url = check_callback_url(await _text(part, MAX_URL))
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


async def _save(part: BodyPartReader, staging: Path, limit_mb: float) -> Path:
    name = clean_upload_name(_unquoted(part.filename or ""))
    limit = int(limit_mb * 2**20)
    await asyncio.to_thread(staging.mkdir)
    target = staging / name
    size = 0
    async with aiofiles.open(target, "xb") as stream:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(
                    f"the file is larger than {limit_mb:g} MB (max_file_mb); nothing was kept"
                )
            await stream.write(chunk)
        await stream.flush()
        # The job's file (later kept in done/) must be on disk before the job says done.
        await asyncio.to_thread(os.fsync, stream.fileno())
    return target
