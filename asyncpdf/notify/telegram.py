"""Telegram: a message from the shop's bot (Bot API sendMessage, HTML parse mode)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from asyncpdf.errors import NotifyError
from asyncpdf.notify.messages import telegram_text
from asyncpdf.notify.notice import Notice
from asyncpdf.notify.settings import TelegramSettings
from asyncpdf.notify.transport import Answer, failure, post

_WRONG_TOKEN = "the bot token is wrong: check notify.telegram.token"
_HINTS = {
    401: _WRONG_TOKEN,
    404: _WRONG_TOKEN,
    403: "the bot may not write to this chat: add it to the chat, or unblock it",
}


class TelegramChannel:
    def __init__(self, settings: TelegramSettings, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._chats = {chat.address: chat.id for chat in settings.chats}

    async def send(self, session: aiohttp.ClientSession, notice: Notice, address: str) -> None:
        what = f"Telegram chat {address}"
        if address not in self._chats:
            raise NotifyError(f"{what} is no longer in notify.telegram.chats", permanent=True)
        token = self._settings.token.get_secret_value()
        body = {
            "chat_id": self._chats[address],
            "text": telegram_text(notice, self._settings.template),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        answer = await post(
            session,
            f"{self._settings.api_url.rstrip('/')}/bot{token}/sendMessage",
            json.dumps(body).encode(),
            what=what,
            timeout_s=self._timeout_s,
            secrets=(token,),
            headers={"Content-Type": "application/json"},
        )
        data: dict[str, Any] = answer.data if isinstance(answer.data, dict) else {}
        if answer.ok and data.get("ok") is True:
            return
        raise _refusal(what, answer, data)


def _refusal(what: str, answer: Answer, data: dict[str, Any]) -> NotifyError:
    """The Bot API's own account of a failure ({"ok": false, "error_code", "description",
    "parameters": {"retry_after"}}) where it gave one, else the HTTP answer's."""
    code = data.get("error_code")
    status = code if isinstance(code, int) else answer.status
    description = data.get("description")
    parameters = data.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return failure(
        what,
        status,
        description if isinstance(description, str) else answer.text,
        hint=_HINTS.get(status, ""),
        retry_after_s=(
            float(retry_after) if isinstance(retry_after, int | float) else answer.retry_after_s
        ),
    )
