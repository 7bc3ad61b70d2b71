"""The jobs API in-process, called like a client: the history's filters, totals and CSV; an
upload taken into the pipeline and called back at its end; a failed delivery retried; a job
run again; a record deleted while its file is kept; and the live events, numbered, resumed
from where a page left off."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import PRESSES, wait_for, write_config

Client = TestClient[web.Request, web.Application]
TOKEN = "api-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PRICES = {"Speedmaster": 10.0, "Planeta": 12.5, "Dominant": 4.0}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    """The app with a token for changes and priced plates."""
    presses = [{**press, "plate_cost": PRICES[press["name"]]} for press in PRESSES]
    web_section = {
        "auth": {"tokens": [{"name": "tests", "token_sha256": _sha256(TOKEN)}]},
    }
    # The callback servers here run on this machine: allowed by name.
    notify = {"callback_allow": ["127.0.0.1"]}
    config = write_config(tmp_path, presses=presses, web=web_section, notify=notify)
    client = TestClient(TestServer(create_app(load_settings(config))))
    await client.start_server()
    yield client
    await client.close()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _hotfolder(client: Client) -> Path:
    return client.app[SERVICE].settings.paths.hotfolder


async def _jobs(client: Client, **params: str) -> dict[str, Any]:
    response = await client.get("/api/jobs", params=params)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _finished(client: Client, count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        jobs = (await _jobs(client, limit="500"))["jobs"]
        done = [job for job in jobs if job["finished_at"] is not None]
        return done if len(done) >= count else None

    found: list[dict[str, Any]] = await wait_for(check, 90, f"{count} finished jobs")
    return found


async def _detail(client: Client, job_id: int) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get(f"/api/jobs/{job_id}")).json()
    return body


async def test_history_filters_totals_and_csv(api: Client, tmp_path: Path) -> None:
    samples = make_samples(tmp_path / "samples", count=4, seed=31)
    names = ["1_Каталог осень_x.pdf", "2_Каталог зима_x.pdf", "3_Buklet_x.pdf", "4_Flyer_x.pdf"]
    dropped = []
    for sample, name in zip(samples, names, strict=True):
        order, _, bureau = sample.stem.split("_")
        dropped.append(f"{order}_{name.split('_')[1]}_{bureau}.pdf")
        shutil.copy(sample, _hotfolder(api) / dropped[-1])
    jobs = await _finished(api, 4)
    assert {job["state"] for job in jobs} == {"done"}

    body = await _jobs(api)
    assert body["total"] == 4 and [job["id"] for job in body["jobs"]] == sorted(
        (job["id"] for job in jobs), reverse=True
    )
    since = (date.today() - timedelta(days=59)).isoformat()
    assert body["filters"] == {
        "since": since,
        "until": None,
        "bureau": None,
        "press": None,
        "state": [],
        "name": None,
    }
    row = body["jobs"][0]
    assert row["created_at"].endswith("+00:00") and row["links"]["page"] == f"/jobs/{row['id']}"
    assert row["links"]["thumb"] == f"/api/jobs/{row['id']}/thumb.jpg"
    assert row["deliveries"][0]["kind"] == "bureau" and row["deliveries"][0]["state"] == "sent"
    assert row["complects"] >= 1 and row["plates"] >= row["complects"] and row["inks"]

    # A name filter matches Cyrillic case-insensitively; a leading "-" excludes.
    autumn = await _jobs(api, name="каталог")
    assert {job["name"] for job in autumn["jobs"]} == set(dropped[:2])
    rest = await _jobs(api, name="-КАТАЛОГ")
    assert {job["name"] for job in rest["jobs"]} == set(dropped[2:])
    assert (await _jobs(api, limit="1", offset="1"))["total"] == 4
    assert len((await _jobs(api, limit="1", offset="1"))["jobs"]) == 1

    # Totals: every plate of the done jobs, per press and per bureau, priced by the press.
    presses: dict[str, int] = {}
    for job in body["jobs"]:
        detail = await _detail(api, job["id"])
        for page in detail["analysis"]["pages"]:
            presses[page["press"]] = presses.get(page["press"], 0) + page["plates"]
    totals = body["totals"]
    assert {entry["press"]: entry["plates"] for entry in totals["by_press"]} == presses
    assert totals["cost"] == pytest.approx(sum(PRICES[p] * n for p, n in presses.items()))
    assert sum(entry["plates"] for entry in totals["by_bureau"]) == totals["plates"]
    assert totals["warnings"] == []

    press = next(iter(presses))
    by_press = await _jobs(api, press=press.lower())
    assert by_press["total"] >= 1
    assert all(press in job["presses"] for job in by_press["jobs"])
    bureau = row["bureau"]
    assert {job["bureau"] for job in (await _jobs(api, bureau=bureau))["jobs"]} == {bureau}
    assert (await _jobs(api, state="failed"))["total"] == 0
    assert (await _jobs(api, state="done,failed"))["total"] == 4
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert (await _jobs(api, since=tomorrow))["total"] == 0
    assert (await _jobs(api, since="", until=date.today().isoformat()))["total"] == 4

    for bad in ({"since": "yesterday"}, {"state": "lost"}, {"since": tomorrow, "until": since}):
        response = await api.get("/api/jobs", params=bad)
        assert response.status == 400 and "error" in await response.json()

    response = await api.get("/api/jobs.csv", params={"name": "каталог"})
    assert response.status == 200 and response.content_type == "text/csv"
    text = await response.text()
    assert text.startswith("\ufeff")
    first, rest = text.lstrip("\ufeff").split("\n", 1)
    since = (date.today() - timedelta(days=59)).isoformat()
    assert next(csv.reader([first])) == [f"filters: since {since}, name каталог"]
    table = list(csv.DictReader(io.StringIO(rest)))
    assert {line["name"] for line in table} == set(dropped[:2])
    assert all(line["deliveries"].startswith("bureau sent") for line in table)
    # Local time to the second, and each delivered job's cost.
    local_second = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    assert all(local_second.fullmatch(line["created_at"]) for line in table)
    assert all(float(line["cost"]) >= 0 for line in table)

    # The bureau filter takes part of a name.
    bureau = table[0]["bureau"]
    assert (await _jobs(api, bureau=bureau[:3].lower()))["total"] >= 1


async def test_counters_in_status(api: Client) -> None:
    status = await (await api.get("/api/status")).json()
    assert status["counters"] == {"waiting": 0, "in_work": 0, "failed_today": 0}


class Receiver:
    """A callback endpoint on 127.0.0.1 that fails its first call, then takes them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures = 1
        self.app = web.Application()
        self.app.router.add_post("/done", self.done)

    async def done(self, request: web.Request) -> web.Response:
        if self.failures:
            self.failures -= 1
            return web.Response(status=503, text="busy")
        self.calls.append(await request.json())
        return web.Response(text="thanks")


async def test_upload_is_claimed_and_called_back(api: Client, tmp_path: Path) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=32)
    receiver = Receiver()
    server = TestServer(receiver.app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/done?token=secret"))
        form = aiohttp.FormData()
        form.add_field("callback_url", url)
        form.add_field("file", sample.read_bytes(), filename=f"../../{sample.name}")
        response = await api.post("/api/jobs", data=form, headers=AUTH)
        assert response.status == 202, await response.text()
        body = await response.json()
        job_id = body["id"]
        assert body["url"] == f"/api/jobs/{job_id}" == response.headers["Location"]
        assert body["page"] == f"/jobs/{job_id}"

        async def called() -> dict[str, Any] | None:
            found = await _detail(api, job_id)
            sent = found["notifications"] and found["notifications"][0]["state"] == "sent"
            return found if sent else None

        detail = await wait_for(called, 90, "the callback")
    finally:
        await server.close()
    (call,) = receiver.calls
    assert call["job"]["id"] == job_id and call["job"]["state"] == "done"
    assert call["job"]["name"] == sample.name
    assert detail["log"][0]["message"] == f"received “{sample.name}” (uploaded through the API)"
    (notice,) = detail["notifications"]
    assert notice["channel"] == "callback" and notice["state"] == "sent"
    # The first call was refused (503), the second taken; the query's token is never logged.
    assert notice["attempts"] == 2
    retried = [line["message"] for line in detail["log"] if "callback" in line["message"]]
    assert retried and all("secret" not in message for message in retried)
    # The staging folder is gone; the file was delivered as a dropped one is.
    spool = api.app[SERVICE].settings.paths.spool
    assert [p.name for p in spool.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"file": ("notes.txt", b"%PDF-1.7")}, 400, "must end in .pdf"),
        ({"other": ("x.pdf", b"%PDF")}, 400, "unexpected or repeated field"),
        ({"callback_url": "ftp://host/x", "file": ("a.pdf", b"%PDF")}, 400, "http:// or https://"),
        ({"file": ("big.pdf", b"%PDF" + b"0" * 2_000_000)}, 413, "larger than 1 MB"),
    ],
)
async def test_bad_uploads_are_refused_and_leave_nothing(
    tmp_path: Path, fields: dict[str, Any], status: int, says: str
) -> None:
    web_section = {"auth": {"tokens": [{"name": "tests", "token_sha256": _sha256(TOKEN)}]}}
    config = write_config(tmp_path, web=web_section, max_file_mb=1)
    async with TestClient(TestServer(create_app(load_settings(config)))) as client:
        form = aiohttp.FormData()
        for name, value in fields.items():
            if isinstance(value, tuple):
                form.add_field(name, value[1], filename=value[0])
            else:
                form.add_field(name, value)
        response = await client.post("/api/jobs", data=form, headers=AUTH)
        assert response.status == status
        assert says in (await response.json())["error"]["message"]
        spool = client.app[SERVICE].settings.paths.spool
        assert list(spool.iterdir()) == []
        assert (await _jobs(client))["total"] == 0
        unauthorised = await client.post("/api/jobs", data=b"x")
        assert unauthorised.status == 401


async def test_failed_delivery_retried_on_request_then_done(api: Client, tmp_path: Path) -> None:
    settings = api.app[SERVICE].settings
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=33)
    bureau = sample.stem.split("_")[2]
    target = Path(next(b for b in settings.bureaus if b.name == bureau).target[len("file://") :])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"in the way: a file where the bureau's folder should be")
    shutil.copy(sample, _hotfolder(api) / sample.name)
    (job,) = await _finished(api, 1)
    assert job["state"] == "failed" and job["deliveries"][0]["state"] == "failed"
    kept = settings.paths.error / sample.name
    assert kept.exists()

    assert (await api.post(f"/api/jobs/{job['id']}/retry")).status == 401
    target.unlink()
    response = await api.post(f"/api/jobs/{job['id']}/retry", headers=AUTH)
    assert response.status == 200, await response.text()
    assert await response.json() == {"retried": ["bureau"]}

    async def done() -> dict[str, Any] | None:
        found = (await _jobs(api))["jobs"][0]
        return found if found["state"] == "done" else None

    again = await wait_for(done, 60, "the retried job to be done")
    assert again["error"] is None and again["deliveries"][0]["state"] == "sent"
    (delivered,) = target.iterdir()
    assert delivered.read_bytes() == sample.read_bytes()
    assert (settings.paths.done / sample.name).exists() and not kept.exists()
    assert not Path(f"{kept}.error.txt").exists()
    messages = [line["message"] for line in (await _detail(api, job["id"]))["log"]]
    assert "retrying on request: bureau" in messages and messages[-1] == "done"

    response = await api.post(f"/api/jobs/{job['id']}/retry", headers=AUTH)
    assert response.status == 409
    assert "no failed delivery" in (await response.json())["error"]["message"]


async def test_rerun_links_a_new_job_and_delete_keeps_the_file(api: Client, tmp_path: Path) -> None:
    settings = api.app[SERVICE].settings
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=34)
    shutil.copy(sample, _hotfolder(api) / sample.name)
    (job,) = await _finished(api, 1)
    first = job["id"]
    kept = settings.paths.done / sample.name
    assert job["state"] == "done" and kept.exists()

    response = await api.post(f"/api/jobs/{first}/rerun", headers=AUTH)
    assert response.status == 202
    body = await response.json()
    second = body["id"]
    assert body["rerun_of"] == first and body["page"] == f"/jobs/{second}"

    async def ended() -> dict[str, Any] | None:
        found = await _detail(api, second)
        return found if found["job"]["finished_at"] else None

    rerun = await wait_for(ended, 60, "the rerun to end")
    # The same file, delivered already: the rule against sending twice holds for reruns.
    assert rerun["job"]["state"] == "duplicate" and rerun["job"]["rerun_of"] == first
    assert rerun["log"][0]["message"].endswith(f"(run again from job {first})")
    assert (await _detail(api, first))["rerun_by"] == [second]
    before = kept.read_bytes()

    previews = settings.paths.previews / str(first)
    assert previews.is_dir()
    response = await api.delete(f"/api/jobs/{first}", headers=AUTH)
    assert response.status == 200 and await response.json() == {"deleted": first}
    assert (await api.get(f"/api/jobs/{first}")).status == 404
    assert first not in [j["id"] for j in (await _jobs(api))["jobs"]]
    assert kept.read_bytes() == before and not previews.exists()
    assert (await api.delete(f"/api/jobs/{first}", headers=AUTH)).status == 404

    # Its checksum stays: the same file dropped again is still not sent twice.
    shutil.copy(sample, _hotfolder(api) / f"again {sample.name}")
    third = await _finished(api, 2)
    assert max(third, key=lambda j: j["id"])["state"] == "duplicate"


async def test_unfinished_job_cannot_be_deleted_or_rerun(api: Client) -> None:
    store = api.app[SERVICE].store
    async with store.transaction():
        job_id = await store.jobs.create("waiting.pdf")
    for method, path in (("DELETE", ""), ("POST", "/rerun"), ("POST", "/retry")):
        response = await api.request(method, f"/api/jobs/{job_id}{path}", headers=AUTH)
        assert response.status == 409, path
        assert "error" in await response.json()


async def test_live_events_are_numbered_and_resume(api: Client, tmp_path: Path) -> None:
    samples = make_samples(tmp_path / "samples", count=2, seed=35)
    first = await api.ws_connect("/ws?tail=0")
    hello = await first.receive_json()
    assert hello == {"type": "hello", "seq": 0}
    shutil.copy(samples[0], _hotfolder(api) / samples[0].name)
    seen: list[dict[str, Any]] = []
    while not any(e["type"] == "job" and e["job"]["state"] == "done" for e in seen):
        seen.append(await asyncio.wait_for(first.receive_json(), 60))
    await first.close()
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert {e["type"] for e in seen} == {"log", "job"}

    # Away while the second file is processed: on return, exactly what was missed.
    last = seen[-1]["seq"]
    shutil.copy(samples[1], _hotfolder(api) / samples[1].name)
    await _finished(api, 2)

    async def logged_done() -> bool:
        # The job reads done at its commit; the "done" line follows it.
        return any(line["message"] == "done" for line in (await _detail(api, 2))["log"])

    await wait_for(logged_done, 60, "job 2's done line")
    again = await api.ws_connect(f"/ws?after={last}")
    hello = await again.receive_json()
    missed = [await asyncio.wait_for(again.receive_json(), 60) for _ in range(hello["seq"] - last)]
    assert [e["seq"] for e in missed] == list(range(last + 1, hello["seq"] + 1))
    assert any(e["type"] == "job" and e["job"]["state"] == "done" for e in missed)
    assert missed[-1] == {**missed[-1], "type": "log", "message": "done"}
    await again.close()

    # From the database when memory no longer has them (after a restart, say).
    api.app[SERVICE].bus._recent.clear()
    stored = await api.ws_connect(f"/ws?after={last}")
    assert (await stored.receive_json())["seq"] == hello["seq"]
    replay = [await asyncio.wait_for(stored.receive_json(), 60) for _ in missed]
    assert replay == missed
    await stored.close()

    tail = await api.ws_connect("/ws?tail=3")
    await tail.receive_json()
    assert [(await tail.receive_json())["seq"] for _ in range(3)] == [
        hello["seq"] - 2,
        hello["seq"] - 1,
        hello["seq"],
    ]
    await tail.close()


async def test_a_page_too_far_behind_is_told_to_reload(api: Client) -> None:
    store = api.app[SERVICE].store
    async with store.transaction():
        await store.events.add([{"type": "log", "message": "old"}] * 3)
    async with store.transaction():
        await store._db.execute("DELETE FROM events WHERE seq < 3")
    api.app[SERVICE].bus.start_at(3)
    ws = await api.ws_connect("/ws?after=0")
    assert await ws.receive_json() == {"type": "hello", "seq": 3}
    assert await ws.receive_json() == {"type": "reset", "seq": 3}
    await ws.close()
