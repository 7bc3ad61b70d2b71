"""The reports' SVG bar charts: well-formed documents with a bar per value above zero, heights
in proportion, stacked series, round ticks, every name escaped, and an empty year that still
draws its axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from asyncpdf.reports.figures import month_labels
from asyncpdf.web.charts import EMPTY, PALETTE, bar_chart, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}
MONTHS = month_labels(2026)


def _months(**values: float) -> list[float]:
    return [values.get(f"m{month:02d}", 0) for month in range(1, 13)]


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:rect", NS)


def _tip(rect: ET.Element) -> str:
    title = rect.find("svg:title", NS)
    assert title is not None and title.text is not None
    return title.text


def test_one_bar_per_month_above_zero_in_proportion() -> None:
    root = _parse(
        bar_chart("Plates, 2026", MONTHS, {"Plates": _months(m02=10, m03=20, m12=5)}, "plates")
    )
    assert root.get("role") == "img" and root.get("width") is None
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root[0].tag.endswith("title") and root[0].text == "Plates, 2026"
    bars = _bars(root)
    assert [_tip(bar) for bar in bars] == [
        "2026-02 Plates: 10",
        "2026-03 Plates: 20",
        "2026-12 Plates: 5",
    ]
    heights = [float(bar.get("height", "")) for bar in bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(heights[0] / 2, abs=0.02)
    bottoms = {round(float(bar.get("y", "")) + float(bar.get("height", "")), 1) for bar in bars}
    assert len(bottoms) == 1, "every bar stands on the axis"
    # One series needs no legend, and its month labels are the months' numbers.
    assert root.findall(".//svg:circle", NS) == []
    texts = [text.text for text in root.findall("svg:text", NS)]
    assert texts[-12:] == [f"{month:02d}" for month in range(1, 13)]


def test_several_series_stack_with_a_legend_in_distinct_colours() -> None:
    series = {
        "Speedmaster": _months(m03=120, m04=30),
        "Planeta": _months(m03=40),
        "Dominant": _months(m04=10, m05=7),
    }
    root = _parse(bar_chart("By press", MONTHS, series, "plates"))
    bars = _bars(root)
    assert len(bars) == 5
    by_tip = {_tip(bar): bar for bar in bars}
    assert set(by_tip) == {
        "2026-03 Speedmaster: 120",
        "2026-03 Planeta: 40",
        "2026-04 Speedmaster: 30",
        "2026-04 Dominant: 10",
        "2026-05 Dominant: 7",
    }
    lower, upper = by_tip["2026-03 Speedmaster: 120"], by_tip["2026-03 Planeta: 40"]
    assert float(upper.get("y", "")) + float(upper.get("height", "")) == pytest.approx(
        float(lower.get("y", "")), abs=0.02
    )
    assert float(lower.get("height", "")) == pytest.approx(
        3 * float(upper.get("height", "")), abs=0.02
    )
    assert by_tip["2026-04 Dominant: 10"].get("fill") == by_tip["2026-05 Dominant: 7"].get("fill")
    assert (lower.get("fill"), upper.get("fill")) == PALETTE[:2]
    legend = root.findall(".//svg:circle", NS)
    assert [circle.get("fill") for circle in legend] == list(PALETTE[:3])
    names = {text.text for text in root.findall("svg:text", NS)}
    assert {"Speedmaster", "Planeta", "Dominant"} <= names


def test_every_name_is_escaped() -> None:
    hostile = "<Planeta & Co>"
    svg = bar_chart(
        f"Cost & <b>{hostile}</b>", MONTHS, {hostile: _months(m01=1), "x": _months()}, "<€>"
    )
    assert "<Planeta" not in svg and "<b>" not in svg and "<€>" not in svg
    root = _parse(svg)
    assert root[0].text == f"Cost & <b>{hostile}</b>"
    assert _tip(_bars(root)[0]) == f"2026-01 {hostile}: 1"
    texts = {text.text for text in root.findall("svg:text", NS)}
    assert hostile in texts and "<€>" in texts


def test_an_all_zero_year_draws_its_axis_and_says_so() -> None:
    for series in ({"Plates": _months()}, {}):
        svg = bar_chart("Plates, 2030", MONTHS, series, "plates")
        root = _parse(svg)
        assert _bars(root) == []
        assert "nan" not in svg.lower() and "inf" not in svg.lower()
        texts = [text.text for text in root.findall("svg:text", NS)]
        assert EMPTY in texts and "0" in texts and "12" in texts


def test_ticks_are_round_and_reach_the_top() -> None:
    assert nice_ticks(0) == [0]
    assert nice_ticks(97) == [0, 25, 50, 75, 100]
    assert nice_ticks(155) == [0, 50, 100, 150, 200]
    assert nice_ticks(1200) == [0, 500, 1000, 1500]
    assert nice_ticks(0.9) == [0, 0.25, 0.5, 0.75, 1]
    assert nice_ticks(1, whole=True) == [0, 1]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]


def test_a_series_must_have_a_value_per_label() -> None:
    with pytest.raises(ValueError, match="'Plates' has 3 values for 12 labels"):
        bar_chart("Plates", MONTHS, {"Plates": [1, 2, 3]}, "plates")
