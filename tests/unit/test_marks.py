"""Signa marks of real sample plate files written by `asyncpdf.testing.samples`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.pdf.marks import mark_name, page_marks, texts_by_name
from asyncpdf.pdf.text import TextReader
from asyncpdf.testing.samples import Mark, SamplePage, make_samples, signa_marks, write_sample

PLATE = (1030.0, 770.0)
THREE_EMBEDDED = {
    "Outputter": "Выведено: Vonoel",
    "Machine": "Машина: Speedmaster",
    "Paper": "Бумага: 900.0 x 640.0",
}
THREE_STANDARD = {
    "Outputter": "Outputter: Vonoel",
    "Machine": "Machine: Speedmaster",
    "Paper": "Paper: 900.0 x 640.0",
}
OLD_EMBEDDED = {"tes_Outputter": "Выведено: Vonoel Speedmaster 900,0 x 640,0"}
OLD_STANDARD = {"tes_Outputter": "Outputter: Vonoel Speedmaster 900,0 x 640,0"}


@pytest.fixture
def opened() -> Iterator[list[pikepdf.Pdf]]:
    pdfs: list[pikepdf.Pdf] = []
    yield pdfs
    for pdf in pdfs:
        pdf.close()


def marks_of(path: Path) -> list[dict[str, str]]:
    """Each page's marks by name (every name here is used once)."""
    with pikepdf.open(path) as pdf:
        return [dict(page_marks(page)) for page in pdf.pages]


@pytest.mark.parametrize(
    ("layout", "font", "expected"),
    [
        ("three", "embedded", THREE_EMBEDDED),
        ("three", "standard", THREE_STANDARD),
        ("old", "embedded", OLD_EMBEDDED),
        ("old", "standard", OLD_STANDARD),
    ],
)
@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
@pytest.mark.parametrize("rotate", [0, 90, 270], ids=["upright", "up", "down"])
def test_layouts_fonts_nesting_and_rotation(
    tmp_path: Path, layout: str, font: str, expected: dict[str, str], nested: bool, rotate: int
) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900.0, 640.0), layout, font)
    marks = tuple(replace(mark, nested=nested, rotate=rotate) for mark in marks)
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)] * 2)
    assert marks_of(path) == [expected, expected]


def test_pages_differ_and_a_page_without_marks_has_none(tmp_path: Path) -> None:
    pages = [
        SamplePage(PLATE, marks=signa_marks("Korol", "Planeta", (1000.0, 700.0))),
        SamplePage(PLATE),
        SamplePage(PLATE, marks=signa_marks("Leonov", "Dominant", (640.0, 450.0), "old")),
    ]
    path = write_sample(tmp_path / "plate.pdf", pages, filler_bytes=4096)
    assert marks_of(path) == [
        {
            "Outputter": "Выведено: Korol",
            "Machine": "Машина: Planeta",
            "Paper": "Бумага: 1000.0 x 700.0",
        },
        {},
        {"tes_Outputter": "Выведено: Leonov Dominant 640,0 x 450,0"},
    ]


def test_marks_sharing_a_name_join_in_drawing_order(tmp_path: Path) -> None:
    # Twelve marks: pssMO10_0 must come after pssMO9_0, not after pssMO1_0.
    marks = tuple(Mark("Note", f"part{n}", font="standard") for n in range(1, 13))
    mixed = (Mark("Note", "Примечание"), *marks)
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=mixed)])
    texts = ["Примечание", *(f"part{n}" for n in range(1, 13))]
    with pikepdf.open(path) as pdf:
        listed = page_marks(pdf.pages[0])
    assert listed == [("Note", text) for text in texts]
    assert texts_by_name(listed) == {"Note": " ".join(texts)}


def test_marks_without_a_creation_name_are_skipped(
    tmp_path: Path, opened: list[pikepdf.Pdf]
) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900.0, 640.0))
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)])
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        xobjects = pdf.pages[0].obj.Resources.XObject
        del xobjects["/pssMO1_0"].PieceInfo.HDAG_SignaMarkInfo.Private.CreationName
        del xobjects["/pssMO2_0"].PieceInfo
        pdf.save(path)
    assert marks_of(path) == [{"Paper": "Бумага: 900.0 x 640.0"}]
    opened.append(pikepdf.open(path))
    assert mark_name(opened[0].pages[0].obj.Resources.XObject["/pssMO1_0"]) is None
    assert mark_name(opened[0].pages[0].obj.Resources.XObject["/pssMO3_0"]) == "Paper"


def test_xobjects_not_named_like_marks_are_ignored(tmp_path: Path) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900.0, 640.0))
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)], filler_bytes=64)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        xobjects = pdf.pages[0].obj.Resources.XObject
        # A form under another name, even with Signa's PieceInfo, is not a mark.
        xobjects.Fm9 = xobjects["/pssMO1_0"]
        pdf.save(path)
    assert marks_of(path) == [THREE_EMBEDDED]


def test_every_mark_is_listed_with_its_text_names_repeating(tmp_path: Path) -> None:
    marks = (
        *signa_marks("Vonoel", "Speedmaster", (900.0, 640.0)),
        Mark("tes_color", "Magenta Cyan Yellow", x_mm=400),
        Mark("CutMark_2mm", "", x_mm=10, y_mm=700),
        Mark("CutMark_2mm", "", x_mm=500, y_mm=700),
    )
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)])
    with pikepdf.open(path) as pdf:
        listed = page_marks(pdf.pages[0])
    assert listed == [
        *THREE_EMBEDDED.items(),
        ("tes_color", "Magenta Cyan Yellow"),
        ("CutMark_2mm", ""),
        ("CutMark_2mm", ""),
    ]


def test_resources_inherited_from_the_page_tree(tmp_path: Path, opened: list[pikepdf.Pdf]) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900.0, 640.0), "old")
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)])
    opened.append(pikepdf.open(path))
    pdf = opened[0]
    page = pdf.pages[0]
    pdf.Root.Pages.Resources = page.obj.Resources
    del page.obj.Resources
    assert "/Resources" not in page.obj
    assert page_marks(page) == list(OLD_EMBEDDED.items())


def test_a_font_without_tounicode_gives_empty_text_and_a_warning(tmp_path: Path) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900.0, 640.0))
    marks = (*marks[:2], replace(marks[2], font="standard", text="Paper: 900.0 x 640.0"))
    path = write_sample(tmp_path / "plate.pdf", [SamplePage(PLATE, marks=marks)] * 2)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for font in pdf.pages[0].obj.Resources.XObject["/pssMO1_0"].Resources.Font.values():
            del font.ToUnicode
        pdf.save(path)
    with pikepdf.open(path) as pdf:
        reader = TextReader()  # one for the whole file, as the analysis would use it
        found = [dict(page_marks(page, reader=reader)) for page in pdf.pages]
    expected = {"Outputter": "", "Machine": "", "Paper": "Paper: 900.0 x 640.0"}
    assert found == [expected, expected]
    assert reader.unreadable == {"/SAMPLE+SampleSans"}


def test_generated_samples_have_readable_marks(tmp_path: Path) -> None:
    labels = ("Выведено: ", "Машина: ", "Бумага: ", "Outputter: ", "Machine: ", "Paper: ")
    for path in make_samples(tmp_path, count=12, seed=3):
        for marks in marks_of(path):
            assert set(marks) - {"tes_color", "CutMark_2mm"} in (
                {"Outputter", "Machine", "Paper"},
                {"tes_Outputter"},
            )
            marks.pop("tes_color")
            marks.pop("CutMark_2mm")
            for text in marks.values():
                assert text.startswith(labels)
                assert "  " not in text
                assert text.split(": ", 1)[1]
