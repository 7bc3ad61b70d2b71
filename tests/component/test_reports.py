"""The reports over HTTP, in-process: /api/reports and its CSV count the plates of finished,
not deleted, jobs per local month, press and bureau, with m² and cost from the config and a
warning for plates it cannot price; each chart is an SVG with a bar per month that has some."""

from __future__ import annotations

import csv
import io
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.reports.figures import month_labels
from asyncpdf.store.connection import Store
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import PRESSES, wait_for, write_config

Client = TestClient[web.Request, web.Application]
PRICES = {"Speedmaster": 3.0, "Planeta": 2.0, "Dominant": 0.0}
M2 = {press["name"]: press["plate_mm"][0] * press["plate_mm"][1] / 1e6 for press in PRESSES}
CHARTS = ("plates", "area", "plates-by-press", "cost-by-bureau")


@pytest.fixture
def moscow_time() -> Iterator[None]:
    """The server's local time three hours ahead of UTC (a POSIX zone: no tz database)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "MSK-3")
        time.tzset()
        yield
    time.tzset()


@pytest.fixture
async def priced(tmp_path: Path) -> AsyncIterator[Client]:
    """The app on a shop whose presses have a plate cost, but for Dominant."""
    presses = [{**press, "plate_cost": PRICES[press["name"]]} for press in PRESSES]
    app = create_app(load_settings(write_config(tmp_path, presses=presses)))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def _job(
    store: Store,
    created: datetime,
    bureau: str,
    plates: dict[str, int],
    *,
    state: str = "done",
    deleted: bool = False,
) -> None:
    """A finished job written straight into the database, received at local time `created`."""
    async with store.transaction():
        job_id = await store.jobs.create(f"{created:%Y%m%d-%H%M}_{bureau}.pdf")
        await store._db.execute(
            "UPDATE jobs SET state = ?, created_at = ?, bureau = ?, deleted_at = ? WHERE id = ?",
            (state, created.timestamp(), bureau, time.time() if deleted else None, job_id),
        )
        await store._db.executemany(
            "INSERT INTO job_plates (job_id, press, plates) VALUES (?, ?, ?)",
            [(job_id, press, count) for press, count in plates.items()],
        )


def _months(**values: float) -> list[float]:
    return [values.get(f"m{month:02d}", 0) for month in range(1, 13)]


async def _report(client: Client, year: int | None = None) -> dict[str, Any]:
    response = await client.get("/api/reports", params={"year": str(year)} if year else {})
    assert response.status == 200
    assert response.content_type == "application/json"
    return dict(await response.json())


async def _bars(client: Client, year: int, chart: str) -> list[str]:
    """The tooltips of the chart's bars."""
    response = await client.get(f"/reports/{year}/{chart}.svg")
    assert response.status == 200, chart
    assert response.content_type == "image/svg+xml" and response.charset == "utf-8"
    root = ET.fromstring(await response.text())
    rects = root.findall(".//{http://www.w3.org/2000/svg}rect")
    return [str(rect.findtext("{http://www.w3.org/2000/svg}title")) for rect in rects]


async def test_figures_csv_and_charts_of_a_year(moscow_time: None, priced: Client) -> None:
    store = priced.app[SERVICE].store
    await _job(store, datetime(2024, 3, 15, 12), "Leonov", {"Speedmaster": 8, "Planeta": 4})
    # 22:00 UTC on 31 March, but April in the server's local time.
    await _job(store, datetime(2024, 4, 1, 1), "Korol", {"Dominant": 6})
    await _job(store, datetime(2024, 3, 31, 23, 30), "Korol", {"Speedmaster": 2})
    # Not counted: failed, deleted, and the years around (near midnight, local time).
    await _job(store, datetime(2024, 5, 10), "Korol", {"Speedmaster": 100}, state="failed")
    await _job(store, datetime(2024, 5, 10), "Korol", {"Speedmaster": 50}, deleted=True)
    await _job(store, datetime(2023, 12, 31, 23, 30), "Vonoel", {"Rapida": 3})
    await _job(store, datetime(2025, 1, 1, 1), "Leonov", {"Speedmaster": 1})

    report = await _report(priced, 2024)
    assert report["year"] == 2024 and report["years"] == [2023, 2024, 2025]
    assert report["months"] == list(month_labels(2024))
    assert report["plates"] == _months(m03=14, m04=6)
    march_m2 = 10 * M2["Speedmaster"] + 4 * M2["Planeta"]
    assert report["area_m2"] == _months(m03=round(march_m2, 2), m04=round(6 * M2["Dominant"], 2))
    assert report["presses"] == ["Dominant", "Planeta", "Speedmaster"]
    assert report["plates_by_press"] == {
        "Dominant": _months(m04=6),
        "Planeta": _months(m03=4),
        "Speedmaster": _months(m03=10),
    }
    assert report["bureaus"] == ["Korol", "Leonov"]
    assert report["cost_by_bureau"] == {"Korol": _months(m03=6.0), "Leonov": _months(m03=32.0)}
    assert report["totals"] == {
        "plates": 20,
        "area_m2": round(march_m2 + 6 * M2["Dominant"], 2),
        "cost": 38.0,
    }
    assert report["warnings"] == [
        "press Dominant has no plate_cost: its 6 plates count in plates and m² but not in cost;"
        " set its plate_cost under presses"
    ]
    before = await _report(priced, 2023)
    assert before["plates_by_press"] == {"Rapida": _months(m12=3)}
    assert before["area_m2"] == _months() and before["totals"]["cost"] == 0
    assert before["warnings"][0].startswith("press Rapida is not in the config: its 3 plates")

    response = await priced.get("/api/reports.csv", params={"year": "2024"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="asyncpdf-report-2024.csv"')
    table = list(csv.reader(io.StringIO((await response.text()).removeprefix("\ufeff"))))
    assert table[0] == [
        "month",
        "plates",
        "area_m2",
        "plates:Dominant",
        "plates:Planeta",
        "plates:Speedmaster",
        "cost:Korol",
        "cost:Leonov",
    ]
    assert table[3] == ["2024-03", "14", str(round(march_m2, 2)), "0", "4", "10", "6.0", "32.0"]
    assert len(table) == 13

    assert await _bars(priced, 2024, "plates") == ["2024-03 Plates: 14", "2024-04 Plates: 6"]
    assert len(await _bars(priced, 2024, "area")) == 2
    assert await _bars(priced, 2024, "plates-by-press") == [
        "2024-03 Planeta: 4",
        "2024-03 Speedmaster: 10",
        "2024-04 Dominant: 6",
    ]
    assert await _bars(priced, 2024, "cost-by-bureau") == [
        "2024-03 Korol: 6",
        "2024-03 Leonov: 32",
    ]
    for chart in CHARTS:
        assert await _bars(priced, 2031, chart) == []


async def test_a_finished_job_counts_this_year(priced: Client, tmp_path: Path) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=5)
    shutil.copy(sample, priced.app[SERVICE].settings.paths.hotfolder / sample.name)

    async def done() -> dict[str, Any] | None:
        jobs = (await (await priced.get("/api/jobs")).json())["jobs"]
        return jobs[0] if jobs and jobs[0]["state"] == "done" else None

    job = await wait_for(done, 60, "the job to be done")
    pages = (await (await priced.get(f"/api/jobs/{job['id']}")).json())["analysis"]["pages"]
    plates: dict[str, int] = {}
    for page in pages:
        plates[page["press"]] = plates.get(page["press"], 0) + page["plates"]

    report = await _report(priced)
    month = datetime.now().month - 1
    assert report["year"] == datetime.now().year and report["years"] == [report["year"]]
    assert {press: values[month] for press, values in report["plates_by_press"].items()} == plates
    assert report["totals"]["plates"] == sum(plates.values())
    area = sum(count * M2[press] for press, count in plates.items())
    assert report["totals"]["area_m2"] == round(area, 2)
    cost = sum(count * PRICES[press] for press, count in plates.items())
    assert report["cost_by_bureau"] == {
        job["bureau"]: [round(cost, 2) if i == month else 0.0 for i in range(12)]
    }
    # Ink use: every plate's sheet area × its coverage, per press and ink.
    artefacts = (await (await priced.get(f"/api/jobs/{job['id']}")).json())["artefacts"]
    expected: dict[str, dict[str, float]] = {}
    for page, sheet, coverage in zip(
        pages, artefacts["sheets_mm"], artefacts["ink_coverage"], strict=True
    ):
        assert list(coverage) == page["inks"]  # each plate of the page, in ink order
        by_ink = expected.setdefault(page["press"], {})
        for ink, percent in coverage.items():
            by_ink[ink] = by_ink.get(ink, 0.0) + sheet[0] * sheet[1] / 1e6 * percent / 100
    used = {
        press: {ink: values[month] for ink, values in inks.items()}
        for press, inks in report["ink_m2_by_press"].items()
    }
    assert used == {
        press: {ink: round(m2, 2) for ink, m2 in inks.items()} for press, inks in expected.items()
    }
    assert any(m2 > 0 for inks in used.values() for m2 in inks.values())


@pytest.mark.parametrize("year", ["abc", "1969", "20245", "", "2024.0"])
async def test_a_year_that_cannot_be_is_a_bad_request(client: Client, year: str) -> None:
    for path in ("/api/reports", "/api/reports.csv"):
        response = await client.get(path, params={"year": year})
        assert response.status == 400, (path, year)
        error = (await response.json())["error"]
        assert error["code"] == "bad_request" and "year must be" in error["message"]


async def test_an_unknown_chart_is_not_found(client: Client) -> None:
    for path in ("/reports/2024/pie.svg", "/reports/0999/plates.svg", "/reports/24/plates.svg"):
        response = await client.get(path)
        assert response.status == 404, path
