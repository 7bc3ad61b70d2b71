"""The sample generator: real Signa structure, read back with pikepdf, pypdfium2 and our readers."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pypdfium2
import pytest

from asyncpdf.pdf.marks import page_marks
from asyncpdf.pdf.naming import find_bureau
from asyncpdf.testing.samples import (
    BUREAUS,
    Mark,
    SamplePage,
    main,
    make_samples,
    signa_marks,
    write_sample,
)

MM_PER_PT = 25.4 / 72
WARM_RED = "PANTONE Warm Red C"


def pdfium_text(path: Path, index: int) -> str:
    document = pypdfium2.PdfDocument(path)
    try:
        text = document[index].get_textpage().get_text_range()
        return re.sub(r"\s+", " ", text)
    finally:
        document.close()


def size_mm(page: pikepdf.Page) -> tuple[float, float]:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    return (x1 - x0) * MM_PER_PT, (y1 - y0) * MM_PER_PT


def creation_name(form: pikepdf.Object) -> str:
    return str(form.PieceInfo.HDAG_SignaMarkInfo.Private.CreationName)


def placements(page: pikepdf.Page) -> dict[str, list[float]]:
    """Each XObject the page content draws, with the cm matrix in force for it."""
    found, matrix = {}, [1.0, 0, 0, 1, 0, 0]
    for operands, operator in pikepdf.parse_content_stream(page):
        if str(operator) == "cm":
            matrix = [float(v) for v in operands]
        elif str(operator) == "Do":
            found[str(operands[0])] = matrix
    return found


@pytest.fixture
def signa_file(tmp_path: Path) -> Path:
    old = tuple(
        Mark(m.name, m.text, x_mm=15, y_mm=100, rotate=90, nested=True)
        for m in signa_marks("Korol", "Dominant", (640, 450), layout="old")
    )
    pages = [
        SamplePage(
            (1030, 770),
            ("Cyan", "Magenta", "Yellow", "Black", WARM_RED),
            signa_marks("Vonoel", "Speedmaster", (900, 640)),
        ),
        SamplePage((550, 650), ("Black", "PANTONE Reflex Blue C", "Varnish"), old),
    ]
    return write_sample(tmp_path / "12345_Buklet A4_Vonoel.pdf", pages)


def test_document_and_plates(signa_file: Path) -> None:
    with pikepdf.open(signa_file) as pdf:
        assert str(pdf.docinfo.Creator) == "PrinectSignaStation 2021 (21.10)"
        assert str(pdf.docinfo.Title) == "12345_Buklet A4_Vonoel"
        assert "/Producer" in pdf.docinfo
        assert size_mm(pdf.pages[0]) == pytest.approx((1030, 770), abs=0.5)
        assert size_mm(pdf.pages[1]) == pytest.approx((550, 650), abs=0.5)
        inks = [
            [str(n) for n in page.PieceInfo.HDAG_COLORANT.Private.HDAG_ColorantNames]
            for page in pdf.pages
        ]
        assert inks == [
            ["/Cyan", "/Magenta", "/Yellow", "/Black", "/PANTONE Warm Red C"],
            ["/Black", "/PANTONE Reflex Blue C", "/Varnish"],
        ]
        assert str(pdf.pages[0].PieceInfo.HDAG_COLORANT.LastModified).startswith("D:")
    assert b"/PANTONE#20Warm#20Red#20C" in signa_file.read_bytes()


def test_marks_are_signa_forms(signa_file: Path) -> None:
    with pikepdf.open(signa_file) as pdf:
        first, second = pdf.pages
        xobjects = first.Resources.XObject
        assert sorted(xobjects.keys()) == ["/pssMO1_0", "/pssMO2_0", "/pssMO3_0"]
        names = [creation_name(xobjects[key]) for key in sorted(xobjects.keys())]
        assert names == ["Outputter", "Machine", "Paper"]
        assert xobjects.pssMO1_0.Resources.Font.F0.Subtype == "/Type0"
        assert b"Tj" in xobjects.pssMO1_0.read_bytes()
        assert placements(first)["/pssMO2_0"][:4] == [1, 0, 0, 1]

        (key,) = second.Resources.XObject.keys()
        outer = second.Resources.XObject[key]
        assert creation_name(outer) == "tes_Outputter"
        inner = outer.Resources.XObject.Fm0
        assert b"Tj" not in outer.read_bytes() and b"Tj" in inner.read_bytes()
        assert "/Font" in inner.Resources
        cos, sin, minus_sin, cos2, x, y = placements(second)[key]
        assert (cos, sin, minus_sin, cos2) == (0, 1, -1, 0)
        assert (x * MM_PER_PT, y * MM_PER_PT) == pytest.approx((15, 100), abs=0.01)


def test_embedded_font_structure(signa_file: Path) -> None:
    with pikepdf.open(signa_file) as pdf:
        font = pdf.pages[0].Resources.XObject.pssMO1_0.Resources.Font.F0
        assert font.Encoding == "/Identity-H"
        (descendant,) = font.DescendantFonts
        assert descendant.Subtype == "/CIDFontType2"
        assert descendant.CIDToGIDMap == "/Identity"
        assert len(descendant.FontDescriptor.FontFile2.read_bytes()) > 0
        assert b"beginbfchar" in font.ToUnicode.read_bytes()
        content = pdf.pages[0].Resources.XObject.pssMO1_0.read_bytes()
        assert re.search(rb"<([0-9A-F]{4})+> Tj", content)


def test_mark_texts_are_extractable(signa_file: Path) -> None:
    first = pdfium_text(signa_file, 0)
    for text in ("Выведено: Vonoel", "Машина: Speedmaster", "Бумага: 900.0 x 640.0"):
        assert text in first
    assert "Выведено: Korol Dominant 640,0 x 450,0" in pdfium_text(signa_file, 1)
    with pikepdf.open(signa_file) as pdf:
        assert dict(page_marks(pdf.pages[0])) == {
            "Outputter": "Выведено: Vonoel",
            "Machine": "Машина: Speedmaster",
            "Paper": "Бумага: 900.0 x 640.0",
        }
        assert dict(page_marks(pdf.pages[1])) == {
            "tes_Outputter": "Выведено: Korol Dominant 640,0 x 450,0"
        }


def test_standard_font_marks(tmp_path: Path) -> None:
    marks = signa_marks("Leonov", "Planeta", (1000, 700), font="standard")
    path = write_sample(tmp_path / "s.pdf", [SamplePage((1010, 820), marks=marks)])
    with pikepdf.open(path) as pdf:
        font = pdf.pages[0].Resources.XObject.pssMO1_0.Resources.Font.F0
        assert (font.Subtype, font.BaseFont, font.Encoding) == (
            "/Type1",
            "/Helvetica",
            "/WinAnsiEncoding",
        )
    text = pdfium_text(path, 0)
    for expected in ("Outputter: Leonov", "Machine: Planeta", "Paper: 1000.0 x 700.0"):
        assert expected in text


def test_standard_font_cannot_show_cyrillic(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Helvetica"):
        write_sample(
            tmp_path / "x.pdf",
            [SamplePage((1030, 770), marks=(Mark("Outputter", "Выведено", font="standard"),))],
        )
    with pytest.raises(ValueError, match="rotate"):
        write_sample(
            tmp_path / "x.pdf", [SamplePage((1030, 770), marks=(Mark("M", "a", rotate=45),))]
        )


def test_resaved_file_without_pieceinfo(tmp_path: Path) -> None:
    path = write_sample(
        tmp_path / "r.pdf", [SamplePage((1030, 770), inks=None)], creator="Adobe Acrobat Pro 2020"
    )
    with pikepdf.open(path) as pdf:
        assert str(pdf.docinfo.Creator) == "Adobe Acrobat Pro 2020"
        assert "/PieceInfo" not in pdf.pages[0]
        assert page_marks(pdf.pages[0]) == []


def test_cyan_box_on_white(tmp_path: Path) -> None:
    path = write_sample(
        tmp_path / "c.pdf", [SamplePage((650, 550), cyan_box_mm=(100, 100, 300, 200))]
    )
    with pikepdf.open(path) as pdf:
        fills = [
            [float(v) for v in operands]
            for operands, operator in pikepdf.parse_content_stream(pdf.pages[0])
            if str(operator) == "k"
        ]
        assert fills == [[1, 0, 0, 0]]
    document = pypdfium2.PdfDocument(path)
    try:
        scale = 0.1
        image = document[0].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()

    def pixel(x_mm: float, y_mm: float) -> tuple[int, int, int]:
        x, y = x_mm / MM_PER_PT * scale, (550 - y_mm) / MM_PER_PT * scale
        red, green, blue = image.getpixel((int(x), int(y)))
        return red, green, blue

    red, green, blue = pixel(200, 150)
    assert red < 100 and green > 150 and blue > 200
    assert pixel(500, 400) == (255, 255, 255)
    assert pixel(50, 50) == (255, 255, 255)


def test_filler_reaches_size_deterministically(tmp_path: Path) -> None:
    page = SamplePage((1030, 770), marks=signa_marks("Admin", "Speedmaster", (900, 640)))
    one = write_sample(tmp_path / "a" / "f.pdf", [page], filler_bytes=1_500_000, seed=4)
    two = write_sample(tmp_path / "b" / "f.pdf", [page], filler_bytes=1_500_000, seed=4)
    assert one.stat().st_size >= 1_500_000
    assert one.read_bytes() == two.read_bytes()
    with pikepdf.open(one) as pdf:
        image = pdf.pages[0].Resources.XObject.Im0
        assert (image.Subtype, image.ColorSpace, int(image.BitsPerComponent)) == (
            "/Image",
            "/DeviceCMYK",
            8,
        )


def test_make_samples_is_varied_valid_and_deterministic(tmp_path: Path) -> None:
    paths = make_samples(tmp_path / "one", count=15, seed=2)
    again = make_samples(tmp_path / "two", count=15, seed=2)
    assert len({p.name for p in paths}) == 15
    assert [p.name for p in again] == [p.name for p in paths]
    assert [p.stat().st_size for p in again] == [p.stat().st_size for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(paths, again, strict=True))

    layouts, inks = set(), set()
    for path in paths:
        assert re.fullmatch(r"\d{5}_[^_]+_[A-Za-z]+\.pdf", path.name)
        bureau = find_bureau(path.name, BUREAUS)
        with pikepdf.open(path) as pdf:
            assert str(pdf.docinfo.Creator).startswith("PrinectSignaStation")
            assert 1 <= len(pdf.pages) <= 8
            for page in pdf.pages:
                marks = dict(page_marks(page))
                colorants = page.PieceInfo.HDAG_COLORANT.Private.HDAG_ColorantNames
                inked = [str(name).removeprefix("/") for name in colorants]
                assert marks.pop("tes_color") == " ".join(inked)
                assert marks.pop("CutMark_2mm") == ""
                layouts.add(tuple(sorted(marks)))
                outputter = marks.get("Outputter") or marks["tes_Outputter"]
                assert outputter.split(":")[1].split()[0] == bureau
                inks.update(str(n) for n in page.PieceInfo.HDAG_COLORANT.Private.HDAG_ColorantNames)
    assert layouts == {("Machine", "Outputter", "Paper"), ("tes_Outputter",)}
    assert {"/Cyan", "/Black"} < inks and any(ink.startswith("/PANTONE ") for ink in inks)
    assert any(re.search("[а-яА-Я]", p.name) for p in paths)
    assert [p.stat().st_size for p in make_samples(tmp_path / "three", 15, seed=3)] != [
        p.stat().st_size for p in paths
    ]


def test_main_writes_and_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out"), "--count", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 + 3  # and the three files of README's Try it
    assert sorted(Path(line).name for line in printed) == sorted(
        p.name for p in (tmp_path / "out").iterdir()
    )
