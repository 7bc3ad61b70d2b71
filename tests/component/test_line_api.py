"""What every page shows of the line, in-process like a client: `/api/line` names each
configured target (ok until it fails), import mode and who a request's login is for; `/signin`
asks for the login and goes back to a page of this service only; with no users configured it
says signing in is not set up, and the how-to goes to the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import encode_basic_auth, hdrs, web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from asyncpdf.web.app import create_app
from asyncpdf.web.auth_settings import MIN_ITERATIONS, hash_password
from asyncpdf.web.keys import SERVICE
from asyncpdf.web.line import NO_USERS
from tests.support import BUREAUS, free_port, wait_for, write_config

PASSWORD = "correct horse battery staple"
USERS = [{"name": "alice", "password_hash": hash_password(PASSWORD, iterations=MIN_ITERATIONS)}]
GOOD = {"Authorization": encode_basic_auth("alice", PASSWORD)}

App = TestClient[web.Request, web.Application]
Client = Callable[..., AbstractAsyncContextManager[App]]


@pytest.fixture
def client(tmp_path: Path) -> Client:
    @asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[App]:
        settings = load_settings(write_config(tmp_path, **overrides))
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()

    return started


async def test_the_line_names_every_target_and_who_is_signed_in(client: Client) -> None:
    async with client(web={"auth": {"users": USERS}}, delivery={"import_mode": True}) as app:
        line = await (await app.get("/api/line")).json()
        assert line["import_mode"] is True
        assert line["user"] is None and line["can_sign_in"] is True
        assert [(t["kind"], t["name"], t["ok"]) for t in line["targets"]] == [
            ("bureau", name, True) for name in BUREAUS
        ]
        assert all(t["failures_in_a_row"] == 0 for t in line["targets"])

        signed = await (await app.get("/api/line", headers=GOOD)).json()
        assert signed["user"] == "alice"
        wrong = {"Authorization": encode_basic_auth("alice", "guess")}
        assert (await (await app.get("/api/line", headers=wrong)).json())["user"] is None


async def test_sign_in_asks_for_the_login_and_goes_back_to_this_service(client: Client) -> None:
    async with client(web={"auth": {"users": USERS}}) as app:
        asked = await app.get("/signin?next=/jobs/3")
        assert asked.status == 401 and asked.headers[hdrs.WWW_AUTHENTICATE].startswith("Basic")
        back = await app.get("/signin?next=/jobs/3", headers=GOOD, allow_redirects=False)
        assert back.status == 303 and back.headers[hdrs.LOCATION] == "/jobs/3"
        for elsewhere in ("//evil.example/x", "https://evil.example/", "jobs"):
            away = await app.get(
                "/signin", params={"next": elsewhere}, headers=GOOD, allow_redirects=False
            )
            assert away.headers[hdrs.LOCATION] == "./"


async def test_with_no_users_sign_in_says_so_and_the_log_says_how(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with client() as app:
            assert "nobody can sign in to the page" in caplog.text
            assert (await (await app.get("/api/line")).json())["can_sign_in"] is False
            caplog.clear()
            page = await app.get("/signin")
            assert page.status == 404 and await page.text() == NO_USERS
            assert hdrs.WWW_AUTHENTICATE not in page.headers
            assert "web.auth.users" not in NO_USERS
            assert "web.auth.users" in caplog.text and "hash-password" in caplog.text


async def test_a_failing_bureau_is_named_with_since_when_and_its_error(
    client: Client, tmp_path: Path
) -> None:
    # Nothing listens on this port: each attempt is refused, and the bureau is backed off.
    closed = f"ftp://user:secret@127.0.0.1:{free_port()}/in?timeout_s=5"
    bureaus = [{"name": "Leonov", "target": closed}, {"name": "Korol", "target": "file:///tmp"}]
    async with client(bureaus=bureaus, delivery={"attempts": 5, "backoff_s": 60}) as app:
        settings = app.server.app[SERVICE].settings
        marks = signa_marks("Leonov", "Speedmaster", (900, 640))
        write_sample(
            settings.paths.hotfolder / "5_x_Leonov.pdf", [SamplePage((1030, 770), marks=marks)]
        )

        async def failing() -> dict[str, Any] | None:
            line = await (await app.get("/api/line")).json()
            found = {t["name"]: t for t in line["targets"]}
            return found["Leonov"] if not found["Leonov"]["ok"] else None

        leonov = await wait_for(failing, 60, "Leonov to be failing")
        assert leonov["state"] == "failing" and leonov["failing_since"]
        assert leonov["last_error"] and "secret" not in str(leonov)
