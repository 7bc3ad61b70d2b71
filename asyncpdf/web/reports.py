"""The report figures over HTTP: as JSON and CSV under /api/, and as SVG charts the reports
page shows (`/reports/{year}/{chart}.svg`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from aiohttp import web

from asyncpdf.errors import BadRequest
from asyncpdf.reports.export import monthly_csv
from asyncpdf.reports.figures import YearFigures, year_figures
from asyncpdf.web.charts import bar_chart
from asyncpdf.web.files import content_disposition
from asyncpdf.web.jsonbody import dumps
from asyncpdf.web.keys import SERVICE

# Years whose local months SQLite and the charts can name (times start at 1970).
FIRST_YEAR, LAST_YEAR = 1970, 9999
SVG = "image/svg+xml"

#: A chart's title (after the year), its series and its unit.
Chart = tuple[str, Mapping[str, Sequence[float]], str]
CHARTS: Mapping[str, Callable[[YearFigures], Chart]] = {
    "plates": lambda f: ("Plates per month", {"Plates": f.plates}, "plates"),
    "area": lambda f: ("Plate area per month", {"Area": f.area_m2}, "m²"),
    "plates-by-press": lambda f: ("Plates per month by press", f.plates_by_press, "plates"),
    "cost-by-bureau": lambda f: ("Plate cost per month by bureau", f.cost_by_bureau, "cost"),
}


def _year(raw: str | None) -> int:
    """The year asked for; this one (local time) when none is."""
    if raw is None:
        return datetime.now().year
    if not re.fullmatch(r"\d{4}", raw) or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise BadRequest(f"year must be a year from {FIRST_YEAR} to {LAST_YEAR}, not {raw!r}")
    return int(raw)


async def _figures(request: web.Request, year: int) -> YearFigures:
    service = request.app[SERVICE]
    rows = await service.report_rows(year)
    inks = await service.report_inks(year)
    return year_figures(year, rows, service.settings, inks)


async def report(request: web.Request) -> web.Response:
    year = _year(request.query.get("year"))
    figures = await _figures(request, year)
    years = await request.app[SERVICE].report_years()
    return web.json_response({**figures.as_json(), "years": years}, dumps=dumps)


async def report_csv(request: web.Request) -> web.Response:
    year = _year(request.query.get("year"))
    figures = await _figures(request, year)
    return web.Response(
        text=monthly_csv(figures),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": content_disposition("attachment", f"asyncpdf-report-{year}.csv")
        },
    )


async def chart(request: web.Request) -> web.Response:
    # Outside /api/ errors are aiohttp's own pages: a chart or year that cannot be is a 404.
    draw = CHARTS.get(request.match_info["chart"])
    year = int(request.match_info["year"])
    if draw is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise web.HTTPNotFound(text=f"no chart {request.match_info['chart']!r} for {year}")
    figures = await _figures(request, year)
    title, series, unit = draw(figures)
    svg = bar_chart(f"{title}, {year}", figures.months, series, unit)
    return web.Response(text=svg, content_type=SVG, charset="utf-8")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/reports", report)
    app.router.add_get("/api/reports.csv", report_csv)
    app.router.add_get(r"/reports/{year:\d{4}}/{chart}.svg", chart)
