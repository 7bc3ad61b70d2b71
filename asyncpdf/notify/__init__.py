"""Notifications of finished jobs: Telegram, SMS (smsc) and webhooks, one sender per
channel, each sending one notice to one recipient. The outbox decides when and retries.

The channels (and aiohttp's client under them) are imported when first asked for: the config
imports `notify.settings`, and a command that loads the config (`asyncpdf analyze`) starts no
HTTP client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from asyncpdf.notify.base import SMS, TELEGRAM, WEBHOOK, Channel, Recipient
from asyncpdf.notify.notice import DeliveryLine, Notice
from asyncpdf.notify.settings import NotifySettings, recipients

if TYPE_CHECKING:
    from asyncpdf.notify.callback import (
        CALLBACK,
        CallbackPolicy,
        call_back,
        check_callback_url,
        shown_url,
    )

#: Names this package gives from its modules that need aiohttp, by module.
_LAZY = {
    "CALLBACK": "callback",
    "CallbackPolicy": "callback",
    "call_back": "callback",
    "check_callback_url": "callback",
    "shown_url": "callback",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CALLBACK",
    "CallbackPolicy",
    "Channel",
    "DeliveryLine",
    "Notice",
    "NotifySettings",
    "Recipient",
    "call_back",
    "channels",
    "check_callback_url",
    "recipients",
    "shown_url",
]


def channels(settings: NotifySettings) -> dict[str, Channel]:
    """The configured channels by name (the `channel` of a Recipient)."""
    from asyncpdf.notify.sms import SmsChannel
    from asyncpdf.notify.telegram import TelegramChannel
    from asyncpdf.notify.webhook import WebhookChannel

    found: dict[str, Channel] = {}
    if settings.telegram is not None:
        found[TELEGRAM] = TelegramChannel(settings.telegram, settings.timeout_s)
    if settings.sms is not None:
        found[SMS] = SmsChannel(settings.sms, settings.timeout_s)
    if settings.webhooks:
        found[WEBHOOK] = WebhookChannel(settings.webhooks, settings.timeout_s)
    return found
