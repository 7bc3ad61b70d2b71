"""One middleware turns every error under /api/ into `{"error": {"code", "message"}}` with
its HTTP status; elsewhere aiohttp's own pages stand.

aiohttp's server logs each request it cannot parse (bytes no HTTP client sends) at ERROR with a
traceback, though it answers 400 and the fault is the client's: through `REQUEST_LOG` such a
request is one INFO line."""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from asyncpdf.errors import AsyncPdfError

log = logging.getLogger(__name__)


def _unreadable_in_one_line(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
        reason = " ".join((exc.message or type(exc).__name__).split()[:12])
        record.msg = (
            f"{record.getMessage()}: unreadable request ({ascii(reason)[1:-1]}), answered 400"
        )
        record.args = None
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


#: The logger the web server is given (AppRunner's `logger`).
REQUEST_LOG = logging.getLogger("asyncpdf.web.requests")
REQUEST_LOG.addFilter(_unreadable_in_one_line)


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
        response = _body(code, exc.text or exc.reason, exc.status)
        # A 405 says which methods would do.
        if hdrs.ALLOW in exc.headers:
            response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        return response
    except Exception:
        log.exception("%s %s", request.method, request.path)
        return _body("internal", "internal error; the service log has the details", 500)
