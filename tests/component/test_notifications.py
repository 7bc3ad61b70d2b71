"""Notices of finished jobs through the real service (in-process, real SQLite, real pool and
`file://` targets) to fake Telegram, smsc and webhook servers on 127.0.0.1: what each recipient
gets, retries with backoff, giving up with a warning that leaves the job's result alone, the
loud line when the bureau got nothing, admins only for quiet jobs, and a notice cut off by a
stop sent after the next start. The fake APIs answer after LATENCY_S, as real ones do: a
notice being sent must not be picked up again meanwhile."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import Job, LogLine, Notification
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from tests.support import BUREAUS, Shop, wait_for
from tests.support.endpoints import (
    ERROR,
    HANG,
    OK,
    SMS,
    TELEGRAM,
    WEBHOOK,
    WRONG_CHAT,
    Endpoints,
    Hit,
    Reply,
)

TOKEN = "123456:TEST-token_abc"
SMS_PASSWORD = "sms-Pa55"
HOOK_SECRET = "hook-signing-S3CRET"
HOOK_AUTH = "Bearer hook-auth"
ADMIN_CHAT, CHAT = "11", "12"
ADMIN_PHONE, PHONE = "+380501111111", "+380502222222"
ADMIN_HOOK, HOOK = "ops", "crm"
ORDER, ORDER_NAME = "1001", "Каталог <весна> & лето"
PRESS = "Speedmaster"
PAGES, INKS = 2, 4  # the sample's plates: every page in CMYK
# Short enough for quick tests, long enough for a loaded machine to answer a good request.
TIMEOUT_S = 5.0
LATENCY_S = 0.05
QUICK_RETRIES = {"attempts": 6, "backoff_s": 0.1, "max_delay_s": 0.5}


def notify_config(fake: Endpoints, **overrides: Any) -> dict[str, Any]:
    """Two of each kind of recipient, one an admin, all at `fake`."""
    return {
        "timeout_s": TIMEOUT_S,
        **QUICK_RETRIES,
        "telegram": {
            "token": TOKEN,
            "api_url": fake.url,
            "chats": [{"id": int(ADMIN_CHAT), "admin": True}, {"id": int(CHAT)}],
        },
        "sms": {
            "login": "shop",
            "password": SMS_PASSWORD,
            "api_url": fake.url,
            "phones": [{"number": ADMIN_PHONE, "admin": True}, {"number": PHONE}],
        },
        "webhooks": [
            {
                "url": fake.hook_url(ADMIN_HOOK),
                "name": ADMIN_HOOK,
                "auth_header": "Authorization",
                "auth_value": HOOK_AUTH,
                "secret": HOOK_SECRET,
                "admin": True,
            },
            {"url": fake.hook_url(HOOK), "name": HOOK},
        ],
        **overrides,
    }


EVERYONE = {
    (TELEGRAM, ADMIN_CHAT),
    (TELEGRAM, CHAT),
    (SMS, ADMIN_PHONE),
    (SMS, PHONE),
    (WEBHOOK, ADMIN_HOOK),
    (WEBHOOK, HOOK),
}
ADMINS = {(TELEGRAM, ADMIN_CHAT), (SMS, ADMIN_PHONE), (WEBHOOK, ADMIN_HOOK)}


@pytest.fixture
async def fake() -> AsyncIterator[Endpoints]:
    async with Endpoints(latency_s=LATENCY_S) as endpoints:
        yield endpoints


@pytest.fixture
async def shops() -> AsyncIterator[list[Shop]]:
    """Shops a test starts, stopped after it (before `fake` closes: asked for after it)."""
    made: list[Shop] = []
    yield made
    for shop in made:
        await shop.stop()


async def open_shop(
    shops: list[Shop],
    root: Path,
    fake: Endpoints,
    notify: dict[str, Any] | None = None,
    **config: Any,
) -> Shop:
    # No job here hangs: a job timeout far above what a busy machine needs.
    config.setdefault("pool", {"job_timeout_s": 120})
    shop = Shop(root, samples=0, notify=notify_config(fake, **(notify or {})), **config)
    shops.append(shop)
    await shop.start()
    return shop


async def run_job(shop: Shop, bureau: str, *, order: str = ORDER, imported: bool = False) -> int:
    """A plate for `bureau` on PRESS, claimed from the hotfolder as the watcher would."""
    page = SamplePage((1030, 770), marks=signa_marks(bureau, PRESS, (900, 640)))
    path = write_sample(shop.paths.hotfolder / f"{order}_{ORDER_NAME}_{bureau}.pdf", [page] * PAGES)
    job_id = await shop.running.claims.claim(path, imported=imported)
    assert job_id is not None
    return job_id


async def settled(shop: Shop, job_id: int, timeout_s: float = 120) -> list[Notification]:
    """The job's outbox rows once the job has ended and every notice is sent or failed."""
    store = shop.running.store

    async def check() -> list[Notification] | None:
        rows = await store.outbox.of_job(job_id)
        ended = (await store.jobs.header(job_id)).state.terminal
        return rows if ended and rows and all(r.state in ("sent", "failed") for r in rows) else None

    return list(await wait_for(check, timeout_s, f"job {job_id} ended and notified"))


def by_recipient(rows: list[Notification]) -> dict[tuple[str, str], Notification]:
    found = {(row.channel, row.address): row for row in rows}
    assert len(found) == len(rows), rows
    return found


async def job_and_log(shop: Shop, job_id: int) -> tuple[Job, list[LogLine]]:
    store = shop.running.store
    return await store.jobs.get(job_id), await store.log.of_job(job_id)


def messages(log: list[LogLine], start: str, level: str | None = None) -> list[str]:
    return [
        line.message
        for line in log
        if line.message.startswith(start) and (level is None or line.level == level)
    ]


def the_one(fake: Endpoints, channel: str, address: str) -> Hit:
    """The one request `address` got."""
    hits = fake.of(channel, address)
    assert len(hits) == 1, f"{channel} {address} got {len(hits)} requests"
    return hits[0]


def times_heard(fake: Endpoints) -> dict[tuple[str, str], int]:
    return dict(Counter((hit.channel, hit.address) for hit in fake.hits))


def assert_signed(hit: Hit) -> None:
    """The receiver's check, made here with hmac and the shared secret, not the product's."""
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["X-Asyncpdf-Signature"], expected)


async def test_a_done_job_notifies_every_recipient(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    shop = await open_shop(shops, tmp_path, fake)
    job_id = await run_job(shop, "Leonov")
    rows = by_recipient(await settled(shop, job_id))
    job, log = await job_and_log(shop, job_id)

    assert job.state is JobState.DONE
    assert set(rows) == EVERYONE
    assert {(row.state, row.attempts, row.error) for row in rows.values()} == {("sent", 1, None)}
    assert all(row.sent_at is not None for row in rows.values())
    assert set(times_heard(fake)) == EVERYONE
    bureau_target = (tmp_path / "outbox" / "Leonov").as_uri()

    for chat in (ADMIN_CHAT, CHAT):
        hit = the_one(fake, TELEGRAM, chat)
        assert hit.path == f"/bot{TOKEN}/sendMessage"
        body = hit.json()
        assert body["chat_id"] == int(chat) and body["parse_mode"] == "HTML"
        lines = body["text"].splitlines()
        # Every value escaped: the order name holds <, > and &.
        assert lines[0] == f"<b>{ORDER} Каталог &lt;весна&gt; &amp; лето</b>"
        assert lines[1] == f"Leonov - {PRESS} - {PAGES * INKS} plates"
        assert lines[2] == f"✅ bureau → {bureau_target}: sent"

    for phone in (ADMIN_PHONE, PHONE):
        form = the_one(fake, SMS, phone).form()
        assert form["mes"] == f"{ORDER} {ORDER_NAME} {PAGES * INKS}->{PRESS} Leonov"
        assert (form["login"], form["psw"], form["phones"]) == ("shop", SMS_PASSWORD, phone)

    signed = the_one(fake, WEBHOOK, ADMIN_HOOK)
    assert_signed(signed)
    assert signed.headers["Authorization"] == HOOK_AUTH
    assert signed.headers["Content-Type"] == "application/json"
    sent = signed.json()
    assert {k: sent[k] for k in ("job_id", "job_state", "order", "order_name", "bureau")} == {
        "job_id": job_id,
        "job_state": "done",
        "order": ORDER,
        "order_name": ORDER_NAME,
        "bureau": "Leonov",
    }
    assert (sent["press"], sent["plates"], sent["bureau_failed"]) == (PRESS, PAGES * INKS, False)
    assert sent["deliveries"] == [
        {"kind": "bureau", "target": bureau_target, "state": "sent", "error": None}
    ]
    plain = the_one(fake, WEBHOOK, HOOK)
    assert json.loads(plain.body) == sent
    assert "X-Asyncpdf-Signature" not in plain.headers and "Authorization" not in plain.headers

    assert set(messages(log, "notified ")) == {f"notified {c} {a}" for c, a in EVERYONE}
    assert messages(log, "could not notify") == []


async def test_each_recipient_hears_of_a_job_once(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    fake.script(TELEGRAM, CHAT, then=WRONG_CHAT)
    shop = await open_shop(shops, tmp_path, fake)
    job_id = await run_job(shop, "Leonov")
    await settled(shop, job_id)
    _, log = await job_and_log(shop, job_id)

    assert times_heard(fake) == dict.fromkeys(EVERYONE, 1)
    assert sorted(messages(log, "notified ")) == sorted(
        f"notified {c} {a}" for c, a in EVERYONE - {(TELEGRAM, CHAT)}
    )
    assert len(messages(log, "could not notify", "warning")) == 1


async def test_a_failing_endpoint_is_retried_with_backoff_until_it_answers(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    fake.script(TELEGRAM, CHAT, ERROR, ERROR, ERROR, then=OK)
    fake.script(WEBHOOK, HOOK, ERROR, ERROR, then=OK)
    shop = await open_shop(shops, tmp_path, fake)
    job_id = await run_job(shop, "Leonov")
    rows = by_recipient(await settled(shop, job_id))
    job, log = await job_and_log(shop, job_id)

    assert {row.state for row in rows.values()} == {"sent"}
    assert job.state is JobState.DONE and messages(log, "could not notify") == []
    assert messages(log, f"notified telegram {CHAT}") == [f"notified telegram {CHAT}"]
    assert len(messages(log, f"notifying telegram {CHAT}: ")) == 3
    assert (rows[TELEGRAM, CHAT].attempts, rows[WEBHOOK, HOOK].attempts) == (4, 3)
    tries = fake.of(TELEGRAM, CHAT)
    assert len(tries) == 4 and len(fake.of(WEBHOOK, HOOK)) == 3
    # The waits are retry_delay's: at least half of backoff_s * 2**(n-1), up to max_delay_s.
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    floors = [min(0.5, 0.1 * 2**n) / 2 for n in range(len(gaps))]
    assert all(gap >= floor * 0.9 for gap, floor in zip(gaps, floors, strict=True)), gaps


@pytest.mark.parametrize(("reply", "reason"), [(ERROR, "HTTP 500"), (HANG, "did not answer")])
async def test_an_endpoint_that_never_answers_well_is_a_warning_not_a_failed_job(
    fake: Endpoints, shops: list[Shop], tmp_path: Path, reply: Reply, reason: str
) -> None:
    fake.script(SMS, PHONE, then=reply)
    fake.script(WEBHOOK, HOOK, then=reply)
    shop = await open_shop(shops, tmp_path, fake, {"timeout_s": 0.5})
    job_id = await run_job(shop, "Leonov")
    rows = by_recipient(await settled(shop, job_id))
    job, log = await job_and_log(shop, job_id)

    attempts = QUICK_RETRIES["attempts"]
    broken = {(SMS, PHONE), (WEBHOOK, HOOK)}
    for recipient in broken:
        row = rows[recipient]
        assert (row.state, row.attempts, row.sent_at) == ("failed", attempts, None)
        assert reason in (row.error or "")
        assert len(fake.of(*recipient)) == attempts
    assert {rows[r].state for r in EVERYONE - broken} == {"sent"}
    # The job's result is the bureau's, not the notices'.
    assert job.state is JobState.DONE and job.error is None
    warned = messages(log, "could not notify", "warning")
    assert {w.split(":")[0] for w in warned} == {f"could not notify {c} {a}" for c, a in broken}
    assert all(f"(after {attempts} attempt(s))" in w for w in warned)
    assert job.warnings == len(broken)


async def test_a_wrong_chat_fails_at_once(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    fake.script(TELEGRAM, CHAT, then=WRONG_CHAT)
    shop = await open_shop(shops, tmp_path, fake)
    job_id = await run_job(shop, "Leonov")
    rows = by_recipient(await settled(shop, job_id))
    job, log = await job_and_log(shop, job_id)

    wrong = rows[TELEGRAM, CHAT]
    assert (wrong.state, wrong.attempts, wrong.next_attempt_at) == ("failed", 1, None)
    assert "HTTP 400: Bad Request: chat not found" in (wrong.error or "")
    assert messages(log, f"notifying telegram {CHAT}") == []  # no retry was planned
    assert job.state is JobState.DONE and job.warnings > 0
    warned = messages(log, "could not notify", "warning")
    assert warned and all(w.startswith(f"could not notify telegram {CHAT}: ") for w in warned)
    assert {row.state for key, row in rows.items() if key != (TELEGRAM, CHAT)} == {"sent"}


async def test_when_the_bureau_got_nothing_the_notice_says_so_first(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    # A folder below a regular file can never be made: the bureau's upload fails for good.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    bureaus = [
        {"name": name, "target": (tmp_path / "outbox" / name).as_uri(), "notify": name != "Admin"}
        for name in BUREAUS
    ]
    bureaus[BUREAUS.index("Leonov")]["target"] = (blocker / "Leonov").as_uri()
    shop = await open_shop(
        shops, tmp_path, fake, bureaus=bureaus, delivery={"attempts": 1, "backoff_s": 0.1}
    )
    job_id = await run_job(shop, "Leonov")
    rows = by_recipient(await settled(shop, job_id))
    job, _ = await job_and_log(shop, job_id)

    assert job.state is JobState.FAILED
    assert set(rows) == EVERYONE and {row.state for row in rows.values()} == {"sent"}
    for chat in (ADMIN_CHAT, CHAT):
        first, second, *_ = the_one(fake, TELEGRAM, chat).json()["text"].splitlines()
        assert first.startswith("⚠️ <b>NOT DELIVERED to the bureau Leonov</b>: "), first
        assert second == f"<b>{ORDER} Каталог &lt;весна&gt; &amp; лето</b>"
    sms = the_one(fake, SMS, PHONE).form()["mes"]
    assert sms.startswith("NOT DELIVERED to Leonov! "), sms
    sent = the_one(fake, WEBHOOK, HOOK).json()
    assert (sent["job_state"], sent["bureau_failed"]) == ("failed", True)
    assert sent["deliveries"][0]["state"] == "failed" and sent["deliveries"][0]["error"]


async def test_quiet_jobs_notify_only_the_admins(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    """The bureau Admin has `notify: false`; a job made in import mode is quiet too."""
    shop = await open_shop(shops, tmp_path, fake)
    admin_job = await run_job(shop, "Admin", order="2001")
    imported_job = await run_job(shop, "Korol", order="2002", imported=True)
    loud_job = await run_job(shop, "Korol", order="2003")

    assert set(by_recipient(await settled(shop, admin_job))) == ADMINS
    assert set(by_recipient(await settled(shop, imported_job))) == ADMINS
    assert set(by_recipient(await settled(shop, loud_job))) == EVERYONE
    heard = {
        order: {(hit.channel, hit.address) for hit in fake.hits if order_of(hit) == order}
        for order in ("2001", "2002", "2003")
    }
    assert heard == {"2001": ADMINS, "2002": ADMINS, "2003": EVERYONE}


def order_of(hit: Hit) -> str:
    """Which job a request is about: the order that leads each kind of message."""
    if hit.channel == TELEGRAM:
        return str(hit.json()["text"]).removeprefix("<b>").split()[0]
    if hit.channel == SMS:
        return hit.form()["mes"].split()[0]
    return str(hit.json()["order"])


async def test_a_notice_cut_off_by_a_stop_is_sent_after_the_next_start(
    fake: Endpoints, shops: list[Shop], tmp_path: Path
) -> None:
    # The last recipient's endpoint hangs far past the stop (every other notice goes first).
    fake.script(WEBHOOK, HOOK, then=HANG)
    shop = await open_shop(shops, tmp_path, fake, {"timeout_s": 30})
    job_id = await run_job(shop, "Leonov")
    store = shop.running.store

    async def only_the_hung_one_left() -> bool:
        rows = await store.outbox.of_job(job_id)
        left = [(r.channel, r.address) for r in rows if r.state != "sent"]
        return len(rows) == len(EVERYONE) and left == [(WEBHOOK, HOOK)] and bool(fake.of(*left[0]))

    await wait_for(only_the_hung_one_left, 40, "every notice but the hung one sent")
    await shop.stop()

    with sqlite3.connect(shop.paths.database) as db:
        cut = db.execute(
            "SELECT state, attempts FROM outbox WHERE channel = ? AND address = ?", (WEBHOOK, HOOK)
        ).fetchall()
    # Cut off while being sent: no attempt counted, sent again at the next start.
    assert cut == [("sending", 0)]

    hung = len(fake.of(WEBHOOK, HOOK))
    fake.script(WEBHOOK, HOOK, then=OK)
    await shop.start()
    rows = by_recipient(await settled(shop, job_id))
    _, log = await job_and_log(shop, job_id)

    assert {row.state for row in rows.values()} == {"sent"}
    assert len(fake.of(WEBHOOK, HOOK)) > hung
    assert fake.of(WEBHOOK, HOOK)[-1].json()["job_id"] == job_id
    assert f"notified webhook {HOOK}" in messages(log, "notified ")
    assert messages(log, "could not notify") == []
