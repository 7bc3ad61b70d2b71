"""What every notification channel is: one object per channel that sends one notice to one
of its recipients, so the outbox keeps one row per (channel, address) and retries each on its
own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from asyncpdf.notify.notice import Notice

if TYPE_CHECKING:  # the config imports this module and starts no HTTP client
    import aiohttp

TELEGRAM = "telegram"
SMS = "sms"
WEBHOOK = "webhook"


@dataclass(frozen=True)
class Recipient:
    """`address` is a Telegram chat id, a phone number or a webhook's name: what the outbox
    stores beside `channel`, and what `Channel.send` takes back."""

    channel: str
    address: str
    admin: bool = False


class Channel(Protocol):
    async def send(self, session: aiohttp.ClientSession, notice: Notice, address: str) -> None:
        """Send `notice` once to `address`, one of this channel's configured recipients.

        Raises NotifyError with a reason a person can act on, `permanent` when trying again
        cannot help until the config changes (an address no longer configured is one), and
        `retry_after_s` when the channel asked to be left alone that long.
        """
        ...
