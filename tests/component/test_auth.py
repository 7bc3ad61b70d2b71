"""Who may change things, in-process like a client: a change needs Basic or Bearer
credentials, is refused outright when none are configured or when another site's page sends
it; `read: protected` and `probes: protected` close reading and the probes too; an address
that sends wrong credentials too often must wait (429); the config refuses plain secrets;
`asyncpdf hash-password` makes a hash that logs in; and no password or token reaches the log."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.cli import main
from asyncpdf.config import load_settings
from asyncpdf.errors import ConfigError
from asyncpdf.web.app import create_app
from asyncpdf.web.auth import (
    FAILURE_WINDOW_S,
    FAILURES_ALLOWED,
    VERIFYING_AT_ONCE,
    FailedLogins,
    TooManyFailures,
)
from asyncpdf.web.auth_settings import MIN_ITERATIONS, hash_password
from tests.support import write_config

PASSWORD = "correct horse battery staple"
TOKEN = "script-token-0123456789abcdef"
GOOD = {"Authorization": encode_basic_auth("alice", PASSWORD)}
OTHER_SITE = "http://evil.example"
PROXY = "https://prepress.example.com"
USERS = [{"name": "alice", "password_hash": hash_password(PASSWORD, iterations=MIN_ITERATIONS)}]

App = TestClient[web.Request, web.Application]
Client = Callable[..., AbstractAsyncContextManager[App]]


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """`client(**web)`: the app on a shop whose `web` section has these keys too."""

    @asynccontextmanager
    async def started(**section: Any) -> AsyncIterator[App]:
        settings = load_settings(write_config(tmp_path, web=section))
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()

    return started


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": encode_basic_auth(name, password)}


async def switch(client: App, on: bool, **kwargs: Any) -> aiohttp.ClientResponse:
    return await client.put("/api/import-mode", json={"import_mode": on}, **kwargs)


async def import_mode(client: App) -> bool:
    return bool((await (await client.get("/api/import-mode")).json())["import_mode"])


async def test_a_change_needs_a_right_password_or_token(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ASYNCPDF_TEST_TOKEN", TOKEN)
    tokens = [{"name": "script", "token_env": "ASYNCPDF_TEST_TOKEN"}]
    async with client(auth={"users": USERS, "tokens": tokens}) as http:
        response = await switch(http, True)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="asyncpdf"'
        assert (await response.json())["error"]["code"] == "unauthorized"
        for wrong in (("alice", "wrong"), ("bob", PASSWORD)):
            response = await switch(http, True, headers=basic(*wrong))
            assert response.status == 401 and "WWW-Authenticate" in response.headers
        assert await import_mode(http) is False

        response = await switch(http, True, headers=GOOD)
        assert response.status == 200 and await import_mode(http) is True
        response = await switch(http, False, headers=GOOD)  # remembered: the same answer
        assert response.status == 200 and await import_mode(http) is False

        response = await switch(http, True, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status == 200 and await import_mode(http) is True
        for header in (f"Bearer {TOKEN}x", "Bearer ", "Basic !!!", f"Token {TOKEN}"):
            response = await switch(http, False, headers={"Authorization": header})
            assert response.status == 401, header
        assert await import_mode(http) is True
    assert "PUT /api/import-mode" in caplog.text  # the log was captured
    assert PASSWORD not in caplog.text and TOKEN not in caplog.text
    assert GOOD["Authorization"].split()[1] not in caplog.text


async def test_with_no_credentials_configured_a_change_is_refused(client: Client) -> None:
    async with client() as http:
        for headers in ({}, GOOD):
            response = await switch(http, True, headers=headers)
            assert response.status == 403
            error = (await response.json())["error"]
            assert error["code"] == "forbidden"
            assert "web.auth.users" in error["message"]
            assert "asyncpdf hash-password" in error["message"]
        assert await import_mode(http) is False
        assert (await http.get("/api/jobs")).status == 200  # reading stays open


async def test_a_change_from_another_sites_page_is_refused_before_credentials(
    client: Client,
) -> None:
    async with client(auth={"users": USERS}, origins=[PROXY]) as http:
        own = f"http://127.0.0.1:{http.port}"
        for headers in (
            {"Origin": OTHER_SITE},
            {"Origin": "null"},
            {"Referer": f"{OTHER_SITE}/page.html"},
            {"Origin": OTHER_SITE, "Referer": f"{own}/"},
        ):
            response = await switch(http, True, headers={**GOOD, **headers})
            assert response.status == 403, headers
            assert (await response.json())["error"]["code"] == "forbidden"
            response = await switch(http, True, headers=headers)  # no credentials: still 403
            assert response.status == 403 and "WWW-Authenticate" not in response.headers
        assert await import_mode(http) is False
        for headers in ({"Origin": own}, {"Referer": f"{own}/"}, {"Origin": PROXY}):
            response = await switch(http, True, headers={**GOOD, **headers})
            assert response.status == 200, headers
        response = await switch(http, False, headers={"Origin": own})
        assert response.status == 401  # the right page still needs credentials


async def test_read_protected_closes_pages_api_and_live_log_but_not_the_probes(
    client: Client,
) -> None:
    async with client(auth={"users": USERS, "read": "protected"}) as http:
        for path in ("/api/jobs", "/api/import-mode", "/"):
            response = await http.get(path)
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"] == 'Basic realm="asyncpdf"'
        assert (await (await http.get("/api/jobs")).json())["error"]["code"] == "unauthorized"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect("/ws")
        assert refused.value.status == 401
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(path)).status == 200, path
        for path in ("/api/jobs", "/"):
            assert (await http.get(path, headers=GOOD)).status == 200, path
        ws = await http.ws_connect("/ws", headers=GOOD)
        await ws.close()


async def test_probes_protected_closes_the_probes(client: Client) -> None:
    async with client(auth={"users": USERS, "probes": "protected"}) as http:
        for path in ("/metrics", "/healthz", "/readyz"):
            assert (await http.get(path)).status == 401, path
        assert (await http.get("/metrics", headers=GOOD)).status == 200
        assert (await http.get("/api/jobs")).status == 200  # reading stays open


def _login_failures(metrics: str) -> dict[str, float]:
    found = re.findall(r'^asyncpdf_login_failures_total\{reason="(\w+)"\} (\S+)$', metrics, re.M)
    return {reason: float(count) for reason, count in found}


async def test_an_address_sending_wrong_credentials_too_often_must_wait(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCPDF_TEST_TOKEN", TOKEN)
    tokens = [{"name": "script", "token_env": "ASYNCPDF_TEST_TOKEN"}]
    wrong = [basic("alice", "wrong"), {"Authorization": f"Bearer {TOKEN}x"}]
    async with client(auth={"users": USERS, "tokens": tokens}) as http:
        for attempt in range(4):
            assert (await switch(http, True, headers=wrong[attempt % 2])).status == 401
        # A right login is let through at once, and forgets the mistakes before it.
        assert (await switch(http, True, headers=GOOD)).status == 200
        for attempt in range(5):
            assert (await switch(http, False, headers=wrong[attempt % 2])).status == 401
        for headers in (GOOD, {"Authorization": f"Bearer {TOKEN}"}, wrong[0]):
            response = await switch(http, False, headers=headers)
            assert response.status == 429, headers
            assert 0 < int(response.headers["Retry-After"]) <= FAILURE_WINDOW_S
            assert "WWW-Authenticate" not in response.headers
            error = (await response.json())["error"]
            assert error["code"] == "too_many_failed_logins" and "try again" in error["message"]
        assert await import_mode(http) is True  # nothing changed while it waits
        assert (await http.get("/api/jobs")).status == 200  # open reading is not affected
        metrics = await (await http.get("/metrics")).text()
        assert _login_failures(metrics) == {"wrong": 9.0, "throttled": 3.0}


async def test_credentials_sent_at_once_stop_at_the_limit_when_wrong_only(
    client: Client,
) -> None:
    async with client(auth={"users": USERS}) as http:
        responses = await asyncio.gather(*(switch(http, True, headers=GOOD) for _ in range(8)))
        assert [response.status for response in responses] == [200] * 8
        responses = await asyncio.gather(
            *(switch(http, False, headers=basic("alice", f"guess {n}")) for n in range(12))
        )
        statuses = [response.status for response in responses]
        # Each queued guess is let through only while the limit is not reached: at most the
        # guesses already being checked then go over it.
        checked = statuses.count(401)
        assert FAILURES_ALLOWED <= checked <= FAILURES_ALLOWED + VERIFYING_AT_ONCE - 1
        assert statuses.count(429) == len(statuses) - checked
        assert await import_mode(http) is True


def test_failed_logins_expire_and_their_addresses_are_bounded() -> None:
    now = [1000.0]
    failed = FailedLogins(allowed=3, window_s=60.0, kept=2, clock=lambda: now[0])
    for step in (0.0, 10.0, 10.0):
        now[0] += step
        failed.check("10.0.0.1")
        failed.failed("10.0.0.1")
    now[0] += 15.0  # 35 s after the first of the three
    with pytest.raises(TooManyFailures) as refused:
        failed.check("10.0.0.1")
    assert refused.value.retry_after_s == 25 and refused.value.http_status == 429
    failed.check("10.0.0.2")  # another address is not held up
    now[0] += 25.0  # the first failure is a minute old: one more may try
    failed.check("10.0.0.1")
    failed.failed("10.0.0.1")
    with pytest.raises(TooManyFailures):
        failed.check("10.0.0.1")
    failed.succeeded("10.0.0.1")  # a right login forgets the failures
    failed.check("10.0.0.1")
    assert len(failed) == 0

    for address in ("a", "b", "c"):  # a third address: "a", heard from least recently, goes
        failed.failed(address)
    assert len(failed) == 2
    failed.failed("a")  # so it starts again ("b" goes in turn)
    failed.failed("a")
    failed.check("a")  # two failures kept, not three
    failed.failed("a")
    with pytest.raises(TooManyFailures):
        failed.check("a")
    assert len(failed) == 2


def _load(tmp_path: Path, auth: dict[str, Any]) -> Any:
    return load_settings(write_config(tmp_path, web={"auth": auth}))


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"users": [{"name": "alice", "password": PASSWORD}]}, "asyncpdf hash-password"),
        ({"users": [{"name": "alice", "password_hash": PASSWORD}]}, "asyncpdf hash-password"),
        (
            {"users": [{"name": "alice", "password_hash": hash_password(PASSWORD, iterations=1)}]},
            "iterations must be",
        ),
        ({"tokens": [{"name": "script", "token": TOKEN}]}, "token_sha256"),
        ({"tokens": [{"name": "script", "token_env": "ASYNCPDF_NO_SUCH_VAR"}]}, "not set"),
        ({"read": "protected"}, "nobody could get in"),
    ],
)
def test_the_config_refuses_plain_secrets_naming_the_field(
    tmp_path: Path, auth: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, auth)
    message = str(refused.value)
    assert "web.auth" in message and expected in message
    assert PASSWORD not in message and TOKEN not in message


def test_a_token_file_is_read_and_hashed_at_load(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    settings = _load(
        tmp_path, {"tokens": [{"name": "cron", "token_file": str(tmp_path / "token")}]}
    )
    (token,) = settings.web.auth.tokens
    assert token.token_sha256 == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in repr(settings)


async def test_hash_password_prints_a_hash_that_logs_in(
    client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("pbkdf2_sha256$") and PASSWORD not in out
    async with client(auth={"users": [{"name": "alice", "password_hash": out}]}) as http:
        assert (await switch(http, True, headers=basic("alice", "wrong"))).status == 401
        assert (await switch(http, True, headers=GOOD)).status == 200
        assert await import_mode(http) is True


def test_hash_password_refuses_an_empty_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["hash-password"]) == 2
    assert capsys.readouterr().out == ""
