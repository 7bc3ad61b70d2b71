"""Which box each page of the preview is cropped to."""

from __future__ import annotations

import pytest

from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.model import Analysis, PageAnalysis, SizeMM

GRIPPERS = {"Speedmaster": 43.0, "Dominant": 36.0}


def page(press: str | None, paper_mm: SizeMM | None, paper_from: str | None) -> PageAnalysis:
    """A Speedmaster-sized plate."""
    return PageAnalysis(
        media_mm=(1030.0, 770.0),
        plate_mm=(1030, 770),
        press=press,
        paper_mm=paper_mm,
        paper_from=paper_from,
    )


def analysis(*pages: PageAnalysis) -> Analysis:
    return Analysis(file="1_x_Korol.pdf", size=1, is_pdf=True, pages=pages, bureau="Korol")


def test_paper_from_the_mark_sits_on_the_gripper() -> None:
    crops, warnings, _ = crop_boxes_mm(analysis(page("Speedmaster", (900, 640), "mark")), GRIPPERS)
    assert crops == [(65.0, 43.0, 965.0, 683.0)]
    assert warnings == []


def test_without_a_paper_mark_the_preview_measures_the_content_and_says_so() -> None:
    data = analysis(
        page("Speedmaster", (900, 640), "mark"),
        page("Speedmaster", None, None),
        page(None, (900, 640), "mark"),
    )
    crops, warnings, _ = crop_boxes_mm(data, GRIPPERS)
    assert crops == [(65.0, 43.0, 965.0, 683.0), None, None]
    assert warnings == [
        "pages 2, 3: no mark gives the paper size and press: the preview is cut to what the "
        "page draws, colour bars and marks included"
    ]


def test_paper_larger_than_the_plate_is_clipped_with_a_warning() -> None:
    crops, warnings, _ = crop_boxes_mm(analysis(page("Speedmaster", (1100, 640), "mark")), GRIPPERS)
    assert crops[0] == pytest.approx((0, 43, 1030, 683))
    assert len(warnings) == 1 and warnings[0].startswith("page 1:")


def test_nonsense_paper_is_a_warning_not_a_crash() -> None:
    crops, warnings, _ = crop_boxes_mm(analysis(page("Speedmaster", (0, 0), "mark")), GRIPPERS)
    assert crops == [(0.0, 0.0, 1030.0, 770.0)]
    assert "page 1" in warnings[0]
