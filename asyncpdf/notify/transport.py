"""The one way channels talk HTTP: a POST with a timeout whose failures become NotifyErrors
that name the channel and recipient, never the URL (a Telegram URL holds the bot token), and
whose answers have every secret the request carried blotted out."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp

from asyncpdf.errors import NotifyError

#: Enough of an answer for its status and reason; a channel's answers are small.
MAX_ANSWER_BYTES = 64 * 1024
DETAIL_CHARS = 200


@dataclass(frozen=True)
class Answer:
    status: int
    #: The body as JSON, or None when it is not JSON.
    data: Any
    #: The start of the body on one line, to quote in an error.
    text: str
    #: From a `Retry-After: <seconds>` header.
    retry_after_s: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes | Mapping[str, str],
    *,
    what: str,
    timeout_s: float,
    secrets: Collection[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST `body` (bytes as they are, a mapping as a form) to `url` and return the answer,
    whatever its status; raise a transient NotifyError when there is none. `what` names the
    other end in messages ("Telegram chat 42"); `secrets` are blotted out of the answer."""
    try:
        async with session.post(
            url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            # A redirect could carry an auth header elsewhere; the config must name the place.
            allow_redirects=False,
        ) as response:
            raw = await response.content.read(MAX_ANSWER_BYTES)
            return _answer(response.status, response.headers, raw, secrets)
    except TimeoutError:
        problem = f"{what} did not answer within {timeout_s:g} s"
    except aiohttp.ClientConnectorCertificateError:
        problem = f"cannot connect to {what}: its TLS certificate is not trusted"
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        problem = f"cannot connect to {what}: {reason}"
    except aiohttp.ClientError as exc:
        problem = f"the exchange with {what} broke off ({type(exc).__name__})"
    # Raised here, not in a handler: aiohttp's errors quote the URL, which may hold a token,
    # and must not ride along as the __context__ of ours.
    raise NotifyError(problem)


def failure(
    what: str, status: int, detail: str, *, hint: str = "", retry_after_s: float | None = None
) -> NotifyError:
    """The error for an answer that is not a success. Permanent for what repeating cannot
    change: a redirect, or a 4xx other than 408 (timeout) and 429 (too many requests)."""
    permanent = 300 <= status < 500 and status not in (408, 429)
    message = f"{what} answered HTTP {status}" + (f": {detail}" if detail else "")
    if retry_after_s is not None:
        message += f"; it asks to wait {retry_after_s:g} s"
    if hint:
        message += f"; {hint}"
    return NotifyError(message, permanent=permanent, retry_after_s=retry_after_s)


def _answer(
    status: int, headers: Mapping[str, str], raw: bytes, secrets: Collection[str]
) -> Answer:
    text = raw.decode("utf-8", "replace")
    # A server may echo the request back (a debugging endpoint, an error page).
    for secret in secrets:
        # An answer may quote the request as it was sent: form- or URL-encoded too.
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            if form:
                text = text.replace(form, "***")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    line = " ".join(text.split())
    retry_after = headers.get("Retry-After", "")
    return Answer(
        status=status,
        data=data,
        text=line[:DETAIL_CHARS],
        retry_after_s=float(retry_after) if retry_after.isdigit() else None,
    )
