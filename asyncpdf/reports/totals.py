"""The history grid's totals bar: plates of the filtered, delivered jobs per press and per
bureau, with their cost (plates × the press's `plate_cost`). A press the config does not
price is counted in plates and named in a warning, never costed silently at nothing. A bureau
with `in_reports: false` is listed (marked so) but kept out of the totals and the presses'."""

from __future__ import annotations

from typing import Any

from asyncpdf.config import Settings
from asyncpdf.reports.figures import NO_BUREAU
from asyncpdf.store.history import PlateCount


def totals(counts: list[PlateCount], settings: Settings) -> dict[str, Any]:
    by_press: dict[str, list[float]] = {}
    by_bureau: dict[str, list[float]] = {}
    unpriced: set[str] = set()
    apart: set[str] = set()
    for count in counts:
        press = settings.press(count.press)
        name = press.name if press else count.press
        price = press.plate_cost if press else 0.0
        if not price:
            unpriced.add(name)
        cost = count.plates * price
        bureau = settings.bureau(count.bureau) if count.bureau else None
        counted = bureau is None or bureau.in_reports
        if not counted:
            apart.add(count.bureau or NO_BUREAU)
        tables = [(by_bureau, count.bureau or NO_BUREAU)] + ([(by_press, name)] if counted else [])
        for table, key in tables:
            entry = table.setdefault(key, [0, 0.0])
            entry[0] += count.plates
            entry[1] += cost
    return {
        "plates": int(sum(plates for plates, _ in by_press.values())),
        "cost": round(sum(cost for _, cost in by_press.values()), 2),
        "by_press": [
            {"press": name, "plates": int(plates), "cost": round(cost, 2)}
            for name, (plates, cost) in sorted(by_press.items())
        ],
        "by_bureau": [
            {
                "bureau": name,
                "plates": int(plates),
                "cost": round(cost, 2),
                "in_reports": name not in apart,
            }
            for name, (plates, cost) in sorted(by_bureau.items())
        ],
        "currency": settings.currency,
        "warnings": [
            f"press {name} has no plate_cost in the config: its plates are not in the cost"
            for name in sorted(unpriced)
        ],
    }
