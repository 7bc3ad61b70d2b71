"""Which box each page of the preview is cropped to."""

from __future__ import annotations

import pytest

from asyncpdf.pipeline import crop_boxes_mm

GRIPPERS = {"Speedmaster": 43.0, "Dominant": 36.0}


def analysis(**pages: list[object]) -> dict[str, object]:
    return {
        "media_mm": [[1030.0, 770.0]] * len(pages["press"]),
        "content_box_mm": [],
        **pages,
    }


def test_paper_from_the_mark_sits_on_the_gripper() -> None:
    crops, warnings = crop_boxes_mm(
        analysis(press=["Speedmaster"], paper_mm=[[900, 640]], paper_from=["mark"]), GRIPPERS
    )
    assert crops == [(65.0, 43.0, 965.0, 683.0)]
    assert warnings == []


def test_without_a_paper_mark_the_content_box_or_the_whole_page() -> None:
    data = analysis(
        press=["Speedmaster", "Speedmaster"],
        paper_mm=[[800, 600], None],
        paper_from=["content", None],
    )
    data["content_box_mm"] = [[100, 50, 900, 650], None]
    crops, warnings = crop_boxes_mm(data, GRIPPERS)
    assert crops == [(100, 50, 900, 650), None]
    assert warnings == []


def test_paper_larger_than_the_plate_is_clipped_with_a_warning() -> None:
    crops, warnings = crop_boxes_mm(
        analysis(press=["Speedmaster"], paper_mm=[[1100, 640]], paper_from=["mark"]), GRIPPERS
    )
    assert crops[0] == pytest.approx((0, 43, 1030, 683))
    assert len(warnings) == 1 and warnings[0].startswith("page 1:")


def test_nonsense_paper_is_a_warning_not_a_crash() -> None:
    crops, warnings = crop_boxes_mm(
        analysis(press=["Speedmaster"], paper_mm=[[0, 0]], paper_from=["mark"]), GRIPPERS
    )
    assert crops == [None]
    assert "page 1" in warnings[0]
