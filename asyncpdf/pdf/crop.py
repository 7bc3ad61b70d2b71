"""Crop a plate PDF to the press operator's paper sheet.

Boxes here are in millimetres, in the page *as it is shown*: after its ``/Rotate``, measured
from the shown lower-left corner of the MediaBox. For an unrotated page (Signa's normal output)
that is simply "mm from the MediaBox's lower-left corner". The same convention is used by
``analysis.media_size_mm`` (the page size as shown) and by Ghostscript's bbox device (which
reports the content box of the rotated page), so sizes and boxes from either fit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pikepdf

from asyncpdf.errors import CropError, PaperOffPlate
from asyncpdf.pdf import listing
from asyncpdf.pdf.downsample import Downsampled, downsample_images
from asyncpdf.pdf.model import Analysis, BoxMM, PageAnalysis, SizeMM
from asyncpdf.pdf.rotation import page_rotation

MM_PER_PT = 25.4 / 72
_EPS_MM = 1e-6  # float noise when a paper exactly fills the plate


class Crops(NamedTuple):
    """What ``crop_boxes_mm`` decided for a file's pages."""

    #: Per page: the box to crop to (``write_crop``'s convention), None to measure the content.
    boxes: list[BoxMM | None]
    #: Rules that could not be applied: the operator must look.
    warnings: list[str]
    #: Choices the file left open, said once for the job's result (not warnings).
    notes: list[str]


def gripper_edge(media_mm: tuple[float, float], rotate: int) -> str:
    """Which edge of the MediaBox (unrotated) grips: "bottom", "left" or "right".

    A landscape MediaBox grips at its bottom edge. A portrait one does not say which of its
    long edges grips; by the documented rule (README, "Crop for the preview") it is the long
    edge the page is shown with at the bottom, or, for a page shown upright (/Rotate 0 or
    180), the long edge shown on its left: the left edge for /Rotate 0 and 270, the right
    edge for 90 and 180.
    """
    width, height = media_mm
    if width >= height:
        return "bottom"
    return "left" if rotate in (0, 270) else "right"


def paper_box_mm(
    media_mm: tuple[float, float],
    paper_mm: tuple[float, float],
    gripper_mm: float,
    rotate: int = 0,
) -> BoxMM:
    """Where the paper sheet lies on the plate, by DESIGN's rule: the sheet's long side along
    the gripper edge (a long edge of the plate, see ``gripper_edge``), centred along it,
    ``gripper_mm`` away from it.

    ``media_mm`` is the MediaBox's own width and height (before ``/Rotate``, which only turns
    the display). Returns ``(x0, y0, x1, y1)`` in mm in the page *as shown* (``write_crop``'s
    convention), so the preview page shows the sheet the way the plate is shown. A sheet that
    fits the plate but, with the gripper, reaches past the far edge is kept whole: the preview
    is always the whole sheet.

    Raises ``PaperOffPlate`` (a ``CropError`` carrying the sheet clipped to the plate) when the
    sheet fits the plate in no orientation; the caller logs the message as a warning and crops
    to ``exc.box``. Raises ``CropError`` for sizes that make no sense (not positive, negative
    gripper).
    """
    width, height = (float(v) for v in media_mm)
    paper_short, paper_long = sorted(float(v) for v in paper_mm)
    if min(width, height, paper_short) <= 0 or gripper_mm < 0:
        raise CropError(
            f"bad sizes for the paper box: plate {width:g} x {height:g} mm, "
            f"paper {paper_mm[0]:g} x {paper_mm[1]:g} mm, gripper {gripper_mm:g} mm"
        )
    edge = gripper_edge((width, height), rotate)
    plate_long = max(width, height)
    along = ((plate_long - paper_long) / 2, (plate_long + paper_long) / 2)
    if edge == "bottom":
        box = (along[0], gripper_mm, along[1], gripper_mm + paper_short)
    elif edge == "left":
        box = (gripper_mm, along[0], gripper_mm + paper_short, along[1])
    else:
        box = (width - gripper_mm - paper_short, along[0], width - gripper_mm, along[1])
    plate_short = min(width, height)
    if paper_long <= plate_long + _EPS_MM and paper_short <= plate_short + _EPS_MM:
        return _media_to_shown(box, width, height, rotate)
    clipped = _clip(box, (0.0, 0.0, width, height))
    raise PaperOffPlate(
        f"paper {paper_mm[0]:g} x {paper_mm[1]:g} mm does not fit the plate "
        f"{width:g} x {height:g} mm in any orientation: "
        + ("preview cropped to the plate's edge" if clipped else "preview not cropped"),
        _media_to_shown(clipped, width, height, rotate) if clipped else None,
    )


def _media_size(page: PageAnalysis) -> tuple[float, float]:
    """The MediaBox's own sides: ``media_mm`` is the page as shown."""
    width, height = page.media_mm
    return (height, width) if page.rotate % 180 else (width, height)


def crop_boxes_mm(analysis: Analysis, grippers: Mapping[str, float]) -> Crops:
    """Per page: the paper sheet where the press's gripper puts it, when a mark gave the paper
    size; else None, which `make_artefacts` measures as the box around what the page draws (the
    old tool's crop step did the same). A paper size that cannot be placed keeps the page whole.
    """
    crops: list[BoxMM | None] = []
    warnings: list[str] = []
    unmarked: list[int] = []
    portrait: list[int] = []
    for index, page in enumerate(analysis.pages):
        gripper = grippers.get(page.press) if page.press else None
        if page.paper_mm and page.paper_from == "mark" and gripper is not None:
            media = _media_size(page)
            if gripper_edge(media, page.rotate) != "bottom":
                portrait.append(index + 1)
            try:
                crops.append(paper_box_mm(media, page.paper_mm, gripper, page.rotate))
            except PaperOffPlate as exc:
                warnings.append(f"page {index + 1}: {exc}")
                crops.append(exc.box)
            except CropError as exc:
                warnings.append(f"page {index + 1}: {exc}")
                crops.append((0.0, 0.0, *page.media_mm))
        else:
            unmarked.append(index + 1)
            crops.append(None)
    if unmarked:
        warnings.append(
            f"{listing.pages(unmarked)}: no mark gives the paper size and press: the preview "
            "is cut to what the page draws, colour bars and marks included"
        )
    notes = []
    if portrait:
        notes.append(
            f"{listing.pages(portrait)}: portrait plate (its MediaBox does not say which long "
            "edge grips): the sheet is placed on the long edge shown at the bottom, or on the "
            "left where the page is shown upright"
        )
    return Crops(crops, warnings, notes)


def _shown_to_media(box: BoxMM, width: float, height: float, rotate: int) -> BoxMM:
    """Map a box from shown (rotated) coordinates back to unrotated MediaBox coordinates.

    ``width``/``height`` are the MediaBox's own (unrotated) sides; /Rotate turns clockwise.
    """
    u0, v0, u1, v1 = box
    if rotate == 90:
        x0, y0, x1, y1 = width - v1, u0, width - v0, u1
    elif rotate == 180:
        x0, y0, x1, y1 = width - u1, height - v1, width - u0, height - v0
    elif rotate == 270:
        x0, y0, x1, y1 = v0, height - u1, v1, height - u0
    else:
        x0, y0, x1, y1 = u0, v0, u1, v1
    return (x0, y0, x1, y1)


def _media_to_shown(box: BoxMM, width: float, height: float, rotate: int) -> BoxMM:
    """The inverse of ``_shown_to_media``."""
    x0, y0, x1, y1 = box
    if rotate == 90:
        return (y0, width - x1, y1, width - x0)
    if rotate == 180:
        return (width - x1, height - y1, width - x0, height - y0)
    if rotate == 270:
        return (height - y1, x0, height - y0, x1)
    return box


def _clip(box: Sequence[float], to: Sequence[float]) -> BoxMM | None:
    x0, y0 = max(box[0], to[0]), max(box[1], to[1])
    x1, y1 = min(box[2], to[2]), min(box[3], to[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _normalised(raw: pikepdf.Object) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in raw)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _crop_page(page: pikepdf.Page, box_mm: BoxMM, index: int) -> None:
    media = _normalised(page.mediabox)
    width, height = media[2] - media[0], media[3] - media[1]
    box_pt = [v / MM_PER_PT for v in box_mm]
    x0, y0, x1, y1 = _shown_to_media(
        (box_pt[0], box_pt[1], box_pt[2], box_pt[3]), width, height, page_rotation(page)
    )
    # Offset by the MediaBox origin. A sheet may reach past the plate's far edge (the gripper
    # margin pushes it there): the page grows, blank paper where the plate ends.
    new = (media[0] + x0, media[1] + y0, media[0] + x1, media[1] + y1)
    if _clip(new, media) is None:
        raise CropError(f"page {index + 1}: crop box {box_mm} mm lies outside the page")
    rounded = pikepdf.Array([round(v, 4) for v in new])
    page.obj.MediaBox = rounded
    page.obj.CropBox = rounded
    # Trim/Bleed/ArtBox must lie inside the MediaBox: clip them, drop what falls outside.
    for name in ("/TrimBox", "/BleedBox", "/ArtBox"):
        if name in page.obj:
            kept = _clip(_normalised(page.obj[name]), new)
            if kept is None:
                del page.obj[name]
            else:
                page.obj[name] = pikepdf.Array([round(v, 4) for v in kept])


def write_crop(source: Path, target: Path, boxes_mm: Sequence[BoxMM | None]) -> None:
    """Write a copy of ``source`` whose page *i* shows only ``boxes_mm[i]``.

    Both /MediaBox and /CropBox are set to the box so every viewer and Ghostscript (with or
    without -dUseCropBox) agree; /Rotate is kept. Boxes are in mm in the shown page (see the
    module docstring), offset here by the MediaBox origin; a ``None`` box leaves that page
    whole. A box reaching beyond the page is kept (blank there); one that misses the page is
    an error. There must be exactly one entry per page.
    Raises ``CropError`` for all of that.
    """
    write_preview(source, target, boxes_mm, None)


def write_preview(
    source: Path, target: Path, boxes_mm: Sequence[BoxMM | None], dpi: float | None
) -> Downsampled:
    """``write_crop``, and with ``dpi`` the images downsampled to it on the way
    (``downsample.downsample_images``): one read and one write of the file for both.

    Raises ``CropError`` as ``write_crop`` does. Downsampling never fails the preview: what it
    could not do is in the result (``left``, ``error``), the crop is written all the same.
    """
    try:
        with pikepdf.open(source) as pdf:
            if len(boxes_mm) != len(pdf.pages):
                raise CropError(f"{len(boxes_mm)} crop boxes for {len(pdf.pages)} pages")
            for index, (page, box) in enumerate(zip(pdf.pages, boxes_mm, strict=True)):
                if box is not None:
                    _crop_page(page, box, index)
            done = downsample_images(pdf, dpi) if dpi else Downsampled()
            pdf.save(target)
    except pikepdf.PikepdfError as exc:
        raise CropError(f"cannot crop {source.name}: {exc}") from exc
    return done


def shown_sizes_mm(source: Path) -> list[SizeMM]:
    """Each page's size as shown (its CropBox, turned by its /Rotate), in mm to 0.1."""
    try:
        with pikepdf.open(source) as pdf:
            sizes = []
            for page in pdf.pages:
                x0, y0, x1, y1 = _normalised(page.obj.get("/CropBox", page.mediabox))
                width, height = (x1 - x0) * MM_PER_PT, (y1 - y0) * MM_PER_PT
                if page_rotation(page) % 180:
                    width, height = height, width
                sizes.append((round(width, 1), round(height, 1)))
    except pikepdf.PikepdfError as exc:
        raise CropError(f"cannot read the page sizes of {source.name}: {exc}") from exc
    return sizes
