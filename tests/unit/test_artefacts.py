"""asyncpdf.pdf.artefacts against the real tools: Ghostscript, pypdfium2, pikepdf-built PDFs."""

from __future__ import annotations

import pickle
import random
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.config import load_settings
from asyncpdf.errors import CropError, GhostscriptError, PaperOffPlate, RenderError
from asyncpdf.pdf import artefacts
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import NO_GHOSTSCRIPT, make_artefacts
from asyncpdf.pdf.crop import crop_boxes_mm, paper_box_mm, write_crop
from asyncpdf.pdf.ghostscript import content_bbox_mm, downsample, gs_path, ink_coverage
from asyncpdf.pdf.inks import PROCESS
from asyncpdf.pdf.model import Artefacts, BoxMM
from asyncpdf.pdf.render import render_jpeg
from asyncpdf.testing.samples import make_samples

ROOT = Path(__file__).resolve().parents[2]
PT = 72 / 25.4  # points per mm
JPEG_MAGIC = b"\xff\xd8"

requires_gs = pytest.mark.skipif(gs_path() is None, reason="Debian's ghostscript is not installed")


@dataclass
class Page:
    """One test page: MediaBox in mm, content drawn in mm (user space scaled by PT)."""

    media_mm: tuple[float, float, float, float] = (0, 0, 100, 100)
    content: str = ""
    rotate: int = 0
    images: dict[str, int] = field(default_factory=dict)  # name -> pixel side (CMYK, random)


def square(x: float, y: float, w: float, h: float, cmyk: str = "1 0 0 0") -> str:
    """A filled rectangle in mm."""
    return f"{cmyk} k {x * PT:.4f} {y * PT:.4f} {w * PT:.4f} {h * PT:.4f} re f"


def placed(name: str, x: float, y: float, side_mm: float) -> str:
    s = side_mm * PT
    return f"q {s:.4f} 0 0 {s:.4f} {x * PT:.4f} {y * PT:.4f} cm /{name} Do Q"


def cmyk_image(pdf: pikepdf.Pdf, side_px: int, seed: int) -> pikepdf.Stream:
    data = random.Random(seed).randbytes(side_px * side_px * 4)
    return pdf.make_stream(
        zlib.compress(data, 1),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=side_px,
        Height=side_px,
        ColorSpace=pikepdf.Name.DeviceCMYK,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )


def build(path: Path, *pages: Page) -> Path:
    pdf = pikepdf.new()
    for number, spec in enumerate(pages):
        page = pdf.add_blank_page()
        page.obj.MediaBox = pikepdf.Array([v * PT for v in spec.media_mm])
        # "q Q" rather than nothing: Ghostscript reports an empty content stream as an error.
        page.obj.Contents = pdf.make_stream((spec.content or "q Q").encode())
        if spec.rotate:
            page.obj.Rotate = spec.rotate
        if spec.images:
            xobjects = {
                f"/{name}": cmyk_image(pdf, side, seed=number) for name, side in spec.images.items()
            }
            page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects))
    pdf.save(path)
    return path


def boxes_pt(path: Path, name: str) -> list[list[float] | None]:
    """Each page's own /MediaBox or /CropBox in points; None where the page has none."""
    with pikepdf.open(path) as pdf:
        return [
            [float(v) for v in page.obj[name]] if name in page.obj else None for page in pdf.pages
        ]


def assert_box(
    actual: list[float] | None, expected_mm: tuple[float, ...], tol_pt: float = 0.01
) -> None:
    expected = [v * PT for v in expected_mm]
    assert actual == pytest.approx(expected, abs=tol_pt), (actual, expected)


def image_widths(path: Path) -> list[int]:
    with pikepdf.open(path) as pdf:
        return [
            int(xobject.Width)
            for page in pdf.pages
            for xobject in page.obj.Resources.get("/XObject", {}).values()
            if xobject.get("/Subtype") == pikepdf.Name.Image
        ]


# --- paper box -----------------------------------------------------------------------------


def test_paper_box_speedmaster() -> None:
    assert paper_box_mm((1030, 770), (900, 640), 43) == (65, 43, 965, 683)


def test_paper_box_dominant() -> None:
    assert paper_box_mm((650, 550), (600, 450), 36) == (25, 36, 625, 486)


def test_paper_filling_the_plate_exactly_fits() -> None:
    assert paper_box_mm((1030, 770), (1030, 727), 43) == (0, 43, 1030, 770)


def test_paper_wider_than_plate_is_reported_with_the_clipped_box() -> None:
    with pytest.raises(PaperOffPlate) as caught:
        paper_box_mm((1030, 770), (1100, 640), 43)
    assert caught.value.box == (0, 43, 1030, 683)
    assert "1100 x 640" in str(caught.value) and "1030 x 770" in str(caught.value)
    # It crosses the process-pool boundary intact.
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.box == caught.value.box and str(again) == str(caught.value)


def test_paper_given_either_way_round_lies_long_side_on_the_gripper() -> None:
    assert paper_box_mm((1030, 770), (640, 900), 43) == (65, 43, 965, 683)


def test_nonsense_sizes_are_a_plain_crop_error() -> None:
    with pytest.raises(CropError) as caught:
        paper_box_mm((1030, 770), (0, 640), 43)
    assert not isinstance(caught.value, PaperOffPlate)


# --- crop ----------------------------------------------------------------------------------


def test_write_crop_sets_both_boxes_per_page(tmp_path: Path) -> None:
    source = build(
        tmp_path / "in.pdf",
        Page(media_mm=(0, 0, 1030, 770)),
        Page(media_mm=(0, 0, 650, 550)),
        Page(media_mm=(20, 30, 1050, 800)),  # a MediaBox whose origin is not 0,0
    )
    target = tmp_path / "out.pdf"
    write_crop(source, target, [(65, 43, 965, 683), None, (65, 43, 965, 683)])
    media, crop = boxes_pt(target, "/MediaBox"), boxes_pt(target, "/CropBox")
    assert_box(media[0], (65, 43, 965, 683))
    assert_box(crop[0], (65, 43, 965, 683))
    assert_box(media[1], (0, 0, 650, 550))
    assert crop[1] is None
    assert_box(media[2], (85, 73, 985, 713))
    assert_box(crop[2], (85, 73, 985, 713))


def test_write_crop_keeps_a_box_past_the_page_and_checks_the_box_count(tmp_path: Path) -> None:
    source = build(tmp_path / "in.pdf", Page(media_mm=(0, 0, 100, 100)))
    target = tmp_path / "out.pdf"
    # A sheet reaching past the plate's far edge stays whole: blank paper there.
    write_crop(source, target, [(50, 50, 150, 150)])
    assert_box(boxes_pt(target, "/MediaBox")[0], (50, 50, 150, 150))
    with pytest.raises(CropError, match="outside the page"):
        write_crop(source, target, [(200, 200, 300, 300)])
    with pytest.raises(CropError, match="2 crop boxes for 1 pages"):
        write_crop(source, target, [None, None])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\ngarbage\n")
    with pytest.raises(CropError, match=r"cannot crop broken\.pdf"):
        write_crop(broken, target, [None])


@requires_gs
@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_crop_boxes_are_in_the_shown_page_like_ghostscripts(tmp_path: Path, rotate: int) -> None:
    # The square is at (10, 20)-(60, 70) mm of the unrotated MediaBox. Ghostscript reports it
    # where it shows; cropping to what it reports must land on the square in the MediaBox.
    source = build(
        tmp_path / "in.pdf",
        Page(media_mm=(0, 0, 100, 200), content=square(10, 20, 50, 50), rotate=rotate),
    )
    (shown,) = content_bbox_mm(source, 30)
    assert shown is not None
    target = tmp_path / "out.pdf"
    write_crop(source, target, [shown])
    assert_box(boxes_pt(target, "/MediaBox")[0], (10, 20, 60, 70), tol_pt=0.5 * PT)
    assert ink_coverage(target, 30)[0]["C"] == pytest.approx(100, abs=1)


# --- Ghostscript: ink coverage, content box, downsampling ----------------------------------


@pytest.fixture
def ink_pdf(tmp_path: Path) -> Path:
    return build(
        tmp_path / "ink.pdf",
        Page(content=square(10, 20, 50, 50)),
        Page(content=square(0, 0, 100, 100, "0 0 0 1")),
        Page(content=square(0, 0, 100, 100, "0.5 0 0 0")),
        Page(),
    )


@requires_gs
def test_ink_coverage_on_known_content(ink_pdf: Path, tmp_path: Path) -> None:
    square_page, black, half_tint, empty = ink_coverage(ink_pdf, 30)
    assert square_page["C"] == pytest.approx(25, abs=1)
    assert square_page["M"] == square_page["Y"] == square_page["K"] == 0
    assert black == {"C": 0, "M": 0, "Y": 0, "K": pytest.approx(100, abs=0.01)}
    # Coverage weighs the tint (ink_cov), not just which pixels carry some ink (inkcov).
    assert half_tint["C"] == pytest.approx(50, abs=1)
    assert empty == {"C": 0, "M": 0, "Y": 0, "K": 0}
    cropped = tmp_path / "cropped.pdf"
    write_crop(ink_pdf, cropped, [(10, 20, 60, 70), None, None, None])
    assert ink_coverage(cropped, 30)[0]["C"] == pytest.approx(100, abs=1)


@requires_gs
def test_content_bbox_finds_the_square(ink_pdf: Path, tmp_path: Path) -> None:
    boxes = content_bbox_mm(ink_pdf, 30)
    assert len(boxes) == 4
    assert boxes[0] == pytest.approx((10, 20, 60, 70), abs=0.5)
    assert boxes[1] == pytest.approx((0, 0, 100, 100), abs=0.5)
    assert boxes[3] is None
    shifted = build(
        tmp_path / "shifted.pdf",
        Page(media_mm=(20, 30, 120, 130), content=square(30, 50, 50, 50)),
    )
    assert content_bbox_mm(shifted, 30)[0] == pytest.approx((10, 20, 60, 70), abs=0.5)


@requires_gs
def test_content_bbox_of_chosen_pages_only(ink_pdf: Path) -> None:
    boxes = content_bbox_mm(ink_pdf, 30, pages=[1, 3])
    assert len(boxes) == 2
    assert boxes[0] == pytest.approx((0, 0, 100, 100), abs=0.5)
    assert boxes[1] is None


@requires_gs
def test_pages_without_a_paper_box_are_cut_to_their_content(tmp_path: Path) -> None:
    source = plate_pdf(tmp_path / "plate.pdf")
    box = paper_box_mm((1030, 770), (900, 640), 43)
    made = make_artefacts(source, tmp_path / "out", [box, None])
    assert made.warnings == ()
    # Ghostscript's downsampling moves each page's origin to 0, 0: compare sizes.
    sizes = [
        (round((x1 - x0) / PT), round((y1 - y0) / PT))
        for x0, y0, x1, y1 in boxes_pt(tmp_path / "out" / "preview.pdf", "/MediaBox")
    ]
    # The sheet; then from the register mark at 5 mm to the bar's end and the image's top.
    assert sizes == [(900, 640), (895, 345)]


@requires_gs
def test_downsample_reduces_a_600_dpi_image(tmp_path: Path) -> None:
    side_px = round(50 / 25.4 * 600)  # 50 mm at 600 dpi
    source = build(
        tmp_path / "hires.pdf",
        Page(content=placed("Im0", 25, 25, 50), images={"Im0": side_px}),
    )
    target = tmp_path / "preview.pdf"
    downsample(source, target, 150, 60)
    (width,) = image_widths(target)
    assert side_px / 4 - 8 <= width <= side_px / 4 + 8
    assert target.stat().st_size < source.stat().st_size / 4
    with pikepdf.open(target) as pdf:
        (image,) = pdf.pages[0].obj.Resources.XObject.values()
        assert image.ColorSpace == pikepdf.Name.DeviceCMYK


@requires_gs
def test_ghostscript_failure_is_readable(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R\n garbage\n%%EOF\n")
    with pytest.raises(GhostscriptError, match=r"ghostscript ink coverage .*initialise") as caught:
        ink_coverage(corrupt, 30)
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.output == caught.value.output
    with pytest.raises(GhostscriptError, match="ghostscript downsample"):
        downsample(corrupt, tmp_path / "out.pdf", 150, 30)
    not_pdf = tmp_path / "letter.pdf"
    not_pdf.write_text("%!PS\n(hello) print\n")  # never handed to gs as PostScript
    with pytest.raises(GhostscriptError, match=r"letter\.pdf is not a PDF"):
        content_bbox_mm(not_pdf, 30)


def ghostscript_children() -> list[int]:
    """This process's children that are Ghostscript, running or not yet reaped."""
    children = [
        int(pid)
        for task in Path("/proc/self/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    return [pid for pid in children if Path(f"/proc/{pid}/comm").read_text().strip() == "gs"]


@requires_gs
def test_a_slow_ghostscript_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    page = Page(media_mm=(0, 0, 10000, 10000), content=square(0, 0, 10000, 10000))
    # ~12 s of rendering a page at the ink resolution: 100 of them take far longer than the
    # test run's own timeout, so the test ends only if gs is stopped; however busy the machine.
    big = build(tmp_path / "big.pdf", *[page] * 100)
    with pytest.raises(GhostscriptError, match=r"timed out after 0\.5 s"):
        ink_coverage(big, 0.5)
    assert ghostscript_children() == [], "gs was left running"


# --- rendering -----------------------------------------------------------------------------


def test_render_jpeg_keeps_the_aspect_ratio(tmp_path: Path) -> None:
    source = build(
        tmp_path / "sheet.pdf",
        Page(media_mm=(0, 0, 900, 640), content=square(100, 100, 300, 200, "0 1 1 0")),
        Page(media_mm=(0, 0, 100, 200), rotate=90),
    )
    proof, thumb = tmp_path / "proof.jpg", tmp_path / "thumb.jpg"
    width, height = render_jpeg(source, proof, 2500)
    assert width == 2500 and abs(height - 2500 * 640 / 900) <= 1
    width, height = render_jpeg(source, thumb, 175)
    assert width == 175 and abs(height - 175 * 640 / 900) <= 1
    assert proof.read_bytes()[:2] == thumb.read_bytes()[:2] == JPEG_MAGIC
    # A rotated page renders as shown: 200 mm wide, 100 mm high.
    assert render_jpeg(source, thumb, 200, page_index=1) == (200, 100)
    with pytest.raises(RenderError, match="no page 3"):
        render_jpeg(source, thumb, 175, page_index=2)


# --- the whole job -------------------------------------------------------------------------


def plate_pdf(path: Path) -> Path:
    """Two Speedmaster plates, each with marks, colour bars and a 600-dpi image on the sheet."""
    side_px = round(50 / 25.4 * 600)
    pages = [
        Page(
            media_mm=(0, 0, 1030, 770),
            content=" ".join(
                [
                    square(5, 5, 20, 20, "0 0 0 1"),  # a register mark off the sheet
                    square(100, 100, 800, 20, "0 0 1 0"),  # a colour bar on the sheet
                    placed("Im0", 300, 300, 50),
                ]
            ),
            images={"Im0": side_px},
        )
        for _ in range(2)
    ]
    return build(path, *pages)


def assert_artefacts(out_dir: Path, made: Artefacts) -> None:
    # A proof of each of the two sheets; the thumbnail of the first.
    names = ["preview.pdf", "proof-2.jpg", "proof.jpg", "thumb.jpg"]
    assert sorted(p.name for p in out_dir.iterdir()) == names
    assert made.proofs == ("proof.jpg", "proof-2.jpg")
    assert made.dir == str(out_dir)
    assert made.preview_bytes == (out_dir / "preview.pdf").stat().st_size
    assert made.proof_px == (2500, 1778)
    # pdfium rounds the height up: 175 * 640 / 900 = 124.4 -> 125.
    assert made.thumb_px is not None
    assert made.thumb_px[0] == 175 and abs(made.thumb_px[1] - 175 * 640 / 900) <= 1
    for name in ("proof.jpg", "proof-2.jpg", "thumb.jpg"):
        assert (out_dir / name).read_bytes()[:2] == JPEG_MAGIC
    # Ghostscript moves a cropped page's origin to 0,0: compare the sheet's size.
    for page_box in boxes_pt(out_dir / "preview.pdf", "/MediaBox"):
        assert page_box is not None
        assert_box([page_box[2] - page_box[0], page_box[3] - page_box[1]], (900, 640))


@requires_gs
def test_make_artefacts_end_to_end(tmp_path: Path) -> None:
    source = plate_pdf(tmp_path / "1234_Order_Vonoel.pdf")
    out_dir = tmp_path / "previews" / "job 50%d"  # a literal % must reach gs unharmed
    box = paper_box_mm((1030, 770), (900, 640), 43)
    made = make_artefacts(source, out_dir, [box, box])
    assert made.warnings == ()
    assert_artefacts(out_dir, made)
    assert made.preview == "preview.pdf"
    assert made.proof == "proof.jpg" and made.thumb == "thumb.jpg"
    assert made.press_previews == {}
    assert image_widths(out_dir / "preview.pdf") == [pytest.approx(295, abs=8)] * 2
    assert made.preview_bytes < source.stat().st_size / 4
    coverage = made.ink_coverage
    assert isinstance(coverage, tuple) and len(coverage) == 2
    sheet = 900 * 640
    image = 100 * 50 * 50 / sheet * 0.5  # random bytes: half of each ink on average
    bar = 100 * 800 * 20 / sheet  # yellow; the black register mark is off the sheet
    for page in coverage:
        # The file does not list its plates: every separation it draws, by its name.
        assert page == {
            "Cyan": pytest.approx(image, abs=0.05),
            "Magenta": pytest.approx(image, abs=0.05),
            "Yellow": pytest.approx(bar + image, abs=0.1),
            "Black": pytest.approx(image, abs=0.05),
        }


def test_make_artefacts_without_ghostscript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ghostscript is installed on this machine, so its absence can only be staged: an empty
    # PATH makes shutil.which (gs_path) find no gs, exactly as on a server without the package.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    source = plate_pdf(tmp_path / "plate.pdf")
    out_dir = tmp_path / "out"
    box = paper_box_mm((1030, 770), (900, 640), 43)
    made = make_artefacts(source, out_dir, [box, None])
    assert made.warnings == (
        "page 2 left whole: the content could not be measured: ghostscript bbox: gs is not "
        "installed",
        NO_GHOSTSCRIPT,
    )
    assert made.ink_coverage is None
    # The images are downsampled all the same: that needs no Ghostscript.
    assert image_widths(out_dir / "preview.pdf") == [296, 296]
    media = boxes_pt(out_dir / "preview.pdf", "/MediaBox")
    assert_box(media[0], (65, 43, 965, 683))
    assert_box(media[1], (0, 0, 1030, 770))
    assert made.proof_px == (2500, 1778)
    assert made.thumb_px is not None
    assert made.thumb_px[0] == 175 and abs(made.thumb_px[1] - 175 * 640 / 900) <= 1
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "preview.pdf",
        "proof-2.jpg",
        "proof.jpg",
        "thumb.jpg",
    ]


@requires_gs
def test_make_artefacts_turns_ghostscript_failures_into_warnings(tmp_path: Path) -> None:
    # A timeout far below Ghostscript's start-up time: its calls fail, the job goes on.
    source = plate_pdf(tmp_path / "plate.pdf")
    box = paper_box_mm((1030, 770), (900, 640), 43)
    made = make_artefacts(source, tmp_path / "out", [box, box], timeout_s=0.001)
    assert [w.split(":")[0] for w in made.warnings] == ["ink coverage not measured"]
    assert "timed out" in made.warnings[0]
    assert made.ink_coverage is None
    assert_artefacts(tmp_path / "out", made)
    assert image_widths(tmp_path / "out" / "preview.pdf") == [296, 296]


# --- what Ghostscript is still asked to do ------------------------------------------------


def gray16_image(pdf: pikepdf.Pdf, side_px: int) -> pikepdf.Stream:
    """A 16-bit image: downsample.py leaves those to Ghostscript."""
    data = random.Random(7).randbytes(side_px * side_px * 2)
    return pdf.make_stream(
        zlib.compress(data, 1),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=side_px,
        Height=side_px,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=16,
        Filter=pikepdf.Name.FlateDecode,
    )


@requires_gs
def test_only_the_ink_needs_ghostscript_on_a_plain_plate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[str] = []
    monkeypatch.setattr(artefacts, "downsample", lambda *args: called.append("pdfwrite"))
    source = plate_pdf(tmp_path / "plate.pdf")
    box = paper_box_mm((1030, 770), (900, 640), 43)
    made = make_artefacts(source, tmp_path / "out", [box, box])
    assert called == [] and made.warnings == ()
    assert made.ink_coverage is not None and made.preview_bytes < source.stat().st_size / 4


@requires_gs
def test_images_downsample_py_cannot_do_go_through_ghostscript(tmp_path: Path) -> None:
    side_px = round(50 / 25.4 * 600)
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(100 * PT, 100 * PT))
    page.obj.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=gray16_image(pdf, side_px))
    )
    page.obj.Contents = pdf.make_stream(placed("Im0", 25, 25, 50).encode())
    source = tmp_path / "gray16.pdf"
    pdf.save(source)
    made = make_artefacts(source, tmp_path / "out", [(0, 0, 100, 100)])
    assert made.warnings == ()
    (width,) = image_widths(tmp_path / "out" / "preview.pdf")
    assert side_px / 4 - 8 <= width <= side_px / 4 + 8
    # And when Ghostscript fails at it, the preview keeps the image and says so.
    failed = make_artefacts(source, tmp_path / "failed", [(0, 0, 100, 100)], timeout_s=0.001)
    assert [w.split(":")[0] for w in failed.warnings] == [
        "preview not downsampled",
        "ink coverage not measured",
    ]
    assert image_widths(tmp_path / "failed" / "preview.pdf") == [side_px]


# --- ink coverage: as accurate as Ghostscript at full resolution ----------------------------

FULL_RESOLUTION_DPI = 150  # what the ink was measured at before: the accuracy reference
INK_TOLERANCE = 0.5  # points of coverage, per page and ink


def full_resolution_ink(source: Path, boxes: list[BoxMM | None], folder: Path) -> list[list[float]]:
    crop = folder / "reference.pdf"
    write_crop(source, crop, boxes)
    done = subprocess.run(
        ["gs", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dQUIET", "-sDEVICE=ink_cov",
         f"-r{FULL_RESOLUTION_DPI}", "-o", "-", str(crop)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [[float(v) for v in line.split()[:4]] for line in done.stdout.splitlines()]


def spot_pdf(path: Path) -> Path:
    """A Speedmaster plate whose sheet carries a PANTONE in 100 % and 40 % tints (ink coverage
    counts it through its CMYK alternate) beside the 600-dpi image of `plate_pdf`."""
    build(path, Page(media_mm=(0, 0, 1030, 770), images={"Im0": round(50 / 25.4 * 600)}))
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        alternate = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0],
                                  C1=[0, 0.75, 0.9, 0], N=1)  # fmt: skip
        spot = pikepdf.Array(
            [pikepdf.Name.Separation, pikepdf.Name("/PANTONE Warm Red C"),
             pikepdf.Name.DeviceCMYK, alternate]
        )  # fmt: skip
        page = pdf.pages[0]
        page.obj.Resources.ColorSpace = pikepdf.Dictionary(CS0=spot)
        patches = [
            f"/CS0 cs {tint:g} scn "
            + " ".join(f"{v * PT:.3f}" for v in (x, 100, 300, 200))
            + " re f"
            for tint, x in ((1, 100), (0.4, 500))
        ]
        page.obj.Contents = pdf.make_stream(
            " ".join([*patches, placed("Im0", 300, 400, 50)]).encode()
        )
        pdf.save(path)
    return path


@requires_gs
def test_ink_coverage_is_within_half_a_point_of_full_resolution(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "config.yaml")
    grippers = {press.name: press.gripper_mm for press in settings.presses}
    sources = [
        plate_pdf(tmp_path / "plate.pdf"),
        spot_pdf(tmp_path / "spot.pdf"),
        *make_samples(tmp_path / "samples", 6, seed=3),
    ]
    worst = 0.0
    for number, source in enumerate(sources):
        analysis = analyze_file(source, settings.rules())
        crops = crop_boxes_mm(analysis, grippers).boxes
        if number < 2:  # no marks: the sheet of a Speedmaster
            crops = [paper_box_mm((1030, 770), (900, 640), 43)] * len(analysis.pages)
        boxes = [
            box or (0.0, 0.0, *page.media_mm)
            for box, page in zip(crops, analysis.pages, strict=True)
        ]
        # Process plates only: ink_cov's own measurement, at INK_DPI on the preview.
        inks = [PROCESS] * len(analysis.pages)
        made = make_artefacts(source, tmp_path / "out" / str(number), boxes, page_inks=inks)
        assert made.ink_coverage is not None, made.warnings
        reference = full_resolution_ink(source, boxes, tmp_path)
        assert len(reference) == len(made.ink_coverage)
        for page, expected in zip(made.ink_coverage, reference, strict=True):
            got = [page[ink] for ink in PROCESS]
            worst = max(worst, *(abs(a - b) for a, b in zip(got, expected, strict=True)))
    assert worst <= INK_TOLERANCE
