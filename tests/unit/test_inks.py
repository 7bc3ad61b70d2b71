"""Coverage of every ink, spots included, in one ink order everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pikepdf
import pytest

from asyncpdf.config import load_settings
from asyncpdf.errors import GhostscriptError
from asyncpdf.pdf import separations as separations_module
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.coverage import measure_coverage
from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.ghostscript import gs_path, ink_coverage
from asyncpdf.pdf.inks import LETTERS, average, coverage_by_ink, ordered
from asyncpdf.pdf.model import Analysis, PageAnalysis
from asyncpdf.pdf.naming import inks_short
from asyncpdf.pdf.recoloured import recoloured_coverage
from asyncpdf.pdf.separations import separations
from asyncpdf.testing.samples import Fill, SamplePage, signa_marks, write_sample

SETTINGS = load_settings(Path(__file__).resolve().parents[2] / "config.yaml")
RULES = SETTINGS.rules()
GRIPPERS = {press.name: press.gripper_mm for press in SETTINGS.presses}
# On a Speedmaster plate (gripper 43 mm) a 1000 x 700 mm sheet lies at (15, 43)-(1015, 743).
SHEET = (15.0, 43.0, 1015.0, 743.0)
FILE_ORDER = ("PANTONE 185 C", "Black", "Varnish", "Cyan", "Magenta", "Yellow")

requires_gs = pytest.mark.skipif(gs_path() is None, reason="Debian's ghostscript is not installed")


def test_process_inks_come_first_then_the_spots_as_listed() -> None:
    assert ordered(FILE_ORDER) == (
        "Cyan", "Magenta", "Yellow", "Black", "PANTONE 185 C", "Varnish",
    )  # fmt: skip
    assert ordered(["Varnish", "black", "PANTONE Warm Red C", "Varnish"]) == (
        "black",
        "Varnish",
        "PANTONE Warm Red C",
    )
    assert inks_short(["PANTONE Reflex Blue C", "Black", "Cyan"]) == "CK-ReflexBlueC"


def test_coverage_is_given_under_the_pages_own_ink_names() -> None:
    measured = {"Cyan": 4.0, "Magenta": 1.0, "Yellow": 0.0, "Black": 2.5, "PANTONE 185 C": 25.0}
    shown, stray = coverage_by_ink(("PANTONE 185 C", "Varnish", "Black"), measured)
    assert list(shown.items()) == [("Black", 2.5), ("PANTONE 185 C", 25.0), ("Varnish", 0.0)]
    assert stray == []
    shown, stray = coverage_by_ink(("Cyan",), {"Cyan": 1.0, "PANTONE 871 C": 3.0})
    assert shown == {"Cyan": 1.0} and stray == ["PANTONE 871 C"]
    # A file that does not list its plates: every separation, process first.
    shown, _ = coverage_by_ink((), {"Varnish": 1.0, "Cyan": 2.0, "Black": 0.0})
    assert list(shown) == ["Cyan", "Black", "Varnish"]


def test_average_over_the_plates_that_carry_each_ink() -> None:
    pages = [{"Cyan": 10.0, "PANTONE 185 C": 20.0}, {"Cyan": 20.0}, None, {"Black": 3.0}]
    assert list(average(pages).items()) == [("Cyan", 15.0), ("Black", 3.0), ("PANTONE 185 C", 20.0)]


def known_page(inks: tuple[str, ...] | None = FILE_ORDER) -> SamplePage:
    """On the sheet, side by side (a fill knocks out what lies under it): 25 % of it in 100 %
    PANTONE 185 C, 10 % in Varnish, 18 % in 50 % cyan (9 points)."""
    x0, y0, x1, y1 = SHEET
    fills = (
        Fill((x0, y0, x0 + 500, y0 + 350), "PANTONE 185 C"),
        Fill((x0, y1 - 70, x1, y1), "Varnish"),
        Fill((x1 - 200, y0, x1, y1 - 70), "Cyan", 0.5),
    )
    marks = signa_marks("Korol", "Speedmaster", (1000, 700))
    return SamplePage((1030, 770), inks, marks, fills=fills)


@requires_gs
def test_every_plate_has_its_coverage_spots_included(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "1_Spots_Korol.pdf", [known_page()])
    analysis = analyze_file(source, RULES)
    assert analysis.pages[0].inks == ordered(FILE_ORDER)
    crops = crop_boxes_mm(analysis, GRIPPERS)
    made = make_artefacts(
        source, tmp_path / "out", crops.boxes, page_inks=[p.inks for p in analysis.pages]
    )
    assert made.ink_coverage is not None
    (page,) = made.ink_coverage
    assert list(page) == ["Cyan", "Magenta", "Yellow", "Black", "PANTONE 185 C", "Varnish"]
    expected = [9.0, 0.0, 0.0, 0.0, 25.0, 10.0]
    assert list(page.values()) == pytest.approx(expected, abs=0.5)
    assert made.warnings == ()


@requires_gs
def test_separations_agree_with_ink_cov_on_process_inks(tmp_path: Path) -> None:
    # The samples' usual artwork: CMYK blocks in several tints and a colour bar.
    marks = signa_marks("Korol", "Speedmaster", (1000, 700))
    pages = [SamplePage((1030, 770), marks=marks), SamplePage((1030, 770), rotate=90)]
    source = write_sample(tmp_path / "1_Process_Korol.pdf", pages)
    by_plane = separations(source, tmp_path, 60)
    by_ink_cov = ink_coverage(source, 60)
    assert len(by_plane) == len(by_ink_cov) == 2
    for planes, letters in zip(by_plane, by_ink_cov, strict=True):
        assert set(planes) == {"Cyan", "Magenta", "Yellow", "Black"}
        for name in planes:
            assert planes[name] == pytest.approx(letters[LETTERS[name]], abs=0.5)
    assert list(tmp_path.glob(".separations-*")) == []


def hairlines(path: Path) -> tuple[Path, float, float]:
    """A 300 x 200 mm page of 0.25 pt hairlines (a mark's), black ones 10 mm apart on the left
    half, spot ones (PANTONE 185 C) 10 mm apart on the right; and the coverage of each, known
    by area."""
    mm = 72 / 25.4
    width, height, line = 300.0, 200.0, 0.25 / mm
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(width * mm, height * mm))
    tint = pikepdf.Dictionary(
        FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0], C1=[0, 1, 0.8, 0], N=1
    )
    spot = [pikepdf.Name.Separation, pikepdf.Name("/PANTONE 185 C"), pikepdf.Name.DeviceCMYK, tint]
    page.obj.Resources = pikepdf.Dictionary(
        ColorSpace=pikepdf.Dictionary(CS0=pdf.make_indirect(spot))
    )
    black = list(range(5, 150, 10))
    spots = list(range(5, 200, 10))
    ops = ["0.25 w 0 0 0 1 K"]
    ops += [f"{x * mm:.3f} 0 m {x * mm:.3f} {height * mm:.3f} l S" for x in black]
    ops += ["/CS0 CS 1 SCN"]
    ops += [f"{150 * mm:.3f} {y * mm:.3f} m {width * mm:.3f} {y * mm:.3f} l S" for y in spots]
    page.obj.Contents = pdf.make_stream("\n".join(ops).encode())
    pdf.save(path)
    area = width * height
    return path, 100 * len(black) * height * line / area, 100 * len(spots) * 150 * line / area


@requires_gs
def test_thin_lines_count_by_their_area_not_by_the_pixels_they_touch(tmp_path: Path) -> None:
    # At the ink resolution a 0.25 pt line is a sixth of a pixel: counted as the pixels it
    # touches, this page would read 2.1 points too much black (0.8 at 100 dpi, as before;
    # 0.4 at 150 dpi); anti-aliased, the part of each pixel inside counts: 0.2.
    source, black, spot = hairlines(tmp_path / "hairlines.pdf")
    assert (black, spot) == pytest.approx((0.44, 0.44), abs=0.01)
    (letters,) = ink_coverage(source, 60)
    assert letters["K"] == pytest.approx(black, abs=0.5)
    (planes,) = separations(source, tmp_path, 60)
    assert planes["Black"] == pytest.approx(black, abs=0.5)
    assert planes["PANTONE 185 C"] == pytest.approx(spot, abs=0.5)
    assert planes["Magenta"] == 0  # the spot is on its own plate, not through its alternate
    (recoloured,) = recoloured_coverage(source, tmp_path, 60) or [{}]
    assert recoloured["PANTONE 185 C"] == pytest.approx(planes["PANTONE 185 C"], abs=0.05)
    assert recoloured["Black"] == pytest.approx(planes["Black"], abs=0.05)
    assert recoloured["Magenta"] == 0


@requires_gs
def test_a_spot_drawn_on_no_plate_of_its_page_is_a_warning(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "1_Stray_Korol.pdf", [known_page(("Cyan", "PANTONE 185 C"))])
    analysis = analyze_file(source, RULES)
    crops = crop_boxes_mm(analysis, GRIPPERS)
    made = make_artefacts(
        source, tmp_path / "out", crops.boxes, page_inks=[p.inks for p in analysis.pages]
    )
    assert made.ink_coverage is not None and list(made.ink_coverage[0]) == [
        "Cyan",
        "PANTONE 185 C",
    ]
    assert made.warnings == (
        "page 1: Varnish is drawn, but no plate of the page is Varnish: its coverage is not "
        "counted",
    )


def test_one_ink_order_for_the_job_its_pages_and_records_stored_before() -> None:
    first = PageAnalysis((1030, 770), (1030, 770), inks=("Varnish", "Black", "Cyan"))
    second = PageAnalysis((1030, 770), (1030, 770), inks=("PANTONE 185 C", "Yellow"))
    analysis = Analysis(file="1_x_Korol.pdf", size=1, pages=(first, second))
    assert analysis.inks == ("Cyan", "Yellow", "Black", "Varnish", "PANTONE 185 C")
    # A record stored in the file's order reads back in ink order.
    stored = {**first.to_json(), "inks": ["Varnish", "Black", "Cyan"]}
    assert PageAnalysis.from_json(stored).inks == ("Cyan", "Black", "Varnish")
    assert inks_short(analysis.inks) == "CYK-Varnish-185C"


@requires_gs
def test_separations_without_a_roomy_dev_shm_use_the_scratch_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_sample(tmp_path / "1_Spots_Korol.pdf", [known_page(), known_page()])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    read_from: list[str] = []
    real = separations_module._read_page

    def reading(stream: IO[bytes]) -> dict[str, float]:
        read_from.append(str(getattr(stream, "name", "")))
        return real(stream)

    monkeypatch.setattr(separations_module, "_in_memory", lambda: None)
    monkeypatch.setattr(separations_module, "_read_page", reading)
    pages = separations(source, scratch, 60)
    on_the_plate = 100 * 500 * 350 / (1030 * 770)  # not cropped: the whole plate
    assert [page["PANTONE 185 C"] for page in pages] == pytest.approx([on_the_plate] * 2, abs=0.5)
    assert len(read_from) == 2 and all(name.startswith(str(scratch)) for name in read_from)
    assert list(scratch.iterdir()) == []  # each page removed once read, the folder too


@requires_gs
def test_separations_fail_with_a_reason(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "1_Spots_Korol.pdf", [known_page()])
    with pytest.raises(GhostscriptError, match=r"timed out after 0\.01 s"):
        separations(source, tmp_path, 0.01)
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_bytes(b"%!PS-Adobe-3.0\n")
    with pytest.raises(GhostscriptError, match="is not a PDF"):
        separations(not_pdf, tmp_path, 60)
    assert list(tmp_path.glob(".separations-*")) == []


@requires_gs
def test_a_page_too_large_to_separate_is_said_not_measured(tmp_path: Path) -> None:
    # The decision is by the sheet's size: a 3 x 2 m "sheet" is a hostile or mistaken file's.
    source = write_sample(tmp_path / "1_Spots_Korol.pdf", [known_page(), known_page()])
    warnings: list[str] = []
    inks = [ordered(FILE_ORDER)] * 2
    found = measure_coverage(source, tmp_path, inks, [(3000, 2000), (1030, 770)], 60, warnings)
    assert found is not None and found[0] == {} and found[1]["PANTONE 185 C"] > 20
    assert warnings == [
        "page 1 (3000 x 2000 mm) is too large to measure its inks separation by separation: "
        "its coverage is not measured",
        "ink coverage measured on 1 of 2 pages",
    ]


@requires_gs
def test_separations_read_a_copy_with_grey_alternates_wherever_the_spot_is(
    tmp_path: Path,
) -> None:
    # psdcmyk never uses a spot's alternate, but a CMYK one costs it a colour link: the copy
    # it reads has grey ones, found directly on the page, inside an Indexed space and a form.
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 200))

    def spot(name: str) -> pikepdf.Array:
        tint = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0] * 4, C1=[0, 1, 1, 0], N=1)
        return pikepdf.Array(
            [pikepdf.Name.Separation, pikepdf.Name(name), pikepdf.Name.DeviceCMYK, tint]
        )

    indexed = pikepdf.Array([pikepdf.Name.Indexed, spot("/Varnish"), 1, b"\x00\xff"])
    form = pdf.make_stream(b"/CS0 cs 1 scn 0 0 10 10 re f", Type=pikepdf.Name.XObject)
    form.Subtype, form.BBox = pikepdf.Name.Form, [0, 0, 10, 10]
    form.Resources = pikepdf.Dictionary(ColorSpace=pikepdf.Dictionary(CS0=spot("/Gold")))
    page.obj.Resources = pikepdf.Dictionary(
        ColorSpace=pikepdf.Dictionary(CS0=spot("/PANTONE 185 C"), CS1=indexed),
        XObject=pikepdf.Dictionary(Fm0=form),
    )
    page.obj.Contents = pdf.make_stream(
        b"/CS0 cs 1 scn 0 0 50 50 re f /CS1 cs 1 scn 50 0 50 50 re f /Fm0 Do"
    )
    source = tmp_path / "spots.pdf"
    pdf.save(source)
    copy = separations_module._grey_alternates(source, tmp_path)
    assert copy != source
    with pikepdf.open(copy) as read:
        found = [s for o in read.objects for s in separations_module._separation_spaces(o)]
        assert sorted(str(s[1]) for s in found) == ["/Gold", "/PANTONE 185 C", "/Varnish"]
        assert {str(s[2]) for s in found} == {"/DeviceGray"}
    (planes,) = separations(source, tmp_path, 60)
    assert planes["PANTONE 185 C"] == pytest.approx(100 * 2500 / 40000, abs=0.5)
    assert planes["Varnish"] == pytest.approx(100 * 2500 / 40000, abs=0.5)
    assert planes["Gold"] == pytest.approx(100 * 100 / 40000, abs=0.5)
    assert planes["Magenta"] == 0
    # A file without spots is read as it is.
    plain = write_sample(tmp_path / "1_Process_Korol.pdf", [SamplePage((1030, 770))])
    assert separations_module._grey_alternates(plain, tmp_path) == plain


def overlapping_page(path: Path, spots: tuple[str, ...] = ("PANTONE 185 C",)) -> Path:
    """A 200 x 200 pt page where process ink and spots overlap every way a plate sees: a 50 %
    cyan ground; each spot a band across it (knocking the cyan out); black overprinting the
    first spot (the spot stays) and a grey and an RGB fill, an indexed and an inline image
    knocking it out; a CMYK image over the last spot; a CMYK alternate to each spot."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 200))
    spaces = {}
    for number, name in enumerate(spots):
        tint = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0] * 4, C1=[0, 1, 0.5, 0], N=1)
        spaces[f"/S{number}"] = pdf.make_indirect(
            pikepdf.Array(
                [pikepdf.Name.Separation, pikepdf.Name("/" + name), pikepdf.Name.DeviceCMYK, tint]
            )
        )
    image = pdf.make_stream(
        bytes([0, 0, 0, 200] * 16),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=4,
        Height=4,
        ColorSpace=pikepdf.Name.DeviceCMYK,
        BitsPerComponent=8,
    )
    lookup = pikepdf.String(bytes([0, 0, 0, 255, 0, 0, 0, 128]))
    indexed = pdf.make_stream(
        bytes([0, 1] * 8),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=4,
        Height=4,
        ColorSpace=pikepdf.Array([pikepdf.Name.Indexed, pikepdf.Name.DeviceCMYK, 1, lookup]),
        BitsPerComponent=8,
    )
    overprint = pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, OP=True, op=True, OPM=1)
    page.obj.Resources = pikepdf.Dictionary(
        ColorSpace=pikepdf.Dictionary(spaces),
        ExtGState=pikepdf.Dictionary(OP=overprint),
        XObject=pikepdf.Dictionary(Im0=image, Im1=indexed),
    )
    band = 200 / (len(spots) + 1)
    ops = ["0.5 0 0 0 k 0 0 200 200 re f"]
    for number in range(len(spots)):
        ops.append(
            f"q /S{number} cs {1 - number * 0.1:g} scn 0 {number * band:.2f} 200 {band:.2f} re f Q"
        )
    ops += [
        f"q /OP gs 0 0 0 1 k 0 0 40 {band:.2f} re f Q",  # overprints the first spot
        f"q 0.2 g 40 0 20 {band:.2f} re f Q",  # grey knocks it out
        f"q 1 0 0 rg 60 0 20 {band:.2f} re f Q",  # so does RGB
        f"q 20 0 0 {band:.2f} 80 0 cm /Im1 Do Q",  # an indexed image
        f"q 20 0 0 {band:.2f} 100 0 cm BI /W 1 /H 1 /CS /CMYK /BPC 8 ID \0\0\0\xff EI Q",
        f"q 50 0 0 {band:.2f} 150 {(len(spots) - 1) * band:.2f} cm /Im0 Do Q",
    ]
    page.obj.Contents = pdf.make_stream("\n".join(ops).encode("latin-1"))
    pdf.save(path)
    return path


@requires_gs
@pytest.mark.parametrize("count", [1, 5])
def test_spot_pages_measured_on_recoloured_copies_as_psdcmyk_separates_them(
    tmp_path: Path, count: int
) -> None:
    # Five spots take two spot copies (four channels each).
    spots = ("PANTONE 185 C", "Varnish", "Gold", "PANTONE Warm Red C", "Silver")[:count]
    source = overlapping_page(tmp_path / "overlaps.pdf", spots)
    (recoloured,) = recoloured_coverage(source, tmp_path, 60) or [{}]
    (planes,) = separations(source, tmp_path, 60)
    assert set(recoloured) == set(planes) == {"Cyan", "Magenta", "Yellow", "Black", *spots}
    for name, value in planes.items():
        assert recoloured[name] == pytest.approx(value, abs=0.1), name
    band = 100 / (count + 1)
    # Left where black overprints it, knocked out by the grey, the RGB, the indexed and the
    # inline image and (one spot) the CMYK image.
    kept = 200 - 80 - (50 if count == 1 else 0)
    assert recoloured[spots[0]] == pytest.approx(band * kept / 200, abs=0.5)
    assert list(tmp_path.glob(".recoloured-*")) == []


@requires_gs
def test_colours_that_cannot_be_recoloured_are_separated_by_psdcmyk(tmp_path: Path) -> None:
    source = overlapping_page(tmp_path / "overlaps.pdf")
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        resources = pdf.pages[0].obj.Resources
        resources.ExtGState.OP.ca = 0.5  # transparency
        pdf.save(source)
    assert recoloured_coverage(source, tmp_path, 60) is None
    duo = write_sample(tmp_path / "1_Spots_Korol.pdf", [known_page()])
    with pikepdf.open(duo, allow_overwriting_input=True) as pdf:
        tint = pdf.make_stream(b"{ pop pop 0 0 0 1 }", FunctionType=4, Domain=[0, 1] * 2)
        tint.Range = [0, 1] * 4
        names = pikepdf.Array([pikepdf.Name.Black, pikepdf.Name("/PANTONE 185 C")])
        space = [pikepdf.Name.DeviceN, names, pikepdf.Name.DeviceCMYK, tint]
        pdf.pages[0].obj.Resources.ColorSpace.DN0 = pdf.make_indirect(space)  # unused: enough
        pdf.save(duo)
    assert recoloured_coverage(duo, tmp_path, 60) is None
    # measure_coverage then separates the page as before.
    warnings: list[str] = []
    found = measure_coverage(duo, tmp_path, [ordered(FILE_ORDER)], [(1030, 770)], 60, warnings)
    assert found is not None and found[0]["PANTONE 185 C"] == pytest.approx(
        100 * 500 * 350 / (1030 * 770), abs=0.5
    )
