"""The JSON API: thin views over the store."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import Notification
from asyncpdf.errors import BadRequest
from asyncpdf.notify import CALLBACK, shown_url
from asyncpdf.reports.export import history_csv
from asyncpdf.reports.totals import totals
from asyncpdf.store.jobs import MAX_ID
from asyncpdf.web import files, filters, uploads
from asyncpdf.web.files import content_disposition
from asyncpdf.web.filters import history_filter
from asyncpdf.web.jsonbody import json_response
from asyncpdf.web.keys import SERVICE
from asyncpdf.web.schemas import ImportMode
from asyncpdf.web.uploads import accepted

MAX_PAGE = 500
#: Rows of a CSV export at most (years of a busy shop).
MAX_CSV_ROWS = 200_000
WAITING = (JobState.RECEIVED, JobState.QUEUED)


def _int_query(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative, not {value}")
    return min(value, maximum)


async def list_jobs(request: web.Request) -> web.Response:
    """The history grid: the filtered jobs, a page of them, how many in all and the totals."""
    service = request.app[SERVICE]
    limit = _int_query(request, "limit", 50, MAX_PAGE)
    offset = _int_query(request, "offset", 0, MAX_ID)
    where = history_filter(request.query, date.today())
    rows, total = await service.history(where, limit=limit, offset=offset)
    counts = await service.plate_counts(where)
    return json_response(
        {
            "jobs": [row.as_json() for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "filters": filters.as_json(where),
            "totals": totals(counts, service.settings),
        },
    )


async def jobs_csv(request: web.Request) -> web.Response:
    """The filtered history, every row of it, as CSV."""
    where = history_filter(request.query, date.today())
    service = request.app[SERVICE]
    rows, _ = await service.history(where, limit=MAX_CSV_ROWS)
    plates = await service.plates_of([row.header.id for row in rows])
    return web.Response(
        text=history_csv(rows, service.settings, plates, filters.described(where)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": content_disposition("attachment", "asyncpdf-jobs.csv")},
    )


async def job_detail(request: web.Request) -> web.Response:
    detail = await request.app[SERVICE].job_detail(int(request.match_info["id"]))
    job = detail.job
    return json_response(
        {
            "job": job.as_json(),
            "analysis": job.analysis.to_json() if job.analysis else None,
            "artefacts": job.artefacts.to_json() if job.artefacts else None,
            "deliveries": [d.as_json() for d in detail.deliveries],
            "notifications": [_shown(n) for n in detail.notifications],
            "log": [line.as_json() for line in detail.log],
            "rerun_by": detail.rerun_by,
        },
    )


def _shown(notification: Notification) -> dict[str, Any]:
    """A callback's URL as logs show it: without the user part and query that may hold a
    token (the API is readable without credentials)."""
    found = notification.as_json()
    if notification.channel == CALLBACK:
        found["address"] = shown_url(notification.address)
    return found


async def retry(request: web.Request) -> web.Response:
    kinds = await request.app[SERVICE].retry(int(request.match_info["id"]))
    return json_response({"retried": kinds})


async def rerun(request: web.Request) -> web.Response:
    old = int(request.match_info["id"])
    new = await request.app[SERVICE].rerun(old)
    return accepted(new, rerun_of=old)


async def delete_job(request: web.Request) -> web.Response:
    job_id = int(request.match_info["id"])
    await request.app[SERVICE].delete(job_id)
    return json_response({"deleted": job_id})


async def recent_log(request: web.Request) -> web.Response:
    limit = _int_query(request, "limit", 200, MAX_PAGE)
    lines = await request.app[SERVICE].recent_log(limit)
    return json_response({"log": [line.as_json() for line in lines]})


async def status(request: web.Request) -> web.Response:
    """What the service is doing: jobs per state, the queue, the targets, and what the
    hotfolder holds that is not being worked on, and why."""
    return json_response(await request.app[SERVICE].status())


async def get_import_mode(request: web.Request) -> web.Response:
    return json_response({"import_mode": await request.app[SERVICE].import_mode()})


async def put_import_mode(request: web.Request) -> web.Response:
    """Body {"import_mode": true|false}; kept in the database across restarts."""
    try:
        # Strict: "yes" or 1 is not taken for true.
        body = ImportMode.model_validate_json(await request.read(), strict=True)
    except ValidationError:
        raise BadRequest(
            'the body must be {"import_mode": true} or {"import_mode": false}'
        ) from None
    await request.app[SERVICE].set_import_mode(body.import_mode)
    return json_response(body.model_dump())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_post("/api/jobs", uploads.upload)
    app.router.add_get("/api/jobs.csv", jobs_csv)
    app.router.add_get(r"/api/jobs/{id:\d+}", job_detail)
    app.router.add_delete(r"/api/jobs/{id:\d+}", delete_job)
    app.router.add_post(r"/api/jobs/{id:\d+}/retry", retry)
    app.router.add_post(r"/api/jobs/{id:\d+}/rerun", rerun)
    app.router.add_get("/api/log", recent_log)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/import-mode", get_import_mode)
    app.router.add_put("/api/import-mode", put_import_mode)
    files.setup(app)
