"""JPEG proofs and thumbnails of a PDF page, rendered with pypdfium2 and saved with Pillow."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from asyncpdf.errors import RenderError

# A proof is for a screen: refuse absurd page shapes rather than allocate gigabytes.
MAX_PIXELS = 60_000_000
# Pillow first averages whole blocks of pixels, then filters at most this many times the
# final size: as sharp as filtering all of it, for a fraction of the work.
_REDUCING_GAP = 3.0

Size = tuple[int, int]


def render_jpeg(
    source: Path, target: Path, width_px: int, page_index: int = 0, quality: int = 85
) -> Size:
    """Render page ``page_index`` of ``source`` ``width_px`` wide as a JPEG; return (w, h).

    The page is drawn as shown (CropBox, /Rotate applied), its height following its aspect
    ratio. CMYK content is converted to RGB by pdfium's plain formula (no ICC profile).
    """
    image = render_page(source, width_px, page_index)
    _save(image, target, quality)
    return int(image.width), int(image.height)


def render_proof(
    source: Path,
    proof: Path,
    thumb: Path,
    proof_width_px: int,
    thumb_width_px: int,
    page_index: int = 0,
    quality: int = 85,
) -> tuple[Size, Size]:
    """The proof and the thumbnail of page ``page_index`` as JPEGs; return their sizes.

    The page is rendered once, for the proof (as ``render_jpeg`` does); the thumbnail is the
    proof made smaller. Only a thumbnail wider than the proof is rendered on its own.
    """
    image = render_page(source, proof_width_px, page_index)
    _save(image, proof, quality)
    if thumb_width_px > image.width:
        return (image.width, image.height), render_jpeg(
            source, thumb, thumb_width_px, page_index, quality
        )
    height = max(1, round(image.height * thumb_width_px / image.width))
    small = image.resize(
        (thumb_width_px, height), Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP
    )
    _save(small, thumb, quality)
    return (image.width, image.height), (small.width, small.height)


def render_page(source: Path, width_px: int, page_index: int = 0) -> Image.Image:
    """Page ``page_index`` of ``source`` as an RGB image ``width_px`` wide (see render_jpeg)."""
    if width_px < 1:
        raise RenderError(f"width must be at least 1 px, not {width_px}")
    pdf = pdfium.PdfDocument(source)
    try:
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
            # RGB in pdfium's own byte order: Pillow takes it as it is, without a conversion.
            bitmap = page.render(scale=width_px / width_pt, rev_byteorder=True)
            try:
                image: Image.Image = bitmap.to_pil()
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        pdf.close()
    if image.mode != "RGB":  # JPEG has no alpha; pdfium may give RGBA or greyscale modes
        image = image.convert("RGB")
    return image


def _save(image: Image.Image, target: Path, quality: int) -> None:
    image.save(target, format="JPEG", quality=quality, optimize=True)
