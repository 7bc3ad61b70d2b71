"""A year's figures per month: plates, m² of plate, plates per press, plate cost per bureau and
ink use per press (m² of solid ink per ink: plates × sheet area × coverage).

A bureau with `in_reports: false` (a test bureau) is kept out of all of them and shown apart,
with its own plates, m² and cost for the year. Nothing is guessed: a press the config does not
know counts in plates only, and a press with no `plate_cost` in plates and m² only;
`warnings` names each such press and what to change, so a total that looks low says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncpdf.config import Settings
from asyncpdf.pdf.inks import ordered
from asyncpdf.store.reports import MonthlyInk, MonthlyPlates

MONTHS = 12
#: Where plates of jobs whose bureau is not recorded are counted.
NO_BUREAU = "(no bureau)"
#: Decimals of m² and cost in the API and the CSV.
DECIMALS = 2
_MM2_PER_M2 = 1_000_000


def month_labels(year: int) -> tuple[str, ...]:
    return tuple(f"{year:04d}-{month:02d}" for month in range(1, MONTHS + 1))


def _rounded(values: Iterable[float]) -> list[float]:
    return [round(value, DECIMALS) for value in values]


def _plates(count: int) -> str:
    return f"{count} plate{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class YearFigures:
    """One year's figures, each a list of 12 monthly values in the order of `months`."""

    year: int
    months: tuple[str, ...]
    plates: tuple[int, ...]
    area_m2: tuple[float, ...]
    #: Press (as the config names it) → plates per month; presses by name.
    plates_by_press: Mapping[str, tuple[int, ...]]
    #: Bureau → plate cost per month; bureaus by name.
    cost_by_bureau: Mapping[str, tuple[float, ...]]
    warnings: tuple[str, ...]
    #: Bureaus kept out of the figures (`in_reports: false`) → their year's plates, m², cost.
    apart: Mapping[str, tuple[int, float, float]] = field(default_factory=dict)
    #: The config's `currency`, shown beside costs.
    currency: str = ""
    #: Press → ink → m² of solid ink per month; presses by name, inks in ink order.
    ink_m2_by_press: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)

    @property
    def presses(self) -> list[str]:
        return list(self.plates_by_press)

    @property
    def bureaus(self) -> list[str]:
        return list(self.cost_by_bureau)

    def as_json(self) -> dict[str, Any]:
        """The figures as the API gives them, m² and cost rounded to DECIMALS."""
        cost = sum(sum(values) for values in self.cost_by_bureau.values())
        return {
            "year": self.year,
            "months": list(self.months),
            "presses": self.presses,
            "bureaus": self.bureaus,
            "plates": list(self.plates),
            "area_m2": _rounded(self.area_m2),
            "plates_by_press": {name: list(v) for name, v in self.plates_by_press.items()},
            "cost_by_bureau": {name: _rounded(v) for name, v in self.cost_by_bureau.items()},
            "ink_m2_by_press": {
                press: {ink: _rounded(values) for ink, values in inks.items()}
                for press, inks in self.ink_m2_by_press.items()
            },
            "totals": {
                "plates": sum(self.plates),
                "area_m2": round(sum(self.area_m2), DECIMALS),
                "cost": round(cost, DECIMALS),
            },
            "warnings": list(self.warnings),
            "currency": self.currency,
            "apart": [
                {
                    "bureau": name,
                    "plates": plates,
                    "area_m2": round(area, DECIMALS),
                    "cost": round(cost, DECIMALS),
                }
                for name, (plates, area, cost) in sorted(self.apart.items())
            ],
        }


def ink_by_press(
    months: Sequence[str], rows: Iterable[MonthlyInk], settings: Settings
) -> dict[str, dict[str, tuple[float, ...]]]:
    """Press → ink → m² per month of `months`; presses by name, inks in ink order. A bureau
    with `in_reports: false` counts here no more than in the plates."""
    index = {month: i for i, month in enumerate(months)}
    found: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        bureau = settings.bureau(row.bureau) if row.bureau else None
        if bureau is not None and not bureau.in_reports:
            continue
        by_ink = found.setdefault(row.press, {})
        by_ink.setdefault(row.ink, [0.0] * len(months))[index[row.month]] += row.area_m2
    return {
        press: {ink: tuple(found[press][ink]) for ink in ordered(found[press])}
        for press in sorted(found)
    }


def year_figures(
    year: int,
    rows: Iterable[MonthlyPlates],
    settings: Settings,
    ink_rows: Iterable[MonthlyInk] = (),
) -> YearFigures:
    """The figures of `year` from its rows (each of a month of that year)."""
    months = month_labels(year)
    index = {month: i for i, month in enumerate(months)}
    plates, area = [0] * MONTHS, [0.0] * MONTHS
    by_press: dict[str, list[int]] = {}
    by_bureau: dict[str, list[float]] = {}
    unknown: dict[str, int] = {}
    unpriced: dict[str, int] = {}
    apart: dict[str, list[float]] = {}
    for row in rows:
        i = index[row.month]
        press = settings.press(row.press)
        name = press.name if press else row.press
        bureau = settings.bureau(row.bureau) if row.bureau else None
        if bureau is not None and not bureau.in_reports:
            kept = apart.setdefault(bureau.name, [0, 0.0, 0.0])
            kept[0] += row.plates
            if press is not None:
                kept[1] += row.plates * press.plate_mm[0] * press.plate_mm[1] / _MM2_PER_M2
                kept[2] += row.plates * press.plate_cost
            continue
        plates[i] += row.plates
        by_press.setdefault(name, [0] * MONTHS)[i] += row.plates
        cost = by_bureau.setdefault(row.bureau or NO_BUREAU, [0.0] * MONTHS)
        if press is None:
            unknown[name] = unknown.get(name, 0) + row.plates
            continue
        width, height = press.plate_mm
        area[i] += row.plates * width * height / _MM2_PER_M2
        if press.plate_cost:
            cost[i] += row.plates * press.plate_cost
        else:
            unpriced[name] = unpriced.get(name, 0) + row.plates
    warnings = [
        f"press {name} is not in the config: its {_plates(count)} count in plates but not in"
        " m² or cost; add it under presses"
        for name, count in sorted(unknown.items())
    ] + [
        f"press {name} has no plate_cost: its {_plates(count)} count in plates and m² but not"
        " in cost; set its plate_cost under presses"
        for name, count in sorted(unpriced.items())
    ]
    return YearFigures(
        year=year,
        months=months,
        plates=tuple(plates),
        area_m2=tuple(area),
        plates_by_press={name: tuple(by_press[name]) for name in sorted(by_press)},
        cost_by_bureau={name: tuple(by_bureau[name]) for name in sorted(by_bureau)},
        warnings=tuple(warnings),
        apart={name: (int(p), a, c) for name, (p, a, c) in apart.items()},
        currency=settings.currency,
        ink_m2_by_press=ink_by_press(months, ink_rows, settings),
    )
