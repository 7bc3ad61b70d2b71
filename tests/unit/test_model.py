"""The typed records of a job's PDF work: stored as JSON and read back as they were, whichever
schema version wrote them."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.config import load_settings
from asyncpdf.errors import AsyncPdfError
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.pdf.model import ANALYSIS_VERSION, Analysis, Artefacts, PageAnalysis
from asyncpdf.testing.samples import SamplePage, make_samples, signa_marks, write_sample

SETTINGS = load_settings(Path(__file__).resolve().parents[2] / "config.yaml")
RULES = SETTINGS.rules()
CMYK = ("Cyan", "Magenta", "Yellow", "Black")

requires_gs = pytest.mark.skipif(gs_path() is None, reason="Debian's ghostscript is not installed")


def stored(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as it comes back from the database: through JSON text."""
    return dict(json.loads(json.dumps(data, ensure_ascii=False)))


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> list[Analysis]:
    """Real analyses: varied Signa samples, a re-saved file whose paper is its content box, and
    a file that is not a PDF at all."""
    folder = tmp_path_factory.mktemp("samples")
    paths = make_samples(folder, count=8, seed=7)
    resaved = SamplePage((1010, 820), None, (), cyan_box_mm=(100, 60, 900, 700))
    paths.append(write_sample(folder / "31337_Re saved_Leonov.pdf", [resaved] * 2, creator="PDF"))
    notes = folder / "123_notes_Korol.pdf"
    notes.write_text("not a PDF")
    paths.append(notes)
    return [analyze_file(path, RULES) for path in paths]


def test_the_samples_cover_what_the_round_trip_must_keep(analyses: list[Analysis]) -> None:
    pages = [page for analysis in analyses for page in analysis.pages]
    assert {page.paper_from for page in pages} == {"mark", None}
    # Every mark is listed, and a name can repeat (Signa's cut marks).
    assert any(len(dict(page.marks)) < len(page.marks) for page in pages)
    assert any(len(analysis.pages) > 1 for analysis in analyses)
    assert any(analysis.warnings for analysis in analyses)
    assert any(analysis.rejected and analysis.error for analysis in analyses)


def test_analysis_round_trip(analyses: list[Analysis]) -> None:
    for analysis in analyses:
        data = stored(analysis.to_json())
        assert data["page_count"] == len(analysis.pages) and data["plates"] == analysis.plates
        assert Analysis.from_json(data) == analysis
        assert Analysis.from_json(data, version=ANALYSIS_VERSION) == analysis
        # It crosses the process-pool boundary intact, too.
        assert pickle.loads(pickle.dumps(analysis)) == analysis


@requires_gs
def test_artefacts_round_trip(tmp_path: Path) -> None:
    pages = [
        SamplePage((1030, 770), CMYK, signa_marks("Korol", "Speedmaster", (900, 640))),
        SamplePage((650, 550), ("Black",), signa_marks("Korol", "Dominant", (600, 450))),
    ]
    source = write_sample(tmp_path / "12_Two presses_Korol.pdf", pages)
    analysis = analyze_file(source, RULES)
    assert analysis.error is None and analysis.presses == ("Speedmaster", "Dominant")
    crops, warnings, _ = crop_boxes_mm(analysis, {p.name: p.gripper_mm for p in SETTINGS.presses})
    assert warnings == []
    made = make_artefacts(
        source, tmp_path / "previews", crops, pages_by_press=analysis.pages_by_press
    )
    # Every field is filled, so the round trip has something to lose.
    assert set(made.press_previews) == {"Speedmaster", "Dominant"}
    assert made.ink_coverage is not None and len(made.ink_coverage) == 2
    assert made.proof_px and made.thumb_px and made.preview_bytes > 0

    assert Artefacts.from_json(stored(made.to_json())) == made
    assert pickle.loads(pickle.dumps(made)) == made


def test_artefacts_without_previews_round_trip() -> None:
    nothing = Artefacts(dir="/var/previews/7", warnings=("no preview: ghostscript failed",))
    assert Artefacts.from_json(stored(nothing.to_json())) == nothing


# --- version 1: one flat dict, one list per page field ----------------------------------------


def version_1(analysis: Analysis) -> dict[str, Any]:
    """`analysis` in the flat format asyncpdf stored before the typed records (schema 1)."""
    pages = analysis.pages
    return {
        "file": analysis.file,
        "size": analysis.size,
        "is_pdf": analysis.is_pdf,
        "creator": analysis.creator,
        "is_signa": analysis.is_signa,
        "pages": len(pages),
        "plate_sizes_mm": [list(page.plate_mm) for page in pages],
        "media_mm": [list(page.media_mm) for page in pages],
        "inks": [list(page.inks) for page in pages],
        "plates": analysis.plates,
        "marks": [dict(page.marks) for page in pages],
        "press": [page.press for page in pages],
        "bureau": analysis.bureau,
        "paper_mm": [list(page.paper_mm) if page.paper_mm else None for page in pages],
        "paper_from": [page.paper_from for page in pages],
        "content_box_mm": [],
        "order": analysis.order,
        "order_name": analysis.order_name,
        "warnings": list(analysis.warnings),
        "error": analysis.error,
        "rejected": analysis.rejected,
    }


V1 = {
    "file": "2024_Mixed_Pechatnik.pdf",
    "size": 123456,
    "is_pdf": True,
    "creator": "PrinectSignaStation 2021 (21.10)",
    "is_signa": True,
    "pages": 2,
    "plate_sizes_mm": [[1030, 770], [650, 550]],
    "media_mm": [[1030.0, 770.0], [550.0, 650.0]],
    "inks": [["Cyan", "Magenta", "Yellow", "Black"], ["Black", "Varnish"]],
    "plates": 6,
    "marks": [
        {"Outputter": "Выведено: Pechatnik", "Machine": "Машина: Speedmaster"},
        {},
    ],
    "press": ["Speedmaster", "Dominant"],
    "bureau": "Pechatnik",
    "paper_mm": [[900.0, 640.0], [500.1, 400.2]],
    "paper_from": ["mark", "content"],
    # Ghostscript reported a box for the first page only.
    "content_box_mm": [[10.0, 20.0, 30.5, 40.25]],
    "order": "2024",
    "order_name": "Mixed",
    "warnings": ["not made by Signa Station (Creator: none)"],
    "error": None,
    "rejected": False,
}


def test_version_1_gives_the_pages() -> None:
    analysis = Analysis.from_json(stored(V1), version=1)
    assert analysis.pages == (
        PageAnalysis(
            media_mm=(1030.0, 770.0),
            plate_mm=(1030, 770),
            inks=CMYK,
            marks=(("Outputter", "Выведено: Pechatnik"), ("Machine", "Машина: Speedmaster")),
            press="Speedmaster",
            paper_mm=(900.0, 640.0),
            paper_from="mark",
        ),
        PageAnalysis(
            media_mm=(550.0, 650.0),
            plate_mm=(650, 550),
            inks=("Black", "Varnish"),
            marks=(),
            press="Dominant",
            # A paper size from the content box is measured again when a preview is made.
            paper_mm=None,
            paper_from=None,
        ),
    )
    assert analysis == Analysis(
        file="2024_Mixed_Pechatnik.pdf",
        size=123456,
        order="2024",
        order_name="Mixed",
        is_pdf=True,
        creator="PrinectSignaStation 2021 (21.10)",
        is_signa=True,
        pages=analysis.pages,
        bureau="Pechatnik",
        warnings=("not made by Signa Station (Creator: none)",),
        error=None,
        rejected=False,
    )
    assert (analysis.plates, analysis.presses) == (6, ("Speedmaster", "Dominant"))
    assert analysis.pages_by_press == {"Speedmaster": [0], "Dominant": [1]}


def test_version_1_of_a_rejected_file_has_no_pages() -> None:
    rejected = {
        **V1,
        **{key: [] for key in ("plate_sizes_mm", "media_mm", "inks", "marks", "press")},
        **{key: [] for key in ("paper_mm", "paper_from", "content_box_mm")},
        "pages": 0,
        "plates": 0,
        "is_pdf": False,
        "error": "not a PDF: no %PDF- header in the first 1 KiB",
        "rejected": True,
    }
    analysis = Analysis.from_json(stored(rejected), version=1)
    assert analysis.pages == () and analysis.plates == 0
    assert analysis.rejected and analysis.error == rejected["error"]


def test_version_1_of_real_analyses_reads_as_they_were(analyses: list[Analysis]) -> None:
    for analysis in analyses:
        # Version 1 kept one text per mark name.
        one_per_name = tuple(
            replace(page, marks=tuple(dict(page.marks).items())) for page in analysis.pages
        )
        expected = replace(analysis, pages=one_per_name)
        assert Analysis.from_json(stored(version_1(analysis)), version=1) == expected


def test_version_2_marks_by_name_and_paper_from_the_content() -> None:
    page = {
        "media_mm": [1030.0, 770.0],
        "plate_mm": [1030, 770],
        "inks": ["Black"],
        "marks": {"Outputter": "Выведено: Korol", "CutMark_2mm": ""},
        "press": "Speedmaster",
        "paper_mm": [800.0, 600.0],
        "paper_from": "content",
        "content_box_mm": [100.0, 60.0, 900.0, 660.0],
    }
    data = {"file": "1_x_Korol.pdf", "size": 10, "pages": [page], "bureau": "Korol"}
    (read,) = Analysis.from_json(stored(data), version=2).pages
    assert read.marks == (("Outputter", "Выведено: Korol"), ("CutMark_2mm", ""))
    assert (read.paper_mm, read.paper_from) == (None, None)


def test_an_unknown_future_version_is_refused(analyses: list[Analysis]) -> None:
    data = stored(analyses[0].to_json())
    with pytest.raises(AsyncPdfError, match=str(ANALYSIS_VERSION + 1)):
        Analysis.from_json(data, version=ANALYSIS_VERSION + 1)
