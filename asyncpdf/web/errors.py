"""One middleware turns every error under /api/ into `{"error": {"code", "message"}}` with
its HTTP status; elsewhere aiohttp's own pages stand."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from asyncpdf.errors import AsyncPdfError

log = logging.getLogger(__name__)


def _body(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except AsyncPdfError as exc:
        return _body(exc.code, str(exc), exc.http_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return _body(code, exc.text or exc.reason, exc.status)
    except Exception:
        log.exception("%s %s", request.method, request.path)
        return _body("internal", "internal error; the service log has the details", 500)
