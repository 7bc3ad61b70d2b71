"""The JSON API: thin views over the store."""

from __future__ import annotations

import functools
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from asyncpdf import __version__
from asyncpdf.errors import BadRequest
from asyncpdf.jobs.lifecycle import JobState
from asyncpdf.pdf.analysis import shown_name
from asyncpdf.store.jobs import MAX_ID
from asyncpdf.web import files
from asyncpdf.web.keys import SERVICE

MAX_PAGE = 500
WAITING = (JobState.RECEIVED, JobState.QUEUED)
# Names are often Cyrillic: readable as they are, not as \u escapes.
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


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
    limit = _int_query(request, "limit", 50, MAX_PAGE)
    offset = _int_query(request, "offset", 0, MAX_ID)
    jobs = await request.app[SERVICE].store.jobs.page(limit=limit, offset=offset)
    return web.json_response(
        {"jobs": [job.as_json() for job in jobs], "limit": limit, "offset": offset}
    )


async def job_detail(request: web.Request) -> web.Response:
    store = request.app[SERVICE].store
    job = await store.jobs.get(int(request.match_info["id"]))
    return web.json_response(
        {
            "job": job.as_json(),
            "analysis": job.analysis.to_json() if job.analysis else None,
            "artefacts": job.artefacts.to_json() if job.artefacts else None,
            "deliveries": [d.as_json() for d in await store.deliveries.of_job(job.id)],
            "notifications": [n.as_json() for n in await store.outbox.of_job(job.id)],
            "log": [line.as_json() for line in await store.log.of_job(job.id)],
        }
    )


async def recent_log(request: web.Request) -> web.Response:
    limit = _int_query(request, "limit", 200, MAX_PAGE)
    lines = await request.app[SERVICE].store.log.recent(limit)
    return web.json_response({"log": [line.as_json() for line in lines]})


async def status(request: web.Request) -> web.Response:
    """What the service is doing: jobs per state, the queue, the targets, and what the
    hotfolder holds that is not being worked on, and why."""
    service = request.app[SERVICE]
    watcher = service.watcher
    not_taken = watcher.not_taken if watcher else {}
    failed = watcher.failed_claims if watcher else {}
    now = time.time()
    counts = await service.store.jobs.count_by_state()
    waiting = await service.store.jobs.in_states(WAITING)
    oldest = min((job.created_at for job in waiting), default=None)
    return web.json_response(
        {
            "version": __version__,
            "uptime_s": round(now - service.started_at, 3),
            "jobs": {state.value: count for state, count in counts.items()},
            "queue_depth": service.runner.queue.qsize(),
            "oldest_waiting_s": round(max(now - oldest, 0.0), 3) if oldest is not None else None,
            "import_mode": await service.runner.import_mode(),
            "targets": service.scheduler.targets.as_json(),
            "watcher_last_event": _iso(watcher.last_event_at if watcher else None),
            "hotfolder": str(service.settings.paths.hotfolder),
            "not_taken": [
                {"name": shown_name(Path(name)), "reason": reason}
                for name, reason in sorted(not_taken.items())
            ],
            "failed_claims": [
                {"name": shown_name(Path(name)), "error": error}
                for name, error in sorted(failed.items())
            ],
        },
        dumps=_dumps,
    )


async def get_import_mode(request: web.Request) -> web.Response:
    return web.json_response({"import_mode": await request.app[SERVICE].runner.import_mode()})


async def put_import_mode(request: web.Request) -> web.Response:
    """Body {"import_mode": true|false}; kept in the database across restarts."""
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest('the body must be JSON: {"import_mode": true} or false') from None
    on = body.get("import_mode") if isinstance(body, dict) else None
    if not isinstance(on, bool):
        raise BadRequest('the body must be {"import_mode": true} or {"import_mode": false}')
    await request.app[SERVICE].runner.set_import_mode(on)
    return web.json_response({"import_mode": on})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_get(r"/api/jobs/{id:\d+}", job_detail)
    app.router.add_get("/api/log", recent_log)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/import-mode", get_import_mode)
    app.router.add_put("/api/import-mode", put_import_mode)
    files.setup(app)
