"""Webhooks: the job as JSON, POSTed to a URL, optionally with an auth header and signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

import aiohttp

from asyncpdf.errors import NotifyError
from asyncpdf.notify.notice import Notice
from asyncpdf.notify.settings import WebhookSettings
from asyncpdf.notify.transport import failure, post

SIGNATURE_HEADER = "X-Asyncpdf-Signature"


def body_of(notice: Notice) -> bytes:
    """The exact bytes sent, and signed."""
    return json.dumps(notice.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """The signature header's value: what a receiver recomputes with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    def __init__(self, hooks: Iterable[WebhookSettings], timeout_s: float) -> None:
        self._hooks = {hook.label: hook for hook in hooks}
        self._timeout_s = timeout_s

    async def send(self, session: aiohttp.ClientSession, notice: Notice, address: str) -> None:
        what = f"webhook {address}"
        hook = self._hooks.get(address)
        if hook is None:
            raise NotifyError(f"{what} is no longer in notify.webhooks", permanent=True)
        body = body_of(notice)
        headers = {"Content-Type": "application/json"}
        secrets: list[str] = []
        if hook.auth_header is not None and hook.auth_value is not None:
            secrets.append(hook.auth_value.get_secret_value())
            headers[hook.auth_header] = secrets[-1]
        if hook.secret is not None:
            secrets.append(hook.secret.get_secret_value())
            headers[SIGNATURE_HEADER] = signature(body, secrets[-1])
        answer = await post(
            session,
            hook.url,
            body,
            what=what,
            timeout_s=self._timeout_s,
            secrets=secrets,
            headers=headers,
        )
        if not answer.ok:
            raise failure(what, answer.status, answer.text, retry_after_s=answer.retry_after_s)
