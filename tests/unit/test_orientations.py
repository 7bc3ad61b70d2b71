"""The preview is the whole paper sheet on every plate: landscape and portrait MediaBoxes, each
/Rotate, CropBox and TrimBox apart from the MediaBox (DESIGN, "Crop for the preview").

Each plate is a generated Signa-like file whose Paper mark names the sheet; the sheet's four
corners carry black squares drawn where the rule puts the sheet. The preview page must be the
sheet within 1 mm, shown the way the plate is shown, with all four squares inside it.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from asyncpdf.config import load_settings
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.crop import MM_PER_PT, Crops, crop_boxes_mm, write_crop
from asyncpdf.pdf.render import render_page
from asyncpdf.pdf.rotation import page_rotation
from asyncpdf.testing.samples import Fill, SamplePage, signa_marks, write_sample

SETTINGS = load_settings(Path(__file__).resolve().parents[2] / "config.yaml")
RULES = SETTINGS.rules()
GRIPPERS = {press.name: press.gripper_mm for press in SETTINGS.presses}
SPEEDMASTER = (1030.0, 770.0)  # gripper 43 mm in config.yaml
DOT_MM = 8.0
Box = tuple[float, float, float, float]


def sheet_on_plate(media: tuple[float, float], paper: tuple[float, float], rotate: int) -> Box:
    """Where the rule puts the sheet, in MediaBox mm: along the bottom edge of a landscape
    MediaBox; on a portrait one along its left edge for /Rotate 0 and 270, its right edge for
    90 and 180 (the long edge shown at the bottom, or on the left when shown upright)."""
    width, height = media
    short, long = sorted(paper)
    gripper = GRIPPERS["Speedmaster"]
    if width >= height:
        return ((width - long) / 2, gripper, (width + long) / 2, gripper + short)
    x0 = gripper if rotate in (0, 270) else width - gripper - short
    return (x0, (height - long) / 2, x0 + short, (height + long) / 2)


def corner_dots(box: Box) -> tuple[Fill, ...]:
    x0, y0, x1, y1 = box
    return tuple(
        Fill((x, y, x + DOT_MM, y + DOT_MM)) for x in (x0, x1 - DOT_MM) for y in (y0, y1 - DOT_MM)
    )


def plate_file(
    path: Path,
    media: tuple[float, float],
    rotate: int,
    paper: tuple[float, float] = (1000.0, 700.0),
    **boxes: Box,
) -> Path:
    sheet = sheet_on_plate(media, paper, rotate)
    page = SamplePage(
        media,
        marks=signa_marks("Korol", "Speedmaster", paper),
        fills=corner_dots(sheet),
        rotate=rotate,
        **boxes,  # type: ignore[arg-type]
    )
    return write_sample(path, [page])


def preview_of(source: Path, target: Path) -> Crops:
    analysis = analyze_file(source, RULES)
    assert analysis.error is None, analysis.error
    crops = crop_boxes_mm(analysis, GRIPPERS)
    write_crop(source, target, crops.boxes)
    return crops


def shown_size_mm(path: Path) -> tuple[float, float, int]:
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        x0, y0, x1, y1 = (float(v) for v in page.obj.CropBox)
        width, height = abs(x1 - x0) * MM_PER_PT, abs(y1 - y0) * MM_PER_PT
        rotate = page_rotation(page)
    return ((height, width) if rotate % 180 else (width, height)) + (rotate,)


def assert_corners_dark(path: Path) -> None:
    image = render_page(path, 400).convert("L")
    width, height = image.size
    for x in (1, width - 2):
        for y in (1, height - 2):
            assert image.getpixel((x, y)) < 80, f"no sheet corner mark at pixel {(x, y)}"
    assert image.getpixel((width // 2, height // 2)) > 200  # the sheet's middle is blank


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_the_preview_is_the_whole_sheet(tmp_path: Path, orientation: str, rotate: int) -> None:
    media = SPEEDMASTER if orientation == "landscape" else SPEEDMASTER[::-1]
    source = plate_file(tmp_path / "1_x_Korol.pdf", media, rotate)
    target = tmp_path / "preview.pdf"
    crops = preview_of(source, target)
    assert crops.warnings == []
    width, height, kept = shown_size_mm(target)
    assert kept == rotate
    # Shown as the plate is shown: the sheet's long side lies along the plate's long side.
    plate_shown_landscape = (media[0] >= media[1]) == (rotate % 180 == 0)
    expected = (1000.0, 700.0) if plate_shown_landscape else (700.0, 1000.0)
    assert (width, height) == pytest.approx(expected, abs=1.0)
    assert_corners_dark(target)
    if orientation == "portrait":
        (note,) = crops.notes
        assert note.startswith("page 1: portrait plate")
    else:
        assert crops.notes == []


@pytest.mark.parametrize("rotate", [0, 90])
def test_crop_and_trim_boxes_do_not_move_the_sheet(tmp_path: Path, rotate: int) -> None:
    source = plate_file(
        tmp_path / "1_x_Korol.pdf",
        SPEEDMASTER,
        rotate,
        crop_box_mm=(5.0, 5.0, 1025.0, 765.0),
        trim_box_mm=(20.0, 50.0, 1010.0, 740.0),
    )
    target = tmp_path / "preview.pdf"
    assert preview_of(source, target).warnings == []
    width, height, _ = shown_size_mm(target)
    expected = (1000.0, 700.0) if rotate == 0 else (700.0, 1000.0)
    assert (width, height) == pytest.approx(expected, abs=1.0)
    assert_corners_dark(target)
    with pikepdf.open(target) as pdf:
        trim = [float(v) for v in pdf.pages[0].obj.TrimBox]
        media = [float(v) for v in pdf.pages[0].obj.MediaBox]
    # The trim box is kept, inside the new page.
    assert media[0] <= trim[0] < trim[2] <= media[2] and media[1] <= trim[1] < trim[3] <= media[3]


def test_a_sheet_reaching_past_the_far_edge_is_kept_whole(tmp_path: Path) -> None:
    # 720 mm + the 43 mm gripper is more than the 760 mm plate: the sheet still fits the plate,
    # so the preview is the whole sheet (blank where the plate ends) and nobody is warned.
    paper = (1000.0, 720.0)
    source = plate_file(tmp_path / "1_x_Korol.pdf", (1030.0, 760.0), 0, paper)
    target = tmp_path / "preview.pdf"
    assert preview_of(source, target).warnings == []
    width, height, _ = shown_size_mm(target)
    assert (width, height) == pytest.approx(paper, abs=1.0)
    assert_corners_dark(target)


def test_a_sheet_that_fits_in_no_orientation_is_a_warning(tmp_path: Path) -> None:
    paper = (1100.0, 640.0)
    source = write_sample(
        tmp_path / "1_x_Korol.pdf",
        [SamplePage(SPEEDMASTER, marks=signa_marks("Korol", "Speedmaster", paper), rotate=90)],
    )
    target = tmp_path / "preview.pdf"
    crops = preview_of(source, target)
    (warning,) = crops.warnings
    assert warning == (
        "page 1: paper 1100 x 640 mm does not fit the plate 1030 x 770 mm in any orientation: "
        "preview cropped to the plate's edge"
    )
    width, height, _ = shown_size_mm(target)
    assert (width, height) == pytest.approx((640.0, 1030.0), abs=1.0)
