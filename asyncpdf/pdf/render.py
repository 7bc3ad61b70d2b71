"""JPEG proofs and thumbnails of a PDF page, rendered with pypdfium2 and saved with Pillow."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium

from asyncpdf.errors import RenderError

# A proof is for a screen: refuse absurd page shapes rather than allocate gigabytes.
MAX_PIXELS = 60_000_000


def render_jpeg(
    source: Path, target: Path, width_px: int, page_index: int = 0, quality: int = 85
) -> tuple[int, int]:
    """Render page ``page_index`` of ``source`` ``width_px`` wide as a JPEG; return (w, h).

    The page is drawn as shown (CropBox, /Rotate applied), its height following its aspect
    ratio. CMYK content is converted to RGB by pdfium's plain formula (no ICC profile).
    """
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
            bitmap = page.render(scale=width_px / width_pt)
            try:
                image = bitmap.to_pil()
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        pdf.close()
    if image.mode != "RGB":  # JPEG has no alpha; pdfium gives BGR(A)/greyscale modes
        image = image.convert("RGB")
    image.save(target, format="JPEG", quality=quality, optimize=True)
    return int(image.width), int(image.height)
