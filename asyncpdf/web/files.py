"""A job's files over HTTP: its proofs (one per sheet), thumbnail and preview (per press too)
and its original.

Paths come only from the job's record, and the database could be edited: each one is resolved
(links followed) and served only when it is a plain file inside the previews folder or the
folders the spool keeps files in; anything else is a 404, as a file that is gone is.
"""

from __future__ import annotations

import asyncio
import mimetypes
import stat
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from asyncpdf.domain.records import Job
from asyncpdf.errors import BadRequest, NotFound
from asyncpdf.pdf.model import Artefacts
from asyncpdf.times import iso
from asyncpdf.web.keys import SERVICE

JPEG = "image/jpeg"
PDF = "application/pdf"


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and `filename*` with the name in UTF-8."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    # surrogateescape: a name may carry bytes that are not UTF-8 (shown as they were sent).
    encoded = quote(name.encode("utf-8", "surrogateescape"), safe="")
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{encoded}"


def _servable(path: Path, roots: tuple[Path, ...]) -> Path | None:
    """`path` resolved, when it is a plain file inside one of `roots`; else None. Blocking."""
    try:
        real = path.resolve(strict=True)
        inside = any(real.is_relative_to(root.resolve()) for root in roots)
        # A FIFO or device would hang or leak the reader: only plain files are served.
        return real if inside and stat.S_ISREG(real.stat().st_mode) else None
    except (OSError, RuntimeError, ValueError):  # gone, a link loop, a NUL in the name
        return None


async def _job(request: web.Request) -> Job:
    return await request.app[SERVICE].job(int(request.match_info["id"]))


def _artefact(job: Job, request: web.Request, what: str) -> Path:
    """The path the record names for one artefact (not yet checked)."""
    artefacts = job.artefacts
    if artefacts is None:
        raise NotFound(f"job {job.id} has no previews (not made yet, or they failed)")
    press = request.query.get("press") if what == "preview.pdf" else None
    if press is not None:
        presses = job.analysis.presses if job.analysis else ()
        name = artefacts.preview_for(press) if press in presses else None
        if name is None:
            raise NotFound(f"job {job.id} has no preview for press {press!r}")
    elif what == "proof.jpg":
        name = _proof(job, artefacts, request.query.get("sheet", "1"))
    else:
        name = artefacts.thumb if what == "thumb.jpg" else artefacts.preview
    if name is None:
        raise NotFound(f"job {job.id} has no {what}")
    return Path(artefacts.dir) / name


def _proof(job: Job, artefacts: Artefacts, sheet: str) -> str:
    """The proof of sheet ``sheet`` (1-based, as the query gives it)."""
    proofs = artefacts.sheet_proofs
    if not (sheet.isascii() and sheet.isdigit()) or int(sheet) < 1:
        raise BadRequest(f"sheet must be a whole number from 1, not {sheet!r}")
    if int(sheet) > len(proofs):
        made = f"proofs of {len(proofs)} sheet(s)" if proofs else "no proof"
        raise NotFound(f"job {job.id} has no proof of sheet {sheet}: it has {made}")
    return proofs[int(sheet) - 1]


async def artefact(request: web.Request) -> web.FileResponse:
    what = request.match_info["what"]
    job = await _job(request)
    path = _artefact(job, request, what)
    previews = request.app[SERVICE].settings.paths.previews
    real = await asyncio.to_thread(_servable, path, (previews,))
    if real is None:
        raise NotFound(f"job {job.id}: its {what} is gone from the previews folder")
    headers = {"Content-Type": PDF if what == "preview.pdf" else JPEG}
    if what == "preview.pdf":
        press = request.query.get("press")
        stem = Path(job.name).stem
        name = f"{stem} preview{f' {press}' if press else ''}.pdf"
        headers["Content-Disposition"] = content_disposition("inline", name)
    return web.FileResponse(real, headers=headers)


async def original(request: web.Request) -> web.FileResponse:
    service = request.app[SERVICE]
    job = await _job(request)
    paths = service.settings.paths

    if job.original_removed_at is not None:
        when = iso(job.original_removed_at)
        raise NotFound(f"job {job.id}: its original was removed by retention on {when}")
    kept = await service.kept_file(job)
    folders = (paths.spool, paths.done, paths.error)
    real = await asyncio.to_thread(_servable, kept, folders) if kept else None
    if real is None:
        raise NotFound(f"job {job.id}: its original file is no longer kept")
    # Set here: aiohttp's own guess would also send a Content-Encoding for a name ending .gz.
    guessed, encoding = mimetypes.guess_type(job.name, strict=False)
    content_type = guessed if guessed and not encoding else "application/octet-stream"
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition("attachment", job.name),
    }
    return web.FileResponse(real, headers=headers)


def setup(app: web.Application) -> None:
    app.router.add_get(r"/api/jobs/{id:\d+}/{what:proof\.jpg|thumb\.jpg|preview\.pdf}", artefact)
    app.router.add_get(r"/api/jobs/{id:\d+}/original", original)
