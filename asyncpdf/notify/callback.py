"""API callbacks: the job's row (as `GET /api/jobs` gives it) POSTed as JSON to the URL its
uploader gave, once the job has ended. Sent from the outbox like every notice, so it is
retried, and a failed callback never changes the job's result."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from asyncpdf.errors import BadRequest
from asyncpdf.notify.transport import failure, post

CALLBACK = "callback"
MAX_URL = 2000


def check_callback_url(url: str) -> str:
    """The URL as given, if it can be called back; else BadRequest saying why."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("callback_url must be an http:// or https:// URL with a host")
    if len(url) > MAX_URL or not url.isprintable():
        raise BadRequest(f"callback_url must be printable and at most {MAX_URL} characters")
    return url


def shown_url(url: str) -> str:
    """The URL without its query, fragment and user part, which may hold a token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def call_back(
    session: aiohttp.ClientSession, url: str, job: dict[str, Any], timeout_s: float
) -> None:
    what = f"callback {shown_url(url)}"
    body = json.dumps({"job": job}, ensure_ascii=False).encode()
    answer = await post(
        session,
        url,
        body,
        what=what,
        timeout_s=timeout_s,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    if not answer.ok:
        raise failure(what, answer.status, answer.text, retry_after_s=answer.retry_after_s)
