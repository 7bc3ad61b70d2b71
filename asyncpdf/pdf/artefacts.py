"""Artefacts of one plate PDF for the press and the web page: preview, proof, thumbnail, ink.

``make_artefacts`` is the single entry the job runner calls in the process pool: plain
arguments in, an ``Artefacts`` record out, everything synchronous. Each file is written under a
hidden temporary name in ``out_dir`` and renamed when complete, so a reader never sees half a
file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asyncpdf.errors import GhostscriptError
from asyncpdf.pdf import listing
from asyncpdf.pdf.coverage import measure_coverage
from asyncpdf.pdf.crop import shown_sizes_mm, write_crop, write_preview
from asyncpdf.pdf.downsample import Downsampled
from asyncpdf.pdf.ghostscript import content_bbox_mm, downsample, gs_path
from asyncpdf.pdf.model import Artefacts, BoxMM
from asyncpdf.pdf.render import render_proofs
from asyncpdf.pdf.split import split_by_press

NO_GHOSTSCRIPT = "ghostscript not installed: ink coverage not measured"
PREVIEW, PROOF, THUMB = "preview.pdf", "proof.jpg", "thumb.jpg"


def proof_name(sheet: int) -> str:
    """The proof of sheet ``sheet`` (1-based): ``proof.jpg`` for the first, as before there
    was one per sheet, then ``proof-2.jpg``…"""
    return PROOF if sheet == 1 else f"proof-{sheet}.jpg"


def make_artefacts(
    source: Path,
    out_dir: Path,
    crops_mm: Sequence[BoxMM | None],
    *,
    dpi: int = 150,
    proof_width_px: int = 2500,
    thumb_width_px: int = 175,
    timeout_s: float = 120,
    pages_by_press: Mapping[str, Sequence[int]] | None = None,
    page_inks: Sequence[Sequence[str]] | None = None,
) -> Artefacts:
    """Write preview.pdf, a proof of every sheet (``proof_name``) and thumb.jpg into
    ``out_dir``; measure ink coverage.

    ``crops_mm`` has one box (``crop.write_crop``'s convention) or None per page; a None page
    is cut to the box around what it draws, measured here by Ghostscript for those pages only
    (left whole where that cannot be measured, with a warning). The preview is the crop with
    its images downsampled to ``dpi``, written in one pass (``crop.write_preview``); images
    that pass cannot resample are left to Ghostscript's pdfwrite (its result kept only when
    smaller). Each page of the preview (a sheet) gets its proof, rendered once; the thumbnail
    is the first proof made smaller. Ink coverage is
    Ghostscript's, measured on the preview per plate: ``page_inks`` names each page's plates
    (the analysis' inks; not given or empty: every separation the page draws), see
    ``coverage.measure_coverage``.
    Ghostscript missing or failing is a warning, not an error: ``ink_coverage`` is then None.
    Each Ghostscript call is bounded by ``timeout_s``.
    With ``pages_by_press`` naming two or more presses, each also gets a preview of its own
    pages (``press_previews``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    temps: list[Path] = []

    def temp(name: str) -> Path:
        # Hidden and unique, so a hotfolder-style reader skips it and two workers never clash.
        path = out_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        temps.append(path)
        return path

    try:
        preview = temp(PREVIEW)
        made = write_preview(source, preview, crops_mm, dpi)
        preview = _content_cropped(preview, crops_mm, temp, timeout_s, warnings)
        has_gs = gs_path() is not None
        if has_gs:
            preview = _rest_downsampled(preview, made, temp, dpi, timeout_s, warnings)
        else:
            warnings.append(_without_ghostscript(made))
        names = [proof_name(sheet) for sheet in range(1, len(crops_mm) + 1)]
        proofs, thumb = [temp(name) for name in names], temp(THUMB)
        # The proofs render in a thread of this worker while Ghostscript measures the ink: two
        # independent readers of the finished preview. Ghostscript is started from this (the
        # main) thread, whose end is what kills it with the worker (lifetime.die_with_parent).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="proof") as beside:
            rendering = beside.submit(
                render_proofs, preview, proofs, thumb, proof_width_px, thumb_width_px
            )
            inks = list(page_inks) if page_inks is not None else [()] * len(crops_mm)
            sheets = shown_sizes_mm(preview)
            ink = (
                measure_coverage(preview, out_dir, inks, sheets, timeout_s, warnings)
                if has_gs
                else None
            )
            proof_px, thumb_px = rendering.result()
        for done, name in ((preview, PREVIEW), *zip(proofs, names, strict=True), (thumb, THUMB)):
            os.replace(done, out_dir / name)
    finally:
        for path in temps:
            path.unlink(missing_ok=True)
    press_previews = split_by_press(out_dir / PREVIEW, out_dir, pages_by_press or {})
    return Artefacts(
        dir=str(out_dir),
        preview=PREVIEW,
        press_previews=press_previews,
        proof=PROOF,
        proofs=tuple(names),
        thumb=THUMB,
        preview_bytes=(out_dir / PREVIEW).stat().st_size,
        proof_px=proof_px,
        thumb_px=thumb_px,
        ink_coverage=tuple(ink) if ink is not None else None,
        sheets_mm=tuple(sheets),
        warnings=tuple(warnings),
    )


def _content_cropped(
    preview: Path,
    crops_mm: Sequence[BoxMM | None],
    temp: Callable[[str], Path],
    timeout_s: float,
    warnings: list[str],
) -> Path:
    """The preview with its pages that had no box cut to what they draw.

    Those pages were left whole: their content is measured on the preview, whose images are
    already downsampled (the same box, for less of Ghostscript's time), then cut.
    """
    wanted = [index for index, box in enumerate(crops_mm) if box is None]
    if not wanted:
        return preview
    try:
        boxes = content_bbox_mm(preview, timeout_s, wanted)
    except GhostscriptError as exc:
        shown = listing.pages([index + 1 for index in wanted])
        warnings.append(f"{shown} left whole: the content could not be measured: {exc}")
        return preview
    crops: list[BoxMM | None] = [None] * len(crops_mm)
    for index, box in zip(wanted, boxes, strict=False):
        crops[index] = box
    cropped = temp("cut-" + PREVIEW)
    write_crop(preview, cropped, crops)
    return cropped


def _not_downsampled(made: Downsampled) -> str | None:
    if made.error:
        return made.error
    if made.left:
        return f"{made.left} image(s) could not be downsampled without ghostscript"
    return None


def _without_ghostscript(made: Downsampled) -> str:
    why = _not_downsampled(made)
    return NO_GHOSTSCRIPT + (f"; preview not fully downsampled: {why}" if why else "")


def _rest_downsampled(
    preview: Path,
    made: Downsampled,
    temp: Callable[[str], Path],
    dpi: int,
    timeout_s: float,
    warnings: list[str],
) -> Path:
    """The preview, or, when images were left too fine, the smaller of it and Ghostscript's
    downsampled copy of it."""
    if _not_downsampled(made) is None:
        return preview
    target = temp("gs-" + PREVIEW)
    try:
        downsample(preview, target, dpi, timeout_s)
    except GhostscriptError as exc:
        warnings.append(f"preview not downsampled: {exc}")
        return preview
    # A vector-only plate gains nothing from pdfwrite and can even grow: keep the smaller.
    return target if target.stat().st_size < preview.stat().st_size else preview
