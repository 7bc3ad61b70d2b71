"""Artefacts of one plate PDF for the press and the web page: preview, proof, thumbnail, ink.

``make_artefacts`` is the single entry the job runner calls in the process pool: plain
arguments in, an ``Artefacts`` record out, everything synchronous. Each file is written under a
hidden temporary name in ``out_dir`` and renamed when complete, so a reader never sees half a
file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from asyncpdf.errors import GhostscriptError
from asyncpdf.pdf import listing
from asyncpdf.pdf.crop import write_crop
from asyncpdf.pdf.ghostscript import content_bbox_mm, downsample, gs_path, ink_coverage
from asyncpdf.pdf.model import Artefacts, BoxMM
from asyncpdf.pdf.render import render_jpeg
from asyncpdf.pdf.split import split_by_press

NO_GHOSTSCRIPT = "ghostscript not installed: preview not downsampled, ink coverage not measured"
PREVIEW, PROOF, THUMB = "preview.pdf", "proof.jpg", "thumb.jpg"


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
) -> Artefacts:
    """Write preview.pdf, proof.jpg and thumb.jpg into ``out_dir``; measure ink coverage.

    ``crops_mm`` has one box (``crop.write_crop``'s convention) or None per page; a None page
    is cut to the box around what it draws, measured here by Ghostscript for those pages only
    (left whole where that cannot be measured, with a warning). The preview
    is the crop with images downsampled to ``dpi`` by Ghostscript (kept as the plain crop when
    that is not smaller). Ghostscript missing or failing is a warning, not an error: the preview
    is then the plain crop and ``ink_coverage`` is None. Each Ghostscript call is bounded by
    ``timeout_s``. Proof and thumbnail show page 1 of the crop. With ``pages_by_press`` naming
    two or more presses, each also gets a preview of its own pages (``press_previews``).
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
        crop = temp("crop.pdf")
        write_crop(source, crop, _measured(source, crops_mm, timeout_s, warnings))
        preview, ink = crop, None
        if gs_path() is None:
            warnings.append(NO_GHOSTSCRIPT)
        else:
            preview = _downsampled(crop, temp(PREVIEW), dpi, timeout_s, warnings)
            ink = _ink(crop, len(crops_mm), timeout_s, warnings)
        proof, thumb = temp(PROOF), temp(THUMB)
        proof_px = render_jpeg(crop, proof, proof_width_px)
        thumb_px = render_jpeg(crop, thumb, thumb_width_px)
        for done, name in ((preview, PREVIEW), (proof, PROOF), (thumb, THUMB)):
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
        thumb=THUMB,
        preview_bytes=(out_dir / PREVIEW).stat().st_size,
        proof_px=proof_px,
        thumb_px=thumb_px,
        ink_coverage=tuple(ink) if ink is not None else None,
        warnings=tuple(warnings),
    )


def _measured(
    source: Path, crops_mm: Sequence[BoxMM | None], timeout_s: float, warnings: list[str]
) -> list[BoxMM | None]:
    crops = list(crops_mm)
    wanted = [index for index, box in enumerate(crops) if box is None]
    if not wanted:
        return crops
    try:
        boxes = content_bbox_mm(source, timeout_s, wanted)
    except GhostscriptError as exc:
        shown = listing.pages([index + 1 for index in wanted])
        warnings.append(f"{shown} left whole: the content could not be measured: {exc}")
        return crops
    for index, box in zip(wanted, boxes, strict=False):
        crops[index] = box
    return crops


def _downsampled(crop: Path, target: Path, dpi: int, timeout_s: float, warnings: list[str]) -> Path:
    """The smaller of the crop and its Ghostscript-downsampled copy."""
    try:
        downsample(crop, target, dpi, timeout_s)
    except GhostscriptError as exc:
        warnings.append(f"preview not downsampled: {exc}")
        return crop
    # A vector-only plate gains nothing from pdfwrite and can even grow: keep the smaller.
    return target if target.stat().st_size < crop.stat().st_size else crop


def _ink(
    crop: Path, pages: int, timeout_s: float, warnings: list[str]
) -> list[dict[str, float]] | None:
    try:
        coverage = ink_coverage(crop, timeout_s)
    except GhostscriptError as exc:
        warnings.append(f"ink coverage not measured: {exc}")
        return None
    if len(coverage) != pages:
        warnings.append(f"ink coverage measured on {len(coverage)} of {pages} pages")
    return coverage
