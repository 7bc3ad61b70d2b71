"""Notification channels against fake Telegram, smsc and webhook servers on loopback: the
messages, what each request carries, which failures are worth retrying, and that no secret
ever shows in an error, a traceback, a log line or the settings."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from asyncpdf.errors import NotifyError
from asyncpdf.notify import DeliveryLine, Notice, NotifySettings, Recipient, channels, recipients
from asyncpdf.notify.messages import (
    DEFAULT_SMS_TEMPLATE,
    DEFAULT_TELEGRAM_TEMPLATE,
    FIELDS,
    check_html,
    check_template,
    fit_html,
    sms_text,
    telegram_text,
)

TOKEN = "123456:SECRET-TOKEN-xyz"
SMS_PASSWORD = "sms-PA55-q"
HOOK_SECRET = "hook-S3CR3T"
AUTH_VALUE = "Bearer auth-V4LUE-k"
SECRETS = (TOKEN, SMS_PASSWORD, HOOK_SECRET, AUTH_VALUE)
#: Every request here goes to a fake in this process and must answer within it on a busy
#: machine too; only the one scripted to hang waits it out.
TIMEOUT_S = 5.0

NOTICE = Notice(
    job_id=7,
    order="12345",
    order_name="A<b>&C",
    file_name="12345_A<b>&C_Vonoel.pdf",
    bureau="Vonoel",
    press="Speedmaster",
    plates=5,
    deliveries=(
        DeliveryLine("bureau", "ftp://ctp@ctp.example/in", "sent"),
        DeliveryLine("preview", "ftp://press@press.example/", "failed", "550 <no> space"),
    ),
    bureau_failed=False,
    import_mode=False,
    job_state="failed",
    warnings=1,
    url="http://prepress.example/jobs/7",
)
BUREAU_FAILED = replace(
    NOTICE,
    bureau_failed=True,
    deliveries=(DeliveryLine("bureau", "ftp://ctp@ctp.example/in", "failed", "530 Login <no>"),),
)


@dataclass
class Fake:
    """What the fake servers received."""

    telegram: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    smsc: list[dict[str, str]] = field(default_factory=list)
    hooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


FAKE = web.AppKey("fake", Fake)


async def telegram_api(request: web.Request) -> web.Response:
    fake = request.app[FAKE]
    body = await request.json()
    fake.telegram.append((request.path, body))
    chat = body["chat_id"]
    if chat == 5:
        await fake.release.wait()
    answers: dict[int, tuple[int, dict[str, Any]]] = {
        1: (200, {"ok": True, "result": {"message_id": 1}}),
        3: (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        ),
        4: (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        6: (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
        # A server that quotes the request it got, token and all.
        7: (400, {"ok": False, "error_code": 400, "description": f"no route {request.path}"}),
    }
    if chat not in answers:
        return web.Response(status=500, text="Internal Server Error")
    status, answer = answers[chat]
    return web.json_response(answer, status=status)


async def smsc_api(request: web.Request) -> web.Response:
    form = {key: str(value) for key, value in (await request.post()).items()}
    request.app[FAKE].smsc.append(form)
    answers = {
        "+380501111111": {"id": 99, "cnt": 1},
        "+380502222222": {"error": "authorise error", "error_code": 2},
        "+380504444444": {"error": "duplicate request, wait a minute", "error_code": 9},
    }
    if form["phones"] not in answers:
        return web.Response(status=500, text=f"oops, psw={form['psw']}")
    return web.json_response(answers[form["phones"]])


async def webhook(request: web.Request) -> web.Response:
    body = await request.read()
    request.app[FAKE].hooks.append((dict(request.headers), body))
    status = int(request.match_info["status"])
    headers = {"Retry-After": "30"} if status == 429 else {}
    if status == 302:
        headers["Location"] = "/elsewhere"
    echo = f"refused; you sent {request.headers.get('X-Token')}"
    return web.Response(status=status, headers=headers, text=echo)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, str]]:
    app = web.Application()
    app[FAKE] = Fake()
    app.router.add_post("/bot{token}/sendMessage", telegram_api)
    app.router.add_post("/sys/send.php", smsc_api)
    app.router.add_post("/hook/{status}", webhook)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield app[FAKE], str(server.make_url("")).rstrip("/")
    app[FAKE].release.set()
    await server.close()


def config(base: str, password_file: Path) -> dict[str, Any]:
    hook = f"{base}/hook"
    return {
        "timeout_s": TIMEOUT_S,
        "telegram": {
            "token_env": "TEST_NOTIFY_TOKEN",
            "api_url": base,
            "chats": [{"id": chat, "admin": chat == 1} for chat in range(1, 8)],
        },
        "sms": {
            "login": "shop",
            "password_file": str(password_file),
            "api_url": base,
            "phones": [
                {"number": "+380 50 111-11-11", "admin": True},
                {"number": "+380502222222"},
                {"number": "+380503333333"},
                {"number": "+380504444444"},
            ],
        },
        "webhooks": [
            {
                "url": f"{hook}/200",
                "name": "signed",
                "auth_header": "Authorization",
                "auth_value": AUTH_VALUE,
                "secret": HOOK_SECRET,
                "admin": True,
            },
            {"url": f"{hook}/204", "name": "plain"},
            {
                "url": f"{hook}/500",
                "name": "broken",
                "auth_header": "X-Token",
                "auth_value": AUTH_VALUE,
                "secret": HOOK_SECRET,
            },
            {"url": f"{hook}/429", "name": "busy"},
            {"url": f"{hook}/302", "name": "moved"},
            {"url": f"{hook}/404", "name": "gone"},
        ],
    }


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smsc.secret"
    path.write_text(SMS_PASSWORD + "\n")
    return path


@pytest.fixture
def settings(
    fake: tuple[Fake, str], password_file: Path, monkeypatch: pytest.MonkeyPatch
) -> NotifySettings:
    monkeypatch.setenv("TEST_NOTIFY_TOKEN", TOKEN)
    return NotifySettings.model_validate(config(fake[1], password_file))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(autouse=True)
def no_secret_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert_hidden(logged)


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def assert_error_hides_secrets(error: BaseException) -> None:
    assert_hidden(str(error), repr(error), "".join(traceback.format_exception(error)))


async def failure(
    settings: NotifySettings, session: aiohttp.ClientSession, channel: str, address: str
) -> NotifyError:
    with pytest.raises(NotifyError) as raised:
        await channels(settings)[channel].send(session, NOTICE, address)
    assert_error_hides_secrets(raised.value)
    # Never chained: aiohttp's errors may quote the URL, and with it the bot token.
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    return raised.value


# Messages


def test_telegram_message_is_the_shops_with_values_escaped() -> None:
    text = telegram_text(NOTICE, DEFAULT_TELEGRAM_TEMPLATE)
    lines = text.splitlines()
    assert lines[0] == "<b>12345 A&lt;b&gt;&amp;C</b>"
    assert lines[1] == "Vonoel - Speedmaster - 5 plates"
    assert lines[2] == "✅ bureau → ftp://ctp@ctp.example/in: sent"
    assert lines[3] == "❌ preview → ftp://press@press.example/: failed — 550 &lt;no&gt; space"
    assert lines[4] == "http://prepress.example/jobs/7"
    check_html(text)


def test_telegram_message_opens_loudly_when_the_bureau_has_nothing() -> None:
    lines = telegram_text(BUREAU_FAILED, DEFAULT_TELEGRAM_TEMPLATE).splitlines()
    assert lines[0] == "⚠️ <b>NOT DELIVERED to the bureau Vonoel</b>: 530 Login &lt;no&gt;"
    assert lines[1] == "<b>12345 A&lt;b&gt;&amp;C</b>"
    failed_job = replace(BUREAU_FAILED, deliveries=(), error="no bureau <found>")
    first = telegram_text(failed_job, DEFAULT_TELEGRAM_TEMPLATE).splitlines()[0]
    assert first == "⚠️ <b>NOT DELIVERED to the bureau Vonoel</b>: no bureau &lt;found&gt;"


def test_telegram_message_is_cut_to_the_limit_between_tags_and_entities() -> None:
    huge = replace(NOTICE, order_name="&<😀>" * 3000)
    text = telegram_text(huge, DEFAULT_TELEGRAM_TEMPLATE)
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert text.endswith("…</b>")
    check_html(text)
    sample = '<b>a &amp; b</b> <a href="http://x/?a=1&amp;b=2">link 😀</a> &#x27;q&#x27; <i>e</i>'
    for limit in range(12, len(sample) + 8):
        cut = fit_html(sample, limit)
        check_html(cut)
        assert len(cut.encode("utf-16-le")) // 2 <= limit
    assert fit_html(sample, 4096) == sample


def test_sms_is_one_plain_line() -> None:
    assert sms_text(NOTICE, DEFAULT_SMS_TEMPLATE) == "12345 A<b>&C 5->Speedmaster Vonoel"
    assert sms_text(NOTICE, "{order}\n{deliveries}") == "12345 bureau sent, preview failed"
    loud = sms_text(BUREAU_FAILED, DEFAULT_SMS_TEMPLATE)
    assert loud == "NOT DELIVERED to Vonoel! 12345 A<b>&C 5->Speedmaster Vonoel"


def test_webhook_body_is_the_job() -> None:
    body = NOTICE.to_json()
    assert body["job_id"] == 7 and body["order_name"] == "A<b>&C" and body["plates"] == 5
    assert body["deliveries"][1] == {
        "kind": "preview",
        "target": "ftp://press@press.example/",
        "state": "failed",
        "error": "550 <no> space",
    }
    assert json.loads(json.dumps(body)) == body


# Settings


@pytest.mark.parametrize(
    ("section", "template", "message"),
    [
        ("telegram", "<b>{order} {nmae}</b>", "unknown template field {nmae}; allowed: "),
        ("sms", "{order} {plates:>3}", "template field {plates}: write it plain"),
        ("sms", "{order.__class__}", "unknown template field {order.__class__}"),
        ("sms", "{order", "not a valid template"),
        ("telegram", "<p>{order}</p>", "<p> is not a tag Telegram knows"),
        ("telegram", "<b>{order}", "<b> is never closed"),
        ("telegram", "{order} & {press}", "a bare & in the HTML"),
    ],
)
def test_a_bad_template_fails_at_load(
    section: str, template: str, message: str, password_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_NOTIFY_TOKEN", TOKEN)
    data = config("http://127.0.0.1:9", password_file)
    data[section]["template"] = template
    with pytest.raises(ValidationError, match=section) as raised:
        NotifySettings.model_validate(data)
    assert message in str(raised.value)
    assert_error_hides_secrets(raised.value)


def test_check_template_names_the_allowed_fields() -> None:
    assert check_template("{order} {press}", FIELDS) == "{order} {press}"
    with pytest.raises(ValueError, match=r"unknown template field \{x\}; allowed: a, b$"):
        check_template("{a} {x}", {"b", "a"})


def test_secrets_come_from_env_and_files_and_never_show(settings: NotifySettings) -> None:
    assert settings.telegram is not None and settings.sms is not None
    assert settings.telegram.token.get_secret_value() == TOKEN
    assert settings.sms.password.get_secret_value() == SMS_PASSWORD
    hook = settings.webhooks[0]
    assert hook.secret is not None and hook.secret.get_secret_value() == HOOK_SECRET
    assert_hidden(
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        repr(channels(settings)),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token_env": "TEST_NOTIFY_UNSET"}, "environment variable TEST_NOTIFY_UNSET is not set"),
        (
            {"token_env": None, "token_file": "/nonexistent/token"},
            "cannot read the secret file /nonexistent/token",
        ),
        ({"token": TOKEN}, "give the secret one way, not several"),
        ({"token_env": None}, "give token, token_env or token_file"),
        ({"token_env": None, "token": "123:bad token/../x"}, "token: not a bot token"),
    ],
)
def test_a_missing_or_doubled_secret_is_named_not_shown(
    change: dict[str, Any], message: str, password_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_NOTIFY_TOKEN", TOKEN)
    data = config("http://127.0.0.1:9", password_file)
    data["telegram"] = {k: v for k, v in {**data["telegram"], **change}.items() if v is not None}
    with pytest.raises(ValidationError, match="telegram") as raised:
        NotifySettings.model_validate(data)
    assert message in str(raised.value)
    assert_error_hides_secrets(raised.value)


def test_who_gets_a_notice(settings: NotifySettings) -> None:
    everyone = recipients(settings, admins_only=False)
    assert len(everyone) == 7 + 4 + 6
    assert Recipient("sms", "+380502222222", False) in everyone
    assert recipients(settings, admins_only=True) == [
        Recipient("telegram", "1", True),
        Recipient("sms", "+380501111111", True),
        Recipient("webhook", "signed", True),
    ]
    nothing = NotifySettings()
    assert recipients(nothing, admins_only=False) == [] and channels(nothing) == {}


def test_an_address_listed_twice_is_refused() -> None:
    data = {"webhooks": [{"url": "http://a.example/x"}, {"url": "http://a.example/y"}]}
    with pytest.raises(ValidationError, match=r"a\.example is listed twice \(give each webhook"):
        NotifySettings.model_validate(data)


# Telegram


async def test_telegram_sends_the_message(
    settings: NotifySettings, session: aiohttp.ClientSession, fake: tuple[Fake, str]
) -> None:
    await channels(settings)["telegram"].send(session, NOTICE, "1")
    path, body = fake[0].telegram[-1]
    assert path == f"/bot{TOKEN}/sendMessage"
    assert body == {
        "chat_id": 1,
        "text": telegram_text(NOTICE, DEFAULT_TELEGRAM_TEMPLATE),
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }


@pytest.mark.parametrize(
    ("chat", "permanent", "retry_after_s", "message"),
    [
        ("2", False, None, "Telegram chat 2 answered HTTP 500: Internal Server Error"),
        ("3", False, 7.0, "HTTP 429: Too Many Requests: retry after 7; it asks to wait 7 s"),
        ("4", True, None, "Telegram chat 4 answered HTTP 400: Bad Request: chat not found"),
        ("5", False, None, f"Telegram chat 5 did not answer within {TIMEOUT_S:g} s"),
        ("6", True, None, "HTTP 401: Unauthorized; the bot token is wrong"),
        ("7", True, None, "HTTP 400: no route /bot***/sendMessage"),
        ("-100", True, None, "Telegram chat -100 is no longer in notify.telegram.chats"),
    ],
)
async def test_telegram_failures_say_whether_to_try_again(
    settings: NotifySettings,
    session: aiohttp.ClientSession,
    chat: str,
    permanent: bool,
    retry_after_s: float | None,
    message: str,
) -> None:
    error = await failure(settings, session, "telegram", chat)
    assert message in str(error)
    assert error.permanent is permanent
    assert error.retry_after_s == retry_after_s


async def test_no_server_is_a_transient_failure_without_the_url(
    settings: NotifySettings, session: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert settings.telegram is not None
    moved = settings.model_copy(
        update={"telegram": settings.telegram.model_copy(update={"api_url": closed})}
    )
    error = await failure(moved, session, "telegram", "1")
    assert str(error).startswith("cannot connect to Telegram chat 1: ")
    assert not error.permanent


# SMS


async def test_sms_goes_to_smsc(
    settings: NotifySettings, session: aiohttp.ClientSession, fake: tuple[Fake, str]
) -> None:
    await channels(settings)["sms"].send(session, NOTICE, "+380501111111")
    assert fake[0].smsc[-1] == {
        "login": "shop",
        "psw": SMS_PASSWORD,
        "phones": "+380501111111",
        "mes": "12345 A<b>&C 5->Speedmaster Vonoel",
        "charset": "utf-8",
        "fmt": "3",
    }


@pytest.mark.parametrize(
    ("phone", "permanent", "message"),
    [
        ("+380502222222", True, "authorise error (error 2); check notify.sms.login"),
        ("+380503333333", False, "answered HTTP 500: oops, psw=***"),
        ("+380504444444", False, "duplicate request, wait a minute (error 9)"),
        ("+380509999999", True, "no longer in notify.sms.phones"),
    ],
)
async def test_sms_failures_say_whether_to_try_again(
    settings: NotifySettings,
    session: aiohttp.ClientSession,
    phone: str,
    permanent: bool,
    message: str,
) -> None:
    error = await failure(settings, session, "sms", phone)
    assert message in str(error)
    assert error.permanent is permanent


# Webhooks


async def test_webhook_posts_the_job_signed(
    settings: NotifySettings, session: aiohttp.ClientSession, fake: tuple[Fake, str]
) -> None:
    await channels(settings)["webhook"].send(session, NOTICE, "signed")
    headers, body = fake[0].hooks[-1]
    assert json.loads(body) == NOTICE.to_json()
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == AUTH_VALUE
    expected = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Asyncpdf-Signature"], f"sha256={expected}")


async def test_webhook_without_secret_or_auth_is_plain(
    settings: NotifySettings, session: aiohttp.ClientSession, fake: tuple[Fake, str]
) -> None:
    await channels(settings)["webhook"].send(session, NOTICE, "plain")
    headers, body = fake[0].hooks[-1]
    assert json.loads(body) == NOTICE.to_json()
    assert "X-Asyncpdf-Signature" not in headers and "Authorization" not in headers


@pytest.mark.parametrize(
    ("hook", "permanent", "retry_after_s", "message"),
    [
        ("broken", False, None, "webhook broken answered HTTP 500: refused; you sent ***"),
        ("busy", False, 30.0, "webhook busy answered HTTP 429"),
        ("moved", True, None, "webhook moved answered HTTP 302"),
        ("gone", True, None, "webhook gone answered HTTP 404"),
        ("nameless", True, None, "webhook nameless is no longer in notify.webhooks"),
    ],
)
async def test_webhook_failures_say_whether_to_try_again(
    settings: NotifySettings,
    session: aiohttp.ClientSession,
    hook: str,
    permanent: bool,
    retry_after_s: float | None,
    message: str,
) -> None:
    error = await failure(settings, session, "webhook", hook)
    assert message in str(error)
    assert error.permanent is permanent
    assert error.retry_after_s == retry_after_s
