"""The full analysis of Signa-like files with known content, as `asyncpdf analyze` reports it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from asyncpdf.cli import main
from asyncpdf.config import load_settings
from asyncpdf.pdf import analysis
from asyncpdf.pdf.analysis import COLORANTS, analyze_file
from asyncpdf.pdf.model import Analysis, PageAnalysis
from asyncpdf.testing.samples import Mark, SamplePage, signa_marks, write_sample
from tests.support.damage import inflated_paper_mark
from tests.support.workers import troublesome_analysis

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
RULES = load_settings(CONFIG).rules()
CMYK = ("Cyan", "Magenta", "Yellow", "Black")
SPEEDMASTER, PLANETA, DOMINANT = (1030, 770), (1010, 820), (650, 550)


def analyse(tmp_path: Path, name: str, pages: list[SamplePage], **options: Any) -> Analysis:
    return analyze_file(write_sample(tmp_path / name, pages, **options), RULES)


def presses(result: Analysis) -> list[str | None]:
    """Each page's press, in page order."""
    return [page.press for page in result.pages]


def test_three_marks_cyrillic(tmp_path: Path) -> None:
    marks = signa_marks("Vonoel", "Speedmaster", (900, 640))
    result = analyse(
        tmp_path, "12345_Буклет А4_Vonoel.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)] * 2
    )

    assert result.error is None and result.rejected is False
    assert result.is_pdf and result.is_signa
    assert result.creator is not None and result.creator.startswith("PrinectSignaStation")
    assert len(result.pages) == 2
    assert [page.plate_mm for page in result.pages] == [(1030, 770)] * 2
    assert [page.inks for page in result.pages] == [CMYK] * 2
    assert result.plates == 8
    assert [dict(page.marks) for page in result.pages] == [
        {
            "Outputter": "Выведено: Vonoel",
            "Machine": "Машина: Speedmaster",
            "Paper": "Бумага: 900.0 x 640.0",
        }
    ] * 2
    assert [page.press for page in result.pages] == ["Speedmaster"] * 2
    assert result.bureau == "Vonoel"
    assert [page.paper_mm for page in result.pages] == [(900.0, 640.0)] * 2
    assert result.order == "12345"
    assert result.order_name == "Буклет А4"
    assert result.warnings == ()


def test_old_single_mark_latin_with_comma_decimals(tmp_path: Path) -> None:
    marks = signa_marks("Korol", "Planeta", (920, 650), layout="old", font="standard")
    result = analyse(tmp_path, "777_Flyer.pdf", [SamplePage(PLANETA, CMYK, marks)])

    assert [dict(page.marks) for page in result.pages] == [
        {"tes_Outputter": "Outputter: Korol Planeta 920,0 x 650,0"}
    ]
    assert (presses(result), result.bureau) == (["Planeta"], "Korol")
    assert [page.paper_mm for page in result.pages] == [(920.0, 650.0)]
    assert result.error is None


def test_nested_and_rotated_marks(tmp_path: Path) -> None:
    marks = tuple(
        Mark(m.name, m.text, x_mm=15, y_mm=40 + 110 * i, rotate=90, nested=True)
        for i, m in enumerate(signa_marks("Leonov", "Dominant", (600, 450)))
    )
    result = analyse(tmp_path, "1_x_Leonov.pdf", [SamplePage(DOMINANT, CMYK, marks)])

    assert dict(result.pages[0].marks)["Machine"] == "Машина: Dominant"
    assert (presses(result), result.bureau, [page.paper_mm for page in result.pages]) == (
        ["Dominant"],
        "Leonov",
        [(600.0, 450.0)],
    )


def test_pages_for_different_presses_spot_colours_and_portrait(tmp_path: Path) -> None:
    pages = [
        SamplePage(
            SPEEDMASTER,
            (*CMYK, "PANTONE Warm Red C"),
            signa_marks("Pechatnik", "Speedmaster", (900, 640)),
        ),
        SamplePage(
            (550, 650),
            ("Black", "PANTONE Reflex Blue C", "Varnish"),
            signa_marks("Pechatnik", "Dominant", (450, 600)),
        ),
    ]
    result = analyse(tmp_path, "2024_Mixed.pdf", pages)

    assert presses(result) == ["Speedmaster", "Dominant"]
    assert [page.plate_mm for page in result.pages] == [(1030, 770), (650, 550)]
    assert [page.media_mm for page in result.pages] == [(1030.0, 770.0), (550.0, 650.0)]
    assert [page.inks for page in result.pages] == [
        (*CMYK, "PANTONE Warm Red C"),
        ("Black", "PANTONE Reflex Blue C", "Varnish"),
    ]
    assert result.plates == 8
    assert result.bureau == "Pechatnik"


def test_resaved_without_marks_falls_back(tmp_path: Path) -> None:
    page = SamplePage(PLANETA, None, (), cyan_box_mm=(100, 60, 900, 700))
    result = analyse(tmp_path, "31337_Re saved_leonov.pdf", [page], creator="Adobe Acrobat Pro")

    assert result.is_signa is False
    assert any("not made by Signa Station" in w for w in result.warnings)
    assert [page.marks for page in result.pages] == [()]
    assert [page.inks for page in result.pages] == [()] and result.plates == 0
    assert presses(result) == ["Planeta"]
    assert result.bureau == "Leonov"
    # No Ghostscript in the analysis: the preview step measures the content for the crop.
    assert [(page.paper_from, page.paper_mm) for page in result.pages] == [(None, None)]
    assert result.error is None


def test_resaved_keeps_colorants(tmp_path: Path) -> None:
    page = SamplePage(SPEEDMASTER, (*CMYK, "PANTONE 871 C"), (), cyan_box_mm=(50, 50, 60, 60))
    result = analyse(tmp_path, "5_Acrobat_Korol.pdf", [page], creator="Adobe Acrobat Pro")
    assert result.plates == 5
    assert [page.inks for page in result.pages] == [(*CMYK, "PANTONE 871 C")]


def test_names_written_in_windows_1251(tmp_path: Path) -> None:
    """Signa on a Russian Windows may write a spot colour's name in cp1251 bytes; the file is
    analysed and the ink shown in Cyrillic, not rejected for not being UTF-8."""
    page = SamplePage(
        SPEEDMASTER, (*CMYK, "Varnish"), signa_marks("Korol", "Speedmaster", (900, 640))
    )
    path = write_sample(tmp_path / "77_Лак_Korol.pdf", [page])
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        colorants = pdf.pages[0].obj.get(COLORANTS)
        colorants[4] = pikepdf.Object.parse(b"/\xcb\xe0\xea")  # Лак
        pdf.save(path)
    result = analyze_file(path, RULES)
    assert result.error is None and not result.rejected
    assert [page.inks for page in result.pages] == [(*CMYK, "Лак")]
    assert presses(result) == ["Speedmaster"]


def test_a_broken_mark_is_warned_about_and_the_rest_read(tmp_path: Path) -> None:
    marks = signa_marks("Korol", "Speedmaster", (900, 640))
    path = write_sample(
        tmp_path / "78_Broken mark_Korol.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)]
    )
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        paper_mark = pdf.pages[0].obj.Resources.XObject["/pssMO3_0"]
        paper_mark.write(b"not deflated", filter=pikepdf.Name.FlateDecode)  # a damaged stream
        pdf.save(path)
    result = analyze_file(path, RULES)
    assert presses(result) == ["Speedmaster"] and result.bureau == "Korol"
    assert dict(result.pages[0].marks)["Paper"] == ""
    assert any("marks partly unreadable" in w and "decoding" in w for w in result.warnings)
    assert not any(str(tmp_path) in w for w in result.warnings)


def test_a_mark_naming_an_unknown_press_fails_with_how_to_fix_it(tmp_path: Path) -> None:
    """No silent fallback: the plate size would say Planeta, but the mark says XL106."""
    marks = signa_marks("Vonoel", "XL106", (900, 640))
    result = analyse(tmp_path, "9_x.pdf", [SamplePage(PLANETA, CMYK, marks)])
    assert presses(result) == [None]
    assert result.rejected is False
    assert result.error == (
        "the mark on page 1 names press 'XL106', which is not configured (known: Speedmaster, "
        "Planeta, Dominant): add it to presses in the config, or to the aliases of the press "
        "it means, and run the file again"
    )


def test_an_alias_names_a_press_and_a_bureau(tmp_path: Path) -> None:
    rules = replace(
        RULES, press_aliases=(("XL106", "Planeta"),), bureau_aliases=(("VNL", "Vonoel"),)
    )
    marks = signa_marks("vnl", "xl106", (900, 640))
    path = write_sample(tmp_path / "9_x.pdf", [SamplePage(PLANETA, CMYK, marks)])
    result = analyze_file(path, rules)
    assert result.error is None
    assert presses(result) == ["Planeta"] and result.bureau == "Vonoel"


def test_a_mark_naming_an_unknown_bureau_fails_though_the_name_has_a_tag(tmp_path: Path) -> None:
    marks = signa_marks("Roland", "Speedmaster", (900, 640))
    result = analyse(tmp_path, "9_x_Leonov.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)])
    assert result.error is not None
    assert result.error.startswith("the mark on page 1 names bureau 'Roland', which is not")
    assert "add it to bureaus in the config" in result.error


def test_a_name_tag_that_disagrees_with_the_mark_is_a_warning_and_the_mark_wins(
    tmp_path: Path,
) -> None:
    marks = signa_marks("Korol", "Speedmaster", (900, 640))
    result = analyse(tmp_path, "9_x_Leonov.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)])
    assert result.error is None and result.bureau == "Korol"
    assert "the file name says bureau 'Leonov', its mark says 'Korol': the mark wins" in (
        result.warnings
    )


def test_a_mark_its_pattern_does_not_read_is_a_warning_saying_what_is_used_instead(
    tmp_path: Path,
) -> None:
    marks = (
        Mark("Outputter", "Выведено: Vonoel"),
        Mark("Machine", "Машина: Speedmaster"),
        Mark("Paper", "Бумага: примерно A1", x_mm=240),
    )
    result = analyse(tmp_path, "9_x.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)])
    assert result.error is None
    assert (
        "page 1: mark 'Paper' reads 'Бумага: примерно A1', which its pattern in the config does "
        "not match; the paper size from the content"
    ) in result.warnings


@pytest.mark.parametrize(
    ("text", "paper"),
    [
        ("Выведено: Vonoel     Speedmaster 900,0 x 640,0", (900.0, 640.0)),
        ("Выведено: Vonoel     tes / Speedmaster 900.0 x 640.0", (900.0, 640.0)),
        ("Outputter: Vonoel  tes / Speedmaster 720 x 510", (720.0, 510.0)),
    ],
)
def test_the_single_mark_of_signa_15_and_16(
    tmp_path: Path, text: str, paper: tuple[float, float]
) -> None:
    font = "standard" if text.startswith("Outputter") else "embedded"
    marks = (Mark("tes_Outputter", text, font=font),)
    result = analyse(tmp_path, "9_x.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)])
    assert result.error is None and result.warnings == ()
    assert presses(result) == ["Speedmaster"] and result.bureau == "Vonoel"
    assert [page.paper_mm for page in result.pages] == [paper]
    assert [page.paper_from for page in result.pages] == ["mark"]


@pytest.mark.parametrize("font", ["embedded", "standard"])
@pytest.mark.parametrize("layout", ["three", "old", "signa16"])
def test_each_signa_layout_analysed_in_full(tmp_path: Path, layout: str, font: str) -> None:
    marks = signa_marks("Korol", "Planeta", (1000, 700), layout=layout, font=font)
    others = (
        Mark("tes_color", "Cyan Magenta Yellow Black", x_mm=300, font=font),
        Mark("CutMark_2mm", "", x_mm=5, y_mm=800, font=font),
        Mark("CutMark_2mm", "", x_mm=1000, y_mm=800, font=font),
    )
    pages = [SamplePage(PLANETA, CMYK, (*marks, *others))] * 3
    result = analyse(tmp_path, "4321_Каталог_Korol.pdf", pages)

    label = "Outputter" if font == "standard" else "Выведено"
    expected_marks = {
        "three": [
            ("Outputter", f"{label}: Korol"),
            ("Machine", "Machine: Planeta" if font == "standard" else "Машина: Planeta"),
            ("Paper", ("Paper" if font == "standard" else "Бумага") + ": 1000.0 x 700.0"),
        ],
        "old": [("tes_Outputter", f"{label}: Korol Planeta 1000,0 x 700,0")],
        "signa16": [("tes_Outputter", f"{label}: Korol tes / Planeta 1000.0 x 700.0")],
    }[layout]
    page = PageAnalysis(
        media_mm=(1010.0, 820.0),
        plate_mm=(1010, 820),
        inks=CMYK,
        marks=(
            *expected_marks,
            ("tes_color", "Cyan Magenta Yellow Black"),
            ("CutMark_2mm", ""),
            ("CutMark_2mm", ""),
        ),
        press="Planeta",
        paper_mm=(1000.0, 700.0),
        paper_from="mark",
    )
    assert result == Analysis(
        file="4321_Каталог_Korol.pdf",
        size=result.size,
        order="4321",
        order_name="Каталог",
        is_pdf=True,
        creator=result.creator,
        is_signa=True,
        pages=(page,) * 3,
        bureau="Korol",
    )
    # The JSON lists every mark by name, repeats included.
    listed = result.to_json()["pages"][0]["marks"]
    assert [mark["name"] for mark in listed][-3:] == ["tes_color", "CutMark_2mm", "CutMark_2mm"]


def test_a_reason_about_many_like_pages_names_them_once(tmp_path: Path) -> None:
    unknown = SamplePage(PLANETA, CMYK, signa_marks("Vonoel", "XL106", (900, 640)))
    known = SamplePage(SPEEDMASTER, CMYK, signa_marks("Vonoel", "Speedmaster", (900, 640)))
    result = analyse(tmp_path, "9_x.pdf", [unknown, known] * 20)
    assert presses(result) == [None, "Speedmaster"] * 20
    assert [page.paper_mm for page in result.pages] == [(900, 640)] * 40
    assert result.error is not None and result.error.count("XL106") == 1
    assert "pages 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 and 10 more" in result.error


def test_no_press_and_no_bureau_is_an_error_naming_what_was_tried(tmp_path: Path) -> None:
    page = SamplePage((700, 500), CMYK, (), cyan_box_mm=(10, 10, 20, 20))
    result = analyse(tmp_path, "42_Odd plate.pdf", [page], creator="Adobe Acrobat Pro")

    assert result.rejected is False
    assert result.error is not None
    assert "no press for page 1" in result.error
    assert "700 x 500 mm" in result.error and "Speedmaster 1030x770" in result.error
    assert "no bureau found" in result.error and "(Leonov, " in result.error
    assert "[" not in result.error and "'" not in result.error  # no Python lists or reprs


def test_cli_analyze_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_sample(
        tmp_path / "1_Good_Vonoel.pdf",
        [SamplePage(SPEEDMASTER, CMYK, signa_marks("Vonoel", "Speedmaster", (900, 640)))],
    )
    bad = tmp_path / "notes.pdf"
    bad.write_text("not a pdf")

    assert main(["analyze", "--json", "--config", str(CONFIG), str(good)]) == 0
    assert main(["analyze", "--json", "--config", str(CONFIG), str(good), str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    first, _, last = (json.loads(line) for line in lines)
    assert [page["press"] for page in first["pages"]] == ["Speedmaster"]
    assert first["page_count"] == 1 and first["plates"] == 4 and first["error"] is None
    assert last["is_pdf"] is False and "not a PDF" in last["error"]
    assert list(tmp_path.iterdir()) == [good, bad] or sorted(tmp_path.iterdir()) == sorted(
        [good, bad]
    )


def test_a_fifo_given_to_the_analysis_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "1_pipe_Leonov.pdf"
    os.mkfifo(fifo)
    result = analyze_file(fifo, RULES)
    assert result.rejected and result.error == "not a plain file"


def test_cli_analyze_text_is_compact_with_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    speedmaster = SamplePage(SPEEDMASTER, CMYK, signa_marks("Leonov", "Speedmaster", (900, 640)))
    dominant = SamplePage(DOMINANT, ("Black",), signa_marks("Leonov", "Dominant", (600, 450)))
    path = write_sample(tmp_path / "7_Mixed_Korol.pdf", [speedmaster] * 3 + [dominant] * 2)

    assert main(["analyze", "--config", str(CONFIG), str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  pages 1-3: Speedmaster, plate 1030x770 mm, paper 900x640 mm, "
        "Cyan Magenta Yellow Black (4 plates)",
        "  pages 4-5: Dominant, plate 650x550 mm, paper 600x450 mm, Black (1 plates)",
        "  warning: the file name says bureau 'Korol', its mark says 'Leonov': the mark wins",
    ]


def test_cli_analyze_runs_under_the_job_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sample(tmp_path / "1_hang_Leonov.pdf", [SamplePage(SPEEDMASTER, CMYK)])
    # No real file hangs the analysis on demand: one named so does (the forked worker inherits
    # the stand-in). A budget of 1 ms would be met by a fast worker on a busy loop; a hang never.
    monkeypatch.setattr(analysis, "analyze_file", troublesome_analysis)
    monkeypatch.setenv("ASYNCPDF_POOL__JOB_TIMEOUT_S", "1")
    assert main(["analyze", "--config", str(CONFIG), str(path)]) == 1
    assert "took longer than the job timeout of 1 s" in capsys.readouterr().out
    assert path.exists()


def test_cli_analyze_runs_under_the_worker_memory_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = signa_marks("Leonov", "Speedmaster", (900, 640))
    path = inflated_paper_mark(
        write_sample(tmp_path / "1_x.pdf", [SamplePage(SPEEDMASTER, CMYK, marks)])
    )
    # The Paper mark inflates to 640 MB: within 512 MB it cannot be read, and says so.
    monkeypatch.setenv("ASYNCPDF_POOL__WORKER_MEMORY_MB", "512")
    assert main(["analyze", "--json", "--config", str(CONFIG), str(path)]) == 0
    (page,) = json.loads(capsys.readouterr().out)["pages"]
    assert {"name": "Paper", "text": ""} in page["marks"]
    assert page["paper_from"] is None


def test_files_analysed_in_turn_share_a_call_within_its_budget(tmp_path: Path) -> None:
    pages = [SamplePage((1030, 790), "Speedmaster")]
    paths = [write_sample(tmp_path / f"{n}_job_Leonov.pdf", pages) for n in range(3)]

    everything = analysis.analyzed_in_turn(analyze_file, paths, RULES, budget_s=60)
    assert [found.analysis.file for found in everything] == [p.name for p in paths]
    first = everything[0]
    assert first.size == paths[0].stat().st_size and first.mtime == paths[0].stat().st_mtime
    assert first.sha256 == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    # Out of time after the first: the call answers with what it has, and never with nothing.
    assert len(analysis.analyzed_in_turn(analyze_file, paths, RULES, budget_s=0)) == 1
    # A file too large to be taken at all is never read whole for its checksum.
    tiny = replace(RULES, max_file_mb=paths[0].stat().st_size / 2**20 / 2)
    assert analysis.analyzed_with_checksum(analyze_file, paths[0], tiny).sha256 is None
