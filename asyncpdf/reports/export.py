"""The monthly figures and the filtered history as CSV, with the numbers the API gives.

Each starts with a byte-order mark, so Excel reads the Cyrillic names as UTF-8; a cell a
spreadsheet would take for a formula (a file name starting with "=") is quoted with "'". The
history's first row says which filters it was made with; its times are the server's local
time to the second, and each delivered job has its plate cost.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from asyncpdf.config import Settings
from asyncpdf.domain.lifecycle import JobState
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
    "cost",
    "error",
)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


def local_time(ts: float) -> str:
    """A time as the server's clock shows it, to the second: 2026-03-15 09:30:00."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def job_cost(plates: Sequence[tuple[str, int]], settings: Settings) -> float:
    """Plates × each press's `plate_cost` (a press the config does not price costs nothing)."""
    total = 0.0
    for name, count in plates:
        press = settings.press(name)
        total += count * (press.plate_cost if press else 0.0)
    return round(total, 2)


def history_csv(
    rows: Iterable[JobRow],
    settings: Settings,
    plates: Mapping[int, Sequence[tuple[str, int]]],
    filters: str,
) -> str:
    """The jobs of `rows`; `plates` gives each job's plates per press, `filters` what the
    rows were chosen by ("since 2026-03-01, bureau Leo")."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([_cell(f"filters: {filters}")])
    cost_column = f"cost ({settings.currency})" if settings.currency else "cost"
    writer.writerow([cost_column if c == "cost" else c for c in HISTORY_COLUMNS])
    for row in rows:
        job = row.as_json()
        deliveries = "; ".join(f"{d['kind']} {d['state']}" for d in job["deliveries"])
        done = row.header.state is JobState.DONE
        values = {
            **job,
            "created_at": local_time(row.header.created_at),
            "presses": " ".join(job["presses"]),
            "inks": " ".join(job["inks"]),
            "deliveries": deliveries,
            "cost": job_cost(plates.get(row.header.id, ()), settings) if done else "",
        }
        writer.writerow([_cell(values[column]) for column in HISTORY_COLUMNS])
    return out.getvalue()


def monthly_csv(figures: YearFigures) -> str:
    """A header row, then one row per month: month, plates, area_m2, plates:<press> for each
    press, cost:<bureau> for each bureau, ink_m2:<press>:<ink> for each press's inks."""
    data = figures.as_json()
    presses, costs = data["plates_by_press"], data["cost_by_bureau"]
    inks = {
        f"ink_m2:{press}:{ink}": values
        for press, by_ink in data["ink_m2_by_press"].items()
        for ink, values in by_ink.items()
    }
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
            *inks,
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
                *(values[i] for values in inks.values()),
            ]
        )
    return out.getvalue()
