"""The monthly figures and the filtered history as CSV, with the numbers the API gives.

Each starts with a byte-order mark, so Excel reads the Cyrillic names as UTF-8; a cell a
spreadsheet would take for a formula (a file name starting with "=") is quoted with "'".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from asyncpdf.domain.records import JobRow
from asyncpdf.reports.figures import YearFigures

BOM = "\ufeff"
HISTORY_COLUMNS = (
    "id",
    "order",
    "name",
    "created_at",
    "state",
    "bureau",
    "presses",
    "complects",
    "plates",
    "inks",
    "warnings",
    "deliveries",
    "error",
)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


def history_csv(rows: Iterable[JobRow]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(HISTORY_COLUMNS)
    for row in rows:
        job = row.as_json()
        deliveries = "; ".join(f"{d['kind']} {d['state']}" for d in job["deliveries"])
        values = {
            **job,
            "presses": " ".join(job["presses"]),
            "inks": " ".join(job["inks"]),
            "deliveries": deliveries,
        }
        writer.writerow([_cell(values[column]) for column in HISTORY_COLUMNS])
    return out.getvalue()


def monthly_csv(figures: YearFigures) -> str:
    """A header row, then one row per month: month, plates, area_m2, plates:<press> for each
    press, cost:<bureau> for each bureau."""
    data = figures.as_json()
    presses, costs = data["plates_by_press"], data["cost_by_bureau"]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(
        [
            "month",
            "plates",
            "area_m2",
            *(f"plates:{name}" for name in presses),
            *(f"cost:{name}" for name in costs),
        ]
    )
    for i, month in enumerate(data["months"]):
        writer.writerow(
            [
                month,
                data["plates"][i],
                data["area_m2"][i],
                *(values[i] for values in presses.values()),
                *(values[i] for values in costs.values()),
            ]
        )
    return out.getvalue()
