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

import pikepdf

from asyncpdf.errors import CropError, PaperOffPlate
from asyncpdf.pdf import listing
from asyncpdf.pdf.downsample import Downsampled, downsample_images
from asyncpdf.pdf.model import Analysis, BoxMM

MM_PER_PT = 25.4 / 72
_EPS_MM = 1e-6  # float noise when a paper exactly fills the plate


def paper_box_mm(
    page_mm: tuple[float, float], paper_mm: tuple[float, float], gripper_mm: float
) -> BoxMM:
    """Where the paper sheet lies on the plate: centred across, ``gripper_mm`` above the bottom.

    ``page_mm`` is the plate (page) width and height as shown, i.e. with ``/Rotate`` 90/270
    already applied by swapping (``analysis.media_size_mm`` does that). Returns
    ``(x0, y0, x1, y1)`` in mm in the same shown coordinates, ready for ``write_crop``.

    Raises ``PaperOffPlate`` (a ``CropError`` carrying the box clipped to the plate) when the
    sheet would leave the plate, e.g. a paper wider than the plate or a width and height given
    the wrong way round; the caller logs the message as a warning and crops to ``exc.box``.
    Raises ``CropError`` for sizes that make no sense (not positive, negative gripper).
    """
    plate_w, plate_h = (float(v) for v in page_mm)
    paper_w, paper_h = (float(v) for v in paper_mm)
    if min(plate_w, plate_h, paper_w, paper_h) <= 0 or gripper_mm < 0:
        raise CropError(
            f"bad sizes for the paper box: plate {plate_w:g} x {plate_h:g} mm, "
            f"paper {paper_w:g} x {paper_h:g} mm, gripper {gripper_mm:g} mm"
        )
    box = (
        (plate_w - paper_w) / 2,
        float(gripper_mm),
        (plate_w + paper_w) / 2,
        gripper_mm + paper_h,
    )
    if box[0] >= -_EPS_MM and box[3] <= plate_h + _EPS_MM:
        return box
    clipped = (max(box[0], 0.0), min(box[1], plate_h), min(box[2], plate_w), min(box[3], plate_h))
    left = clipped if clipped[2] > clipped[0] and clipped[3] > clipped[1] else None
    raise PaperOffPlate(
        f"paper {paper_w:g} x {paper_h:g} mm with gripper {gripper_mm:g} mm does not fit "
        f"the plate {plate_w:g} x {plate_h:g} mm: "
        + ("preview cropped to the plate's edge" if left else "preview not cropped"),
        left,
    )


def crop_boxes_mm(
    analysis: Analysis, grippers: Mapping[str, float]
) -> tuple[list[BoxMM | None], list[str]]:
    """Per page: the paper sheet where the press's gripper puts it, when a mark gave the paper
    size; else None, which `make_artefacts` measures as the box around what the page draws (the
    old tool's crop step did the same). A paper size that cannot be placed keeps the page whole.
    """
    crops: list[BoxMM | None] = []
    warnings: list[str] = []
    unmarked: list[int] = []
    for index, page in enumerate(analysis.pages):
        gripper = grippers.get(page.press) if page.press else None
        if page.paper_mm and page.paper_from == "mark" and gripper is not None:
            try:
                crops.append(paper_box_mm(page.media_mm, page.paper_mm, gripper))
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
    return crops, warnings


def _rotation(page: pikepdf.Page) -> int:
    # pikepdf.open pushes an inherited /Rotate down to the page; odd values snap to 90°,
    # and junk counts as no rotation (as viewers treat it).
    try:
        return round(float(page.obj.get("/Rotate", 0)) / 90) * 90 % 360
    except (TypeError, ValueError):
        return 0


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


def _clip(box: Sequence[float], to: Sequence[float]) -> list[float] | None:
    x0, y0 = max(box[0], to[0]), max(box[1], to[1])
    x1, y1 = min(box[2], to[2]), min(box[3], to[3])
    return [x0, y0, x1, y1] if x1 > x0 and y1 > y0 else None


def _normalised(raw: pikepdf.Object) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in raw)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _crop_page(page: pikepdf.Page, box_mm: BoxMM, index: int) -> None:
    media = _normalised(page.mediabox)
    width, height = media[2] - media[0], media[3] - media[1]
    box_pt = [v / MM_PER_PT for v in box_mm]
    x0, y0, x1, y1 = _shown_to_media(
        (box_pt[0], box_pt[1], box_pt[2], box_pt[3]), width, height, _rotation(page)
    )
    # Offset by the MediaBox origin, and stay on the page (viewers clip there anyway).
    new = _clip([media[0] + x0, media[1] + y0, media[0] + x1, media[1] + y1], media)
    if new is None:
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
    without -dUseCropBox) agree. Boxes are in mm in the shown page (see the module docstring),
    offset here by the MediaBox origin; a ``None`` box leaves that page whole. A box reaching
    beyond the page is clipped to it. There must be exactly one entry per page.
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
