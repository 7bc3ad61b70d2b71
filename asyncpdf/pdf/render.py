"""JPEG proofs and thumbnails of a PDF page, rendered with pypdfium2 and saved with Pillow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from asyncpdf.errors import RenderError

# A proof is for a screen: refuse absurd page shapes rather than allocate gigabytes.
MAX_PIXELS = 60_000_000
# Pillow first averages whole blocks of pixels, then filters at most this many times the
# final size: as sharp as filtering all of it, for a fraction of the work.
_REDUCING_GAP = 3.0

#: Proofs are for a screen and there is one per sheet: about 150 KB a sheet.
PROOF_QUALITY = 80

Size = tuple[int, int]


def render_jpeg(
    source: Path, target: Path, width_px: int, page_index: int = 0, quality: int = 85
) -> Size:
    """Render page ``page_index`` of ``source`` ``width_px`` wide as a JPEG; return (w, h).

    The page is drawn as shown (CropBox, /Rotate applied), its height following its aspect
    ratio. CMYK content is converted to RGB by pdfium's plain formula (no ICC profile).
    """
    pdf = pdfium.PdfDocument(source)
    try:
        with _rendered(pdf, width_px, page_index) as image:
            _save(image, target, quality)
            return int(image.width), int(image.height)
    finally:
        pdf.close()


def render_proofs(
    source: Path,
    proofs: Sequence[Path],
    thumb: Path,
    proof_width_px: int,
    thumb_width_px: int,
    quality: int = PROOF_QUALITY,
) -> tuple[Size, Size]:
    """A proof of every page (``proofs[i]`` for page *i*) and the thumbnail of the first, as
    JPEGs; return the first proof's size and the thumbnail's.

    The document is opened once and each page rendered once (as ``render_jpeg`` does); the
    thumbnail is the first proof made smaller (only a thumbnail wider than the proof is
    rendered on its own). One page image is held at a time.
    """
    if not proofs:
        raise RenderError("no page to make a proof of")
    pdf = pdfium.PdfDocument(source)
    try:
        if len(proofs) != len(pdf):
            raise RenderError(f"{len(proofs)} proofs for a {len(pdf)}-page PDF")
        sizes: list[Size] = []
        thumb_size: Size = (0, 0)
        for index, target in enumerate(proofs):
            with _rendered(pdf, proof_width_px, index) as image:
                _save(image, target, quality)
                sizes.append((image.width, image.height))
                if index == 0 and thumb_width_px <= image.width:
                    thumb_size = _thumbnail(
                        image.resize(
                            (
                                thumb_width_px,
                                max(1, round(image.height * thumb_width_px / image.width)),
                            ),
                            Image.Resampling.LANCZOS,
                            reducing_gap=_REDUCING_GAP,
                        ),
                        thumb,
                        quality,
                    )
            if index == 0 and thumb_width_px > sizes[0][0]:
                with _rendered(pdf, thumb_width_px, 0) as small:
                    thumb_size = _thumbnail(small, thumb, quality)
    finally:
        pdf.close()
    return sizes[0], thumb_size


def _thumbnail(small: Image.Image, thumb: Path, quality: int) -> Size:
    _save(small, thumb, quality)
    return (small.width, small.height)


def render_page(source: Path, width_px: int, page_index: int = 0) -> Image.Image:
    """Page ``page_index`` of ``source`` as an RGB image ``width_px`` wide (see render_jpeg)."""
    pdf = pdfium.PdfDocument(source)
    try:
        with _rendered(pdf, width_px, page_index) as image:
            return image.convert("RGB")
    finally:
        pdf.close()


@contextmanager
def _rendered(pdf: pdfium.PdfDocument, width_px: int, page_index: int) -> Iterator[Image.Image]:
    """The page as an image ``width_px`` wide, valid inside the ``with`` only: it is pdfium's
    bitmap itself (RGB and a padding byte, ``RGBX``, which Pillow uses without a copy and saves
    as an RGB JPEG), freed on leaving."""
    if width_px < 1:
        raise RenderError(f"width must be at least 1 px, not {width_px}")
    if not 0 <= page_index < len(pdf):
        raise RenderError(f"no page {page_index + 1} in a {len(pdf)}-page PDF")
    page = pdf[page_index]
    try:
        width_pt, height_pt = page.get_size()
        if width_pt <= 0 or height_pt <= 0:
            raise RenderError(f"page {page_index + 1} has no area")
        if width_px * width_px * height_pt / width_pt > MAX_PIXELS:
            raise RenderError(
                f"page {page_index + 1} ({width_pt:.0f} x {height_pt:.0f} pt) is too tall "
                f"to render {width_px} px wide"
            )
        # RGBX in pdfium's byte order: plain RGB (three bytes a pixel) Pillow would copy into
        # its own four-byte layout, about 6 ms a 2500 px sheet.
        bitmap = page.render(scale=width_px / width_pt, rev_byteorder=True, prefer_bgrx=True)
    finally:
        page.close()
    try:
        image: Image.Image = bitmap.to_pil()
        # JPEG has no alpha; pdfium may give RGBA or grey modes (a copy, then).
        yield image if image.mode in ("RGB", "RGBX") else image.convert("RGB")
    finally:
        bitmap.close()


def _save(image: Image.Image, target: Path, quality: int) -> None:
    # No optimize pass: it halves the speed of a save for a few per cent of size.
    image.save(target, format="JPEG", quality=quality)
