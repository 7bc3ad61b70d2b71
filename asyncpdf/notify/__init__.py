"""Notifications of finished jobs: Telegram, SMS (smsc) and webhooks, one sender per
channel, each sending one notice to one recipient. The outbox decides when and retries."""

from __future__ import annotations

from asyncpdf.notify.base import SMS, TELEGRAM, WEBHOOK, Channel, Recipient
from asyncpdf.notify.callback import (
    CALLBACK,
    CallbackPolicy,
    call_back,
    check_callback_url,
    shown_url,
)
from asyncpdf.notify.notice import DeliveryLine, Notice
from asyncpdf.notify.settings import NotifySettings, recipients
from asyncpdf.notify.sms import SmsChannel
from asyncpdf.notify.telegram import TelegramChannel
from asyncpdf.notify.webhook import WebhookChannel

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
    found: dict[str, Channel] = {}
    if settings.telegram is not None:
        found[TELEGRAM] = TelegramChannel(settings.telegram, settings.timeout_s)
    if settings.sms is not None:
        found[SMS] = SmsChannel(settings.sms, settings.timeout_s)
    if settings.webhooks:
        found[WEBHOOK] = WebhookChannel(settings.webhooks, settings.timeout_s)
    return found
