"""`GET /api/openapi.json`: the API described for scripts, in OpenAPI 3.1.

This is the path table: each operation, its parameters and the answers it can give. The
shapes of bodies are not written here: `components.schemas` is generated from the models in
`schemas.py`. Tests compare the paths and methods with the app's routes (a route added without
its description fails the suite), hold every operation's real answers to the document, and
run schemathesis against it. It covers every route under /api/, the probes and /ws; not the
pages, their static files or the report charts (pictures for the page: /api/reports has their
figures).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from asyncpdf import __version__
from asyncpdf.web.schemas import component_schemas

Schema = dict[str, Any]

_JSON = "application/json"
_CHANGE_SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _accepted(schema: Schema, description: str) -> Schema:
    return {
        **_json(schema, description),
        "headers": {"Location": {"schema": _STRING, "description": "/api/jobs/ID"}},
    }


def _file(media_type: str, description: str) -> Schema:
    return {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "contentMediaType": media_type}}},
    }


_INT = {"type": "integer"}
_STRING = {"type": "string"}
_DAY = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


RESPONSES: dict[str, Schema] = {
    "BadRequest": _error("A parameter or the body is wrong; the message says which and how."),
    "Unauthorized": {
        "description": "Credentials are needed, or those given are not right (JSON under "
        "/api/, plain text elsewhere).",
        "headers": {"WWW-Authenticate": {"schema": {"const": 'Basic realm="asyncpdf"'}}},
        "content": {_JSON: {"schema": _ref("Error")}, "text/plain": {"schema": _STRING}},
    },
    "Forbidden": _error(
        "Refused whatever the credentials: sent from another site's page (its Origin is "
        "not listed in web.origins), or no users and tokens are configured yet."
    ),
    "NotFound": _error("No such job, or it has no such file."),
    "Conflict": _error("The job is not in a state that allows this."),
    "TooLarge": _error("The upload is larger than the service takes."),
    "NoSpace": _error("The disk is nearly full (disk.min_free_mb); try again later."),
    "TooManyFailedLogins": {
        "description": "Too many wrong credentials from this address lately: wait and try again.",
        "headers": {"Retry-After": {"schema": _INT, "description": "seconds"}},
        "content": {_JSON: {"schema": _ref("Error")}, "text/plain": {"schema": _STRING}},
    },
}


def _parameter(name: str, where: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


PARAMETERS: dict[str, Schema] = {
    "JobId": _parameter("id", "path", {"type": "integer", "minimum": 0}, "the job", required=True),
    "Since": _parameter(
        "since",
        "query",
        _DAY,
        "first day (YYYY-MM-DD, local time); without since and until, the last 60 days; "
        "empty for no lower bound",
    ),
    "Until": _parameter("until", "query", _DAY, "last day (YYYY-MM-DD, local time), inclusive"),
    "Bureau": _parameter("bureau", "query", _STRING, "jobs for this bureau"),
    "Press": _parameter("press", "query", _STRING, "jobs with plates for this press"),
    "State": _parameter(
        "state",
        "query",
        _array(_ref("JobState")),
        "jobs in any of these states (repeat the parameter)",
        style="form",
        explode=True,
    ),
    "Name": _parameter(
        "name",
        "query",
        _STRING,
        "names containing this, ignoring case; a leading '-' excludes names containing the rest",
    ),
    "Limit": _parameter(
        "limit", "query", {"type": "integer", "minimum": 0, "default": 50}, "at most 500"
    ),
    "Offset": _parameter(
        "offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "jobs to skip"
    ),
    "Year": _parameter(
        "year",
        "query",
        {"type": "integer", "minimum": 1970, "maximum": 9999},
        "four digits; this year (local time) when not given",
    ),
}

_FILTERS = [
    _ref(name, "parameters") for name in ("Since", "Until", "Bureau", "Press", "State", "Name")
]
_JOB = [_ref("JobId", "parameters")]
_STATUS_OF = {
    "BadRequest": "400",
    "Unauthorized": "401",
    "Forbidden": "403",
    "NotFound": "404",
    "Conflict": "409",
    "TooLarge": "413",
    "NoSpace": "507",
    "TooManyFailedLogins": "429",
}


def _responses(ok: dict[str, Schema], errors: tuple[str, ...]) -> dict[str, Schema]:
    return {**ok, **{_STATUS_OF[name]: _ref(name, "responses") for name in errors}}


def _read(
    operation_id: str,
    summary: str,
    ok: Schema,
    *,
    status: str = "200",
    parameters: list[Schema] | None = None,
    errors: tuple[str, ...] = (),
    more: dict[str, Schema] | None = None,
) -> Schema:
    """A read: open, unless the config protects reading (`web.auth.read`, or
    `web.auth.probes` for the probes)."""
    responses = {status: ok, **(more or {})}
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters or [],
        "responses": _responses(responses, (*errors, "Unauthorized", "TooManyFailedLogins")),
    }


def _change(
    operation_id: str,
    summary: str,
    status: str,
    ok: Schema,
    *,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    errors: tuple[str, ...] = (),
) -> Schema:
    """A change: always needs credentials, and is refused from another site's page."""
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "security": _CHANGE_SECURITY,
        "parameters": parameters or [],
        "responses": _responses(
            {status: ok}, (*errors, "Unauthorized", "Forbidden", "TooManyFailedLogins")
        ),
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


_UPLOAD = {
    "required": True,
    "content": {"multipart/form-data": {"schema": _ref("Upload")}},
}

PATHS: dict[str, Schema] = {
    "/api/status": {
        "get": _read(
            "status",
            "What the service is doing: jobs per state, queue, targets, hotfolder",
            _json(_ref("Status"), "The service's state"),
        )
    },
    "/api/jobs": {
        "get": _read(
            "listJobs",
            "The history, newest first, filtered, a page at a time, with totals",
            _json(_ref("JobList"), "One page of jobs"),
            parameters=[*_FILTERS, _ref("Limit", "parameters"), _ref("Offset", "parameters")],
            errors=("BadRequest",),
        ),
        "post": _change(
            "submitJob",
            "Upload a PDF: the same pipeline as a file dropped in the hotfolder",
            "202",
            _accepted(_ref("Accepted"), "Taken; follow `url` for its progress"),
            body=_UPLOAD,
            errors=("BadRequest", "TooLarge", "NoSpace"),
        ),
    },
    "/api/jobs.csv": {
        "get": _read(
            "exportJobs",
            "The filtered history as CSV, every row",
            _file("text/csv", "The jobs, one a row"),
            parameters=_FILTERS,
            errors=("BadRequest",),
        )
    },
    "/api/jobs/{id}": {
        "get": _read(
            "getJob",
            "A job with its analysis, previews, deliveries, notifications and log",
            _json(_ref("JobDetail"), "The job"),
            parameters=_JOB,
            errors=("NotFound",),
        ),
        "delete": _change(
            "deleteJob",
            "Delete a finished job's record and previews (never its original file)",
            "200",
            _json(_ref("Deleted"), "Deleted"),
            parameters=_JOB,
            errors=("NotFound", "Conflict"),
        ),
    },
    "/api/jobs/{id}/retry": {
        "post": _change(
            "retryJob",
            "Send the job's failed deliveries again",
            "200",
            _json(_ref("Retried"), "The deliveries sent again"),
            parameters=_JOB,
            errors=("NotFound", "Conflict"),
        )
    },
    "/api/jobs/{id}/rerun": {
        "post": _change(
            "rerunJob",
            "Run a finished job again as a new job (after a config fix)",
            "202",
            _accepted(_ref("Rerun"), "The new job"),
            parameters=_JOB,
            errors=("NotFound", "Conflict"),
        )
    },
    "/api/jobs/{id}/{what}": {
        "get": _read(
            "getJobPreview",
            "The job's proof, thumbnail or press preview",
            {
                "description": "The image or PDF",
                "content": {
                    "image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}},
                    "application/pdf": {
                        "schema": {"type": "string", "contentMediaType": "application/pdf"}
                    },
                },
            },
            parameters=[
                *_JOB,
                _parameter(
                    "what",
                    "path",
                    {"enum": ["proof.jpg", "thumb.jpg", "preview.pdf"]},
                    "which file",
                    required=True,
                ),
                _parameter("press", "query", _STRING, "preview.pdf only: this press's own"),
            ],
            errors=("NotFound",),
        )
    },
    "/api/jobs/{id}/original": {
        "get": _read(
            "getJobOriginal",
            "The file as it came in, while it is kept",
            _file("application/pdf", "The original file (its type by its name)"),
            parameters=_JOB,
            errors=("NotFound",),
        )
    },
    "/api/log": {
        "get": _read(
            "recentLog",
            "The latest log lines of every job",
            _json(_ref("Log"), "Newest first"),
            parameters=[
                _parameter(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 0, "default": 200},
                    "at most 500",
                )
            ],
            errors=("BadRequest",),
        )
    },
    "/api/line": {
        "get": _read(
            "getLine",
            "Import mode, each target's health and who is signed in",
            _json(_ref("Line"), "The line"),
        )
    },
    "/api/import-mode": {
        "get": _read(
            "getImportMode",
            "Whether new files are recorded as history without being sent",
            _json(_ref("ImportMode"), "The switch"),
        ),
        "put": _change(
            "setImportMode",
            "Switch import mode on or off (kept across restarts)",
            "200",
            _json(_ref("ImportMode"), "The switch as now set"),
            body={"required": True, "content": {_JSON: {"schema": _ref("ImportMode")}}},
            errors=("BadRequest",),
        ),
    },
    "/api/reports": {
        "get": _read(
            "getReports",
            "The year's monthly figures",
            _json(_ref("Reports"), "The figures"),
            parameters=[_ref("Year", "parameters")],
            errors=("BadRequest",),
        )
    },
    "/api/reports.csv": {
        "get": _read(
            "exportReports",
            "The year's monthly figures as CSV",
            _file("text/csv", "One row a month"),
            parameters=[_ref("Year", "parameters")],
            errors=("BadRequest",),
        )
    },
    "/api/openapi.json": {
        "get": _read("openapi", "This document", _json({"type": "object"}, "OpenAPI 3.1"))
    },
    "/healthz": {"get": _read("healthz", "The process answers", _json(_ref("Health"), "Alive"))},
    "/readyz": {
        "get": _read(
            "readyz",
            "Each part's own health",
            _json(_ref("Ready"), "Every part works"),
            more={"503": _json(_ref("Ready"), "A part is failing (named in `failing`)")},
        )
    },
    "/metrics": {
        "get": _read(
            "metrics",
            "Prometheus metrics",
            {
                "description": "Text exposition format",
                "content": {"text/plain": {"schema": _STRING}},
            },
        )
    },
    "/ws": {
        "get": _read(
            "live",
            "Live events over a websocket",
            {
                "description": "Upgraded. The server sends hello, the replay, then each "
                "event as it commits; a client too far behind is closed with code 1013 "
                "and reconnects with `after`.",
                "content": {_JSON: {"schema": _ref("LiveMessage")}},
            },
            status="101",
            parameters=[
                _parameter(
                    "tail",
                    "query",
                    {"type": "integer", "minimum": 0},
                    "first connection: replay the last this many events (at most 5000)",
                ),
                _parameter(
                    "after",
                    "query",
                    {"type": "integer", "minimum": 0},
                    "reconnection: every event after this number, or a reset",
                ),
            ],
            more={
                "400": _error("Not a websocket handshake, or `after` or `tail` not a number"),
                "403": _error("Opened from another site's page"),
                "503": _error("Too many live clients (web.max_websockets)"),
            },
        )
    },
}

DOCUMENT: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "asyncpdf",
        "version": __version__,
        "description": "Prepress hotfolder service. JSON is UTF-8 text; times are ISO 8601 in "
        'UTC; errors are `{"error": {"code", "message"}}` with a 4xx status. A change (POST, '
        "PUT, DELETE) needs credentials, Basic for a user of web.auth.users or Bearer for a "
        "token of web.auth.tokens; reading needs them only with web.auth.read: protected, the "
        "probes only with web.auth.probes: protected.",
    },
    # Reads: open by default, credentials when the config protects them.
    "security": [{}, *_CHANGE_SECURITY],
    "paths": PATHS,
    "components": {
        "schemas": component_schemas(),
        "responses": RESPONSES,
        "parameters": PARAMETERS,
        "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic", "description": "web.auth.users"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "web.auth.tokens"},
        },
    },
}
# Serialised once: the document never changes while the service runs.
_BODY = json.dumps(DOCUMENT, ensure_ascii=False)


async def openapi(request: web.Request) -> web.Response:
    return web.Response(text=_BODY, content_type=_JSON)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
