"""`GET /api/openapi.json`: the API described for scripts, in OpenAPI 3.1.

Written by hand beside the views, not made from them at run time; a test compares its paths
and methods with the app's routes, so a route added without its description fails the suite.
It covers every route under /api/, the probes and /ws; not the pages, their static files or
the report charts (pictures for the page: /api/reports has their figures).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from asyncpdf import __version__

Schema = dict[str, Any]

_JSON = "application/json"
_CHANGE_SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], **extra: Any) -> Schema:
    """An object that always carries every property listed (a missing value is null)."""
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


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
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}
_MAYBE_INT = {"type": ["integer", "null"]}
_MAYBE_NUMBER = {"type": ["number", "null"]}
_MAYBE_STRING = {"type": ["string", "null"]}
_STRINGS = _array(_STRING)
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601, UTC"}
_SIZE_MM = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}
_PIXELS = {"type": ["array", "null"], "items": _INT, "minItems": 2, "maxItems": 2}
_MONTHLY_INTS = {"type": "array", "items": _INT, "minItems": 12, "maxItems": 12}
_MONTHLY_NUMBERS = {"type": "array", "items": _NUMBER, "minItems": 12, "maxItems": 12}
_DAY = {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {"error": _object({"code": _STRING, "message": _STRING})},
        description="Every 4xx or 5xx answer under /api/; `message` says what to do.",
    ),
    "JobState": {
        "type": "string",
        "enum": [
            "received",
            "queued",
            "analysing",
            "delivering",
            "done",
            "failed",
            "rejected",
            "duplicate",
        ],
    },
    "DeliveryState": {
        "type": "string",
        "enum": ["pending", "sending", "waiting", "sent", "failed"],
    },
    "Job": _object(
        {
            "id": _INT,
            "name": _STRING,
            "state": _ref("JobState"),
            "sha256": _MAYBE_STRING,
            "size": _MAYBE_INT,
            "created_at": _TIME,
            "updated_at": _TIME,
            "finished_at": _MAYBE_TIME,
            "error": _MAYBE_STRING,
            "warnings": {"type": "integer", "description": "warning lines in the job's log"},
            "imported": {"type": "boolean", "description": "recorded in import mode, not sent"},
            "duplicate_of": _MAYBE_INT,
            "rerun_of": _MAYBE_INT,
            "order": _MAYBE_STRING,
            "bureau": _MAYBE_STRING,
            "presses": _STRINGS,
            "complects": {"type": ["integer", "null"], "description": "pages"},
            "plates": _MAYBE_INT,
            "inks": {**_STRINGS, "description": "every ink; spot inks are those not CMYK"},
            "subfolder": {**_MAYBE_STRING, "description": "the hotfolder's sub-folder"},
            "original_removed_at": {
                **_MAYBE_TIME,
                "description": "when retention removed the original from done/",
            },
        },
        description="A job's record, without its deliveries.",
    ),
    "DeliverySummary": _object(
        {
            "kind": {"type": "string", "pattern": "^(bureau|press:.+)$"},
            "state": _ref("DeliveryState"),
            "attempts": _INT,
            "error": _MAYBE_STRING,
        }
    ),
    "JobRow": {
        "description": "A job as the grid and the live `job` event show it.",
        "allOf": [
            _ref("Job"),
            _object(
                {
                    "deliveries": _array(_ref("DeliverySummary")),
                    "links": _object(
                        {"page": _STRING, "thumb": _MAYBE_STRING, "proof": _MAYBE_STRING}
                    ),
                }
            ),
        ],
    },
    "Totals": _object(
        {
            "plates": _INT,
            "cost": _NUMBER,
            "by_press": _array(_object({"press": _STRING, "plates": _INT, "cost": _NUMBER})),
            "by_bureau": _array(_object({"bureau": _STRING, "plates": _INT, "cost": _NUMBER})),
            "warnings": {**_STRINGS, "description": "presses without a plate_cost"},
        },
        description="Over every filtered job, not only this page; cost = plates × plate_cost.",
    ),
    "JobList": _object(
        {
            "jobs": _array(_ref("JobRow")),
            "total": {"type": "integer", "description": "jobs matching the filters"},
            "limit": _INT,
            "offset": _INT,
            "filters": _object(
                {
                    "since": _MAYBE_STRING,
                    "until": _MAYBE_STRING,
                    "bureau": _MAYBE_STRING,
                    "press": _MAYBE_STRING,
                    "state": _array(_ref("JobState")),
                    "name": _MAYBE_STRING,
                },
                description="The filters applied, defaults filled in.",
            ),
            "totals": _ref("Totals"),
        }
    ),
    "Page": _object(
        {
            "media_mm": _SIZE_MM,
            "plate_mm": _SIZE_MM,
            "inks": _STRINGS,
            "plates": _INT,
            "marks": _array(_object({"name": _STRING, "text": _STRING})),
            "press": _MAYBE_STRING,
            "paper_mm": {**_SIZE_MM, "type": ["array", "null"]},
            "paper_from": {"enum": ["mark", None]},
            "rotate": {"enum": [0, 90, 180, 270]},
        }
    ),
    "Analysis": _object(
        {
            "file": _STRING,
            "size": _INT,
            "order": _MAYBE_STRING,
            "order_name": _STRING,
            "is_pdf": _BOOL,
            "creator": _MAYBE_STRING,
            "is_signa": _BOOL,
            "page_count": _INT,
            "plates": _INT,
            "presses": _STRINGS,
            "bureau": _MAYBE_STRING,
            "pages": _array(_ref("Page")),
            "warnings": _STRINGS,
            "error": _MAYBE_STRING,
            "rejected": _BOOL,
        }
    ),
    "Artefacts": _object(
        {
            "dir": _STRING,
            "preview": _MAYBE_STRING,
            "press_previews": {"type": "object", "additionalProperties": _STRING},
            "proof": _MAYBE_STRING,
            "proofs": {**_STRINGS, "description": "every sheet's proof, in page order"},
            "thumb": _MAYBE_STRING,
            "preview_bytes": _INT,
            "proof_px": _PIXELS,
            "thumb_px": _PIXELS,
            "ink_coverage": {
                "type": ["array", "null"],
                "items": {"type": "object", "additionalProperties": _NUMBER},
                "description": "per page: ink → coverage in percent, in ink order (C, M, Y, K, "
                "then the spots as the file lists them)",
            },
            "sheets_mm": {
                **_array(_SIZE_MM),
                "description": "per page: the preview page (the paper sheet) as shown, in mm",
            },
            "average_coverage": {
                "type": "object",
                "additionalProperties": _NUMBER,
                "description": "ink → its mean coverage over the job's plates that carry it",
            },
            "warnings": _STRINGS,
            "notes": {
                **_STRINGS,
                "description": "choices the file left open, e.g. the gripper edge",
            },
        }
    ),
    "Delivery": _object(
        {
            "job_id": _INT,
            "kind": _STRING,
            "target": _STRING,
            "state": _ref("DeliveryState"),
            "attempts": _INT,
            "next_attempt_at": _MAYBE_TIME,
            "error": _MAYBE_STRING,
            "bytes": _MAYBE_INT,
            "seconds": _MAYBE_NUMBER,
            "remote_name": _MAYBE_STRING,
        },
        description="One file to one target, and its receipt.",
    ),
    "Notification": _object(
        {
            "id": _INT,
            "job_id": _INT,
            "channel": _STRING,
            "address": _STRING,
            "state": _STRING,
            "attempts": _INT,
            "next_attempt_at": _MAYBE_TIME,
            "error": _MAYBE_STRING,
            "sent_at": _MAYBE_TIME,
        }
    ),
    "LogLine": _object({"job_id": _INT, "ts": _TIME, "level": _STRING, "message": _STRING}),
    "JobDetail": _object(
        {
            "job": _ref("Job"),
            "analysis": _nullable(_ref("Analysis")),
            "artefacts": _nullable(_ref("Artefacts")),
            "deliveries": _array(_ref("Delivery")),
            "notifications": _array(_ref("Notification")),
            "log": _array(_ref("LogLine")),
            "rerun_by": {**_array(_INT), "description": "jobs that ran this one again"},
        }
    ),
    "Accepted": _object(
        {
            "id": _INT,
            "url": {"type": "string", "description": "/api/jobs/ID"},
            "page": {"type": "string", "description": "/jobs/ID"},
        }
    ),
    "Rerun": {"allOf": [_ref("Accepted"), _object({"rerun_of": _INT})]},
    "Retried": _object({"retried": {**_STRINGS, "description": "the kinds sent again"}}),
    "Deleted": _object({"deleted": _INT}),
    "ImportMode": _object({"import_mode": _BOOL}),
    "Log": _object({"log": _array(_ref("LogLine"))}),
    "TargetHealth": _object(
        {
            "files_sent": _INT,
            "bytes_sent": _INT,
            "last_sent_at": _MAYBE_TIME,
            "failures_in_a_row": _INT,
            "last_error": _MAYBE_STRING,
        }
    ),
    "Status": _object(
        {
            "version": _STRING,
            "uptime_s": _NUMBER,
            "jobs": {
                "type": "object",
                "propertyNames": _ref("JobState"),
                "additionalProperties": _INT,
                "description": "jobs per state",
            },
            "queue_depth": _INT,
            "oldest_waiting_s": _MAYBE_NUMBER,
            "import_mode": _BOOL,
            "targets": {"type": "object", "additionalProperties": _ref("TargetHealth")},
            "watcher_last_event": _MAYBE_TIME,
            "hotfolder": {"type": "string", "description": "where to drop files"},
            "not_taken": _array(_object({"name": _STRING, "reason": _STRING})),
            "failed_claims": _array(_object({"name": _STRING, "error": _STRING})),
            "counters": _object({"waiting": _INT, "in_work": _INT, "failed_today": _INT}),
            "disk": {
                "type": "object",
                "additionalProperties": _object({"path": _STRING, "free_mb": _NUMBER}),
                "description": "free space of the spool's and the database's file systems",
            },
            "holding": {
                **_MAYBE_STRING,
                "description": "why new files wait in the hotfolder (disk nearly full)",
            },
        }
    ),
    "Reports": _object(
        {
            "year": _INT,
            "months": {**_STRINGS, "description": "the 12 months, YYYY-MM"},
            "presses": _STRINGS,
            "bureaus": _STRINGS,
            "plates": _MONTHLY_INTS,
            "area_m2": _MONTHLY_NUMBERS,
            "plates_by_press": {"type": "object", "additionalProperties": _MONTHLY_INTS},
            "cost_by_bureau": {"type": "object", "additionalProperties": _MONTHLY_NUMBERS},
            "ink_m2_by_press": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": _MONTHLY_NUMBERS,
                },
                "description": "press → ink (in ink order) → m² of solid ink a month: plates × "
                "sheet area × coverage",
            },
            "totals": _object({"plates": _INT, "area_m2": _NUMBER, "cost": _NUMBER}),
            "warnings": _STRINGS,
            "years": {**_array(_INT), "description": "the years that have finished jobs"},
        },
        description="A year's figures of finished jobs, each list one value a month in the "
        "order of `months` (local time).",
    ),
    "Health": _object({"status": {"const": "alive"}, "version": _STRING}),
    "Ready": _object(
        {
            "status": {"enum": ["ready", "not ready"]},
            "failing": _STRINGS,
            "parts": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["state", "detail"],
                    "properties": {"state": {"enum": ["ok", "failing"]}, "detail": _STRING},
                },
            },
        }
    ),
    "LiveMessage": {
        "description": "One message on /ws.",
        "oneOf": [
            _object({"type": {"const": "hello"}, "seq": _INT}, description="the last number"),
            _object(
                {"type": {"const": "reset"}, "seq": _INT},
                description="what was missed is no longer kept: load the data again",
            ),
            _object(
                {
                    "seq": _INT,
                    "type": {"const": "log"},
                    "job_id": _INT,
                    "ts": _TIME,
                    "level": _STRING,
                    "message": _STRING,
                }
            ),
            _object({"seq": _INT, "type": {"const": "job"}, "job": _ref("JobRow")}),
            _object({"seq": _INT, "type": {"const": "deleted"}, "job_id": _INT}),
        ],
    },
}


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
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "contentMediaType": "application/pdf",
                        "description": "the PDF; its name is cleaned (no folders, control "
                        "characters or leading dots, at most 200 bytes) and must end in .pdf",
                    },
                    "callback_url": {
                        "type": "string",
                        "format": "uri",
                        "description": "http(s) URL that is sent the job's JSON when it "
                        "ends (retried; a failed callback never changes the job's result)",
                    },
                },
            },
            "encoding": {"file": {"contentType": "application/pdf"}},
        }
    },
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
                _parameter(
                    "sheet",
                    "query",
                    {"type": "integer", "minimum": 1, "default": 1},
                    "proof.jpg only: the proof of this sheet (page of the preview), from 1",
                ),
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
        "schemas": SCHEMAS,
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
