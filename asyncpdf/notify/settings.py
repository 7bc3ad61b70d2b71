"""The `notify:` section of the config, and who gets a notice.

Each secret (bot token, SMS password, webhook auth value and signing secret) may be given as
`<name>`, `<name>_env` (an environment variable) or `<name>_file`, exactly one of them; it is
read when the config is loaded and held as a SecretStr, so no repr, dump or error shows it.
Importable without asyncpdf.config, which includes `NotifySettings` as its `notify` field.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from asyncpdf.credentials import SecretUnavailable, read_secret
from asyncpdf.notify.base import SMS, TELEGRAM, WEBHOOK, Recipient
from asyncpdf.notify.messages import (
    DEFAULT_SMS_TEMPLATE,
    DEFAULT_TELEGRAM_TEMPLATE,
    check_sms_template,
    check_telegram_template,
)

_BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PHONE = re.compile(r"\+?\d{7,15}")


class _Model(BaseModel):
    # hide_input_in_errors: the input of a failing model holds its secrets as given.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def _http_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// address with a host")
    return value


HttpAddress = Annotated[str, AfterValidator(_http_address)]


def _take_secret(data: Any, field: str, *, required: bool = False) -> Any:
    """`data` with the secret `field` read from whichever of `field`, `<field>_env` and
    `<field>_file` it gives; the last two are consumed, so the model holds only the secret."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    sources = {name: data.pop(name, None) for name in (field, f"{field}_env", f"{field}_file")}
    value = sources[field]
    if isinstance(value, SecretStr):
        sources[field] = value.get_secret_value()
    for name, source in sources.items():
        if source is not None and not isinstance(source, str | Path):
            raise ValueError(f"{name} must be a string (quote it in YAML)")
    try:
        secret = read_secret(
            value=sources[field], env=sources[f"{field}_env"], file=sources[f"{field}_file"]
        )
    except SecretUnavailable as exc:
        raise ValueError(f"{field}: {exc}") from None
    if secret is not None:
        data[field] = secret
    elif required:
        raise ValueError(f"give {field}, {field}_env or {field}_file")
    return data


class TelegramChat(_Model):
    #: A chat id (negative for groups and channels) or a public channel's "@name".
    id: int | str
    admin: bool = False

    @model_validator(mode="after")
    def _id(self) -> TelegramChat:
        if isinstance(self.id, str) and not re.fullmatch(r"-?\d+|@\w+", self.id):
            raise ValueError("id must be a chat id (a number) or a channel's @name")
        return self

    @property
    def address(self) -> str:
        return str(self.id)


class TelegramSettings(_Model):
    token: SecretStr
    api_url: HttpAddress = "https://api.telegram.org"
    template: Annotated[str, AfterValidator(check_telegram_template)] = DEFAULT_TELEGRAM_TEMPLATE
    chats: tuple[TelegramChat, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _take_secret(data, "token", required=True)

    @model_validator(mode="after")
    def _token_shape(self) -> TelegramSettings:
        # The token goes into the request path: anything else could change the URL.
        if not _BOT_TOKEN.fullmatch(self.token.get_secret_value()):
            raise ValueError(
                "token: not a bot token as @BotFather gives it (digits, ':', then letters, "
                "digits, '_' or '-')"
            )
        return self


class SmsPhone(_Model):
    number: str
    admin: bool = False

    @model_validator(mode="before")
    @classmethod
    def _normal(cls, data: Any) -> Any:
        # "+380 50 123-45-67" as people write it; smsc wants the digits.
        if isinstance(data, dict) and isinstance(data.get("number"), str):
            return {**data, "number": re.sub(r"[\s().-]", "", data["number"])}
        return data

    @model_validator(mode="after")
    def _shape(self) -> SmsPhone:
        if not _PHONE.fullmatch(self.number):
            raise ValueError("number must be a phone number in international form (+380…)")
        return self


class SmsSettings(_Model):
    login: str = Field(min_length=1)
    password: SecretStr
    api_url: HttpAddress = "https://smsc.ua"
    template: Annotated[str, AfterValidator(check_sms_template)] = DEFAULT_SMS_TEMPLATE
    phones: tuple[SmsPhone, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _take_secret(data, "password", required=True)


class WebhookSettings(_Model):
    url: HttpAddress
    #: How messages and the outbox name it; the URL's host when not given.
    name: str | None = Field(None, min_length=1)
    auth_header: str | None = None
    auth_value: SecretStr | None = None
    #: Signs each body: `X-Asyncpdf-Signature: sha256=<HMAC-SHA256 hex>`.
    secret: SecretStr | None = None
    admin: bool = False

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _take_secret(_take_secret(data, "auth_value"), "secret")

    @model_validator(mode="after")
    def _auth(self) -> WebhookSettings:
        if (self.auth_header is None) != (self.auth_value is None):
            raise ValueError("give auth_header and auth_value together, or neither")
        if self.auth_header is not None and not _HEADER_NAME.fullmatch(self.auth_header):
            raise ValueError("auth_header must be a header name (letters, digits, '-')")
        return self

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.url).hostname or self.url


class NotifySettings(_Model):
    """No channel configured: nothing is sent."""

    #: For each request to a channel, connecting included.
    timeout_s: float = Field(10.0, gt=0, le=300)
    #: Tries per notice and recipient; between them it waits in the outbox (backoff with
    #: jitter, doubled after each failed try, up to max_delay_s).
    attempts: int = Field(6, ge=1, le=50)
    backoff_s: float = Field(10.0, ge=0)
    max_delay_s: float = Field(600.0, ge=0)
    telegram: TelegramSettings | None = None
    sms: SmsSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    #: Callback URLs of API uploads may not point at this machine (loopback, link-local or its
    #: own addresses): these addresses or networks (e.g. "127.0.0.1", "fe80::/10") may. The
    #: service's own port never may.
    callback_allow: tuple[str, ...] = ()

    @field_validator("callback_allow")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    "each entry must be an IP address or network, e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> NotifySettings:
        # The outbox keys its rows by (channel, address).
        seen: set[tuple[str, str]] = set()
        for recipient in recipients(self, admins_only=False):
            key = (recipient.channel, recipient.address)
            if key in seen:
                advice = " (give each webhook its own name)" if key[0] == WEBHOOK else ""
                raise ValueError(f"{key[0]}: {key[1]} is listed twice{advice}")
            seen.add(key)
        return self


def recipients(settings: NotifySettings, *, admins_only: bool) -> list[Recipient]:
    """Who gets a notice, one (channel, address) each: everyone configured, or only the
    admins when the job's bureau has `notify: false` or the job was made in import mode."""
    found: list[Recipient] = []
    if settings.telegram is not None:
        found += [Recipient(TELEGRAM, c.address, c.admin) for c in settings.telegram.chats]
    if settings.sms is not None:
        found += [Recipient(SMS, p.number, p.admin) for p in settings.sms.phones]
    found += [Recipient(WEBHOOK, hook.label, hook.admin) for hook in settings.webhooks]
    return [r for r in found if r.admin or not admins_only]
