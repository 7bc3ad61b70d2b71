"""The year's report figures and their CSV, from the store's rows and the config's presses:
plates, m², plates per press and cost per bureau per month, and a warning (never a silent gap)
for plates of a press the config does not know or does not price."""

from __future__ import annotations

import csv
import io

import pytest

from asyncpdf.config import Bureau, Press, Settings
from asyncpdf.reports.export import monthly_csv
from asyncpdf.reports.figures import NO_BUREAU, month_labels, year_figures
from asyncpdf.reports.totals import totals
from asyncpdf.store.history import PlateCount
from asyncpdf.store.reports import MonthlyInk, MonthlyPlates

SETTINGS = Settings(
    presses=(
        Press(name="Speedmaster", plate_mm=(1030, 770), gripper_mm=43, plate_cost=2.5),
        Press(name="Planeta", plate_mm=(1010, 820), gripper_mm=52),
    )
)
SPEEDMASTER_M2 = 1.030 * 0.770
PLANETA_M2 = 1.010 * 0.820
ROWS = (
    MonthlyPlates("2026-01", "Speedmaster", "Leonov", 10),
    # Marks may spell the press otherwise; it is the config's press all the same.
    MonthlyPlates("2026-01", "speedmaster", "Korol", 4),
    MonthlyPlates("2026-03", "Planeta", "Leonov", 8),
    MonthlyPlates("2026-03", "Heidelberg", "Korol", 5),
    MonthlyPlates("2026-12", "Speedmaster", None, 1),
)


def _months(**values: float) -> list[float]:
    """Twelve monthly values, zero but for those given as m01=..., m12=..."""
    return [values.get(f"m{month:02d}", 0) for month in range(1, 13)]


def test_the_years_figures_per_month_press_and_bureau() -> None:
    figures = year_figures(2026, ROWS, SETTINGS)
    assert figures.months == month_labels(2026)
    assert figures.months[0] == "2026-01" and figures.months[-1] == "2026-12"
    assert list(figures.plates) == _months(m01=14, m03=13, m12=1)
    assert list(figures.area_m2) == pytest.approx(
        _months(m01=14 * SPEEDMASTER_M2, m03=8 * PLANETA_M2, m12=SPEEDMASTER_M2)
    )
    assert figures.presses == ["Heidelberg", "Planeta", "Speedmaster"]
    assert {name: list(v) for name, v in figures.plates_by_press.items()} == {
        "Heidelberg": _months(m03=5),
        "Planeta": _months(m03=8),
        "Speedmaster": _months(m01=14, m12=1),
    }
    assert figures.bureaus == [NO_BUREAU, "Korol", "Leonov"]
    assert {name: list(v) for name, v in figures.cost_by_bureau.items()} == {
        NO_BUREAU: _months(m12=2.5),
        "Korol": _months(m01=10.0),
        "Leonov": _months(m01=25.0),
    }


def test_plates_the_config_cannot_measure_or_price_are_named_in_warnings() -> None:
    figures = year_figures(2026, ROWS, SETTINGS)
    assert figures.warnings == (
        "press Heidelberg is not in the config: its 5 plates count in plates but not in m² or"
        " cost; add it under presses",
        "press Planeta has no plate_cost: its 8 plates count in plates and m² but not in cost;"
        " set its plate_cost under presses",
    )
    one = year_figures(2026, [MonthlyPlates("2026-02", "Rapida", "Korol", 1)], SETTINGS)
    assert one.warnings[0].startswith("press Rapida is not in the config: its 1 plate count")


def test_the_json_rounds_m2_and_cost_and_totals_the_year() -> None:
    data = year_figures(2026, ROWS, SETTINGS).as_json()
    assert data["area_m2"][0] == round(14 * SPEEDMASTER_M2, 2) == 11.1
    assert data["totals"] == {
        "plates": 28,
        "area_m2": round(15 * SPEEDMASTER_M2 + 8 * PLANETA_M2, 2),
        "cost": 37.5,
    }
    assert set(data) == {
        "year",
        "months",
        "presses",
        "bureaus",
        "plates",
        "area_m2",
        "plates_by_press",
        "cost_by_bureau",
        "ink_m2_by_press",
        "totals",
        "warnings",
        "currency",
        "apart",
    }


def test_a_year_without_plates_is_twelve_zero_months() -> None:
    data = year_figures(2025, [], SETTINGS).as_json()
    assert data["months"] == list(month_labels(2025))
    assert data["plates"] == [0] * 12 and data["area_m2"] == [0.0] * 12
    assert data["presses"] == data["bureaus"] == data["warnings"] == []
    assert data["totals"] == {"plates": 0, "area_m2": 0.0, "cost": 0.0}


def test_the_csv_has_a_header_and_a_row_per_month() -> None:
    rows = [
        *ROWS,
        MonthlyPlates("2026-03", "Speedmaster", "Вонол «юг»", 2),
    ]
    text = monthly_csv(year_figures(2026, rows, SETTINGS))
    # A byte-order mark first, so Excel reads the names as UTF-8.
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert table[0] == [
        "month",
        "plates",
        "area_m2",
        "plates:Heidelberg",
        "plates:Planeta",
        "plates:Speedmaster",
        f"cost:{NO_BUREAU}",
        "cost:Korol",
        "cost:Leonov",
        "cost:Вонол «юг»",
    ]
    assert len(table) == 13 and [row[0] for row in table[1:]] == list(month_labels(2026))
    march = table[3]
    assert march[:3] == ["2026-03", "15", str(round(8 * PLANETA_M2 + 2 * SPEEDMASTER_M2, 2))]
    assert march[3:] == ["5", "8", "2", "0.0", "0.0", "0.0", "5.0"]
    assert table[2][1:] == ["0", "0.0", "0", "0", "0", "0.0", "0.0", "0.0", "0.0"]


def test_a_bureau_out_of_the_reports_is_shown_apart_and_costs_carry_the_currency() -> None:
    settings = Settings(
        presses=SETTINGS.presses,
        bureaus=(
            Bureau(name="Leonov", target="file:///srv/leonov"),
            Bureau(name="Admin", target="file:///srv/admin", in_reports=False),
        ),
        currency="EUR",
    )
    rows = (
        MonthlyPlates("2026-01", "Speedmaster", "Leonov", 10),
        MonthlyPlates("2026-01", "Speedmaster", "Admin", 100),
    )
    inks = (
        MonthlyInk("2026-01", "Speedmaster", "Leonov", "Cyan", 1.0),
        MonthlyInk("2026-01", "Speedmaster", "Admin", "Cyan", 9.0),
    )
    data = year_figures(2026, rows, settings, inks).as_json()
    assert data["totals"]["plates"] == 10 and data["totals"]["cost"] == 25.0
    assert data["ink_m2_by_press"] == {"Speedmaster": {"Cyan": _months(m01=1.0)}}
    assert list(data["cost_by_bureau"]) == ["Leonov"]
    assert data["plates_by_press"] == {"Speedmaster": _months(m01=10)}
    assert data["apart"] == [
        {"bureau": "Admin", "plates": 100, "area_m2": round(100 * SPEEDMASTER_M2, 2), "cost": 250.0}
    ]
    assert data["currency"] == "EUR"

    grid = totals(
        [PlateCount("Speedmaster", "Leonov", 10), PlateCount("Speedmaster", "Admin", 4)], settings
    )
    assert grid["plates"] == 10 and grid["cost"] == 25.0
    assert {b["bureau"]: b["in_reports"] for b in grid["by_bureau"]} == {
        "Admin": False,
        "Leonov": True,
    }
    assert grid["currency"] == "EUR"


def test_ink_use_per_press_and_ink_in_ink_order() -> None:
    inks = [
        MonthlyInk("2026-02", "Speedmaster", "Leonov", "PANTONE 185 C", 0.5),
        MonthlyInk("2026-02", "Speedmaster", "Leonov", "Cyan", 1.25),
        MonthlyInk("2026-05", "Speedmaster", None, "Cyan", 0.75),
        MonthlyInk("2026-05", "Dominant", "Leonov", "Black", 0.111),
    ]
    figures = year_figures(2026, ROWS, SETTINGS, inks)
    data = figures.as_json()["ink_m2_by_press"]
    assert list(data) == ["Dominant", "Speedmaster"]
    assert list(data["Speedmaster"]) == ["Cyan", "PANTONE 185 C"]
    assert data["Speedmaster"]["Cyan"] == _months(m02=1.25, m05=0.75)
    assert data["Dominant"]["Black"] == _months(m05=0.11)
    table = list(csv.reader(io.StringIO(monthly_csv(figures).removeprefix("\ufeff"))))
    assert table[0][-3:] == [
        "ink_m2:Dominant:Black",
        "ink_m2:Speedmaster:Cyan",
        "ink_m2:Speedmaster:PANTONE 185 C",
    ]
    assert table[2][-3:] == ["0.0", "1.25", "0.5"]
