"""The texts people get: a notice rendered through a template from the config. Pure.

Templates are `str.format` strings with plain named fields (no `:spec`, no `!conversion`, no
attribute access); `check_template` rejects anything else when the config is loaded, so a
template never fails while a notice is being sent.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Collection

from asyncpdf.notify.notice import DeliveryLine, Notice

FIELDS = frozenset(
    {
        "job_id",
        "order",
        "order_name",
        "file_name",
        "bureau",
        "press",
        "plates",
        "job_state",
        "warnings",
        "url",
        "deliveries",
    }
)
DEFAULT_TELEGRAM_TEMPLATE = (
    "<b>{order} {order_name}</b>\n{bureau} - {press} - {plates} plates\n{deliveries}\n{url}"
)
DEFAULT_SMS_TEMPLATE = "{order} {order_name} {plates}->{press} {bureau}"
#: Telegram's limit for a message, in UTF-16 code units as it counts them.
TELEGRAM_LIMIT = 4096
#: A delivery's error is cut to this many characters: a message is read on a phone.
ERROR_CHARS = 300
#: The tags Telegram's HTML parse mode knows; any other makes it refuse the message.
TELEGRAM_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "u",
    }
)
_NAMED_ENTITIES = frozenset({"&lt;", "&gt;", "&amp;", "&quot;"})
_TOKENS = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[\s\S]")
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
_ICONS = {"sent": "✅", "failed": "❌"}
_ELLIPSIS = "…"

_SAMPLE = Notice(
    job_id=1,
    order="12345",
    order_name="Каталог <A&B>",
    file_name="12345_Каталог_Vonoel.pdf",
    bureau="Vonoel",
    press="Speedmaster",
    plates=8,
    deliveries=(DeliveryLine("bureau", "ftp://ctp@ctp.example/in", "failed", "550 <denied>"),),
    bureau_failed=True,
    import_mode=True,
    job_state="failed",
    warnings=1,
    url="http://prepress.example/jobs/1?a=1&b=2",
)


def check_template(template: str, allowed: Collection[str]) -> str:
    """`template` if it uses only plain `{name}` fields from `allowed`; else a ValueError
    naming the field and the allowed ones."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"not a valid template ({exc}); write a literal {{ or }} as {{{{ or }}}}"
        ) from None
    known = ", ".join(sorted(allowed))
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in allowed:
            raise ValueError(f"unknown template field {{{field}}}; allowed: {known}")
        if spec or conversion:
            raise ValueError(f"template field {{{field}}}: write it plain, without ':' or '!'")
    return template


def check_telegram_template(template: str) -> str:
    """`template` if its fields are known and what it renders is HTML Telegram accepts."""
    check_template(template, FIELDS)
    check_html(telegram_text(_SAMPLE, template))
    return template


def check_sms_template(template: str) -> str:
    return check_template(template, FIELDS)


def check_html(text: str) -> None:
    """Raise ValueError unless Telegram's HTML parse mode takes `text`: known tags, each
    closed in order, and `<`, `>`, `&` only as part of a tag or entity."""
    open_tags: list[str] = []
    for token in _TOKENS.findall(text):
        if token in ("<", ">", "&"):
            raise ValueError(f"a bare {token} in the HTML: write it as {html.escape(token)}")
        if token.startswith("&") and not token.startswith("&#") and token not in _NAMED_ENTITIES:
            raise ValueError(f"Telegram knows no entity {token}; use {sorted(_NAMED_ENTITIES)}")
        if not token.startswith("<"):
            continue
        tag = _TAG.fullmatch(token)
        name = tag[2].lower() if tag else ""
        if name not in TELEGRAM_TAGS:
            raise ValueError(f"{token} is not a tag Telegram knows: use {sorted(TELEGRAM_TAGS)}")
        if not tag or not tag[1]:
            open_tags.append(name)
        elif not open_tags or open_tags.pop() != name:
            raise ValueError(f"{token} closes no <{name}>")
    if open_tags:
        raise ValueError(f"<{open_tags[-1]}> is never closed")


def telegram_text(notice: Notice, template: str) -> str:
    """The Telegram message (HTML parse mode): every value escaped, the template's tags kept,
    a loud first line when the bureau did not get the file, cut to Telegram's limit."""
    esc = html.escape
    values = {name: esc(value) for name, value in _fields(notice).items()}
    lines = [
        f"{_ICONS.get(str(d.state), '⏳')} {esc(d.kind)} → {esc(d.shown_target)}: "
        f"{esc(str(d.state))}{f' — {esc(_short(d.error))}' if d.error else ''}"
        for d in notice.deliveries
    ]
    if notice.import_mode:
        lines.append("(import mode: nothing is delivered)")
    values["deliveries"] = "\n".join(lines)
    text = template.format_map(values).strip()
    if notice.bureau_failed:
        error = notice.bureau_error
        reason = f": {esc(_short(error))}" if error else ""
        text = f"⚠️ <b>NOT DELIVERED to the bureau {esc(notice.bureau)}</b>{reason}\n{text}"
    return fit_html(text)


def sms_text(notice: Notice, template: str) -> str:
    """The SMS: plain text on one line, led by a warning when the bureau did not get it."""
    values = _fields(notice)
    values["deliveries"] = ", ".join(f"{d.kind} {d.state}" for d in notice.deliveries)
    text = template.format_map(values)
    if notice.bureau_failed:
        text = f"NOT DELIVERED to {notice.bureau}! {text}"
    return " ".join(text.split())


def fit_html(text: str, limit: int = TELEGRAM_LIMIT) -> str:
    """`text` if it fits in `limit` UTF-16 code units; else its longest start that fits with
    an ellipsis and the tags still open closed, never cut inside a tag or an entity."""
    if _units(text) <= limit:
        return text
    kept: list[str] = []
    open_tags: list[str] = []
    used = _units(_ELLIPSIS)
    for token in _TOKENS.findall(text):
        tags = _after(open_tags, token)
        cost = _units(token)
        if used + cost + sum(len(name) + 3 for name in tags) > limit:
            break
        kept.append(token)
        used += cost
        open_tags = tags
    closing = "".join(f"</{name}>" for name in reversed(open_tags))
    return "".join(kept) + _ELLIPSIS + closing


def _after(open_tags: list[str], token: str) -> list[str]:
    """The tags open once `token` is added."""
    tag = _TAG.fullmatch(token)
    if tag is None:
        return open_tags
    name = tag[2].lower()
    if not tag[1]:
        return [*open_tags, name]
    if name in open_tags:
        index = len(open_tags) - 1 - open_tags[::-1].index(name)
        return open_tags[:index]
    return open_tags


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + _ELLIPSIS


def _fields(notice: Notice) -> dict[str, str]:
    return {
        "job_id": str(notice.job_id),
        "order": notice.order,
        "order_name": notice.order_name,
        "file_name": notice.file_name,
        "bureau": notice.bureau,
        "press": notice.press,
        "plates": str(notice.plates),
        "job_state": str(notice.job_state),
        "warnings": str(notice.warnings),
        "url": notice.url or "",
        "deliveries": "",
    }
