"""The service under a low open-files limit, as a subprocess: websockets beyond what fits are
refused, and so are plain connections past the connection limit, so jobs still get their
descriptors and nothing floods the log; a soft limit below the hard one is raised at start-up."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from asyncpdf.testing.samples import make_samples
from asyncpdf.web.limits import CONNECTIONS_SHARE, WEBSOCKETS_SHARE
from tests.support import Service, wait_finished, wait_for, write_config

#: Soft and hard limit of the service in the main test: raising the soft one cannot help.
LOW = 128
#: Websockets and connections the service takes under LOW.
CAP = int(LOW * WEBSOCKETS_SHARE)
CONNECTIONS = int(LOW * CONNECTIONS_SHARE)
#: Most lines the whole run may log (about one per request; without the fix asyncio logged
#: some 5,800 lines a second while accept() failed).
MAX_LOG_LINES = 200
#: Idle connections are held until the test closes them: had the first ones timed out (408)
#: while a busy machine was still opening the rest, their places would take later ones, which
#: the test counts as refused.
QUIET_CLIENTS_HELD = {"header_timeout_s": 300, "idle_timeout_s": 600}


@dataclass
class LimitedService(Service):
    """`Service` under a low open-files limit, with what these tests read of it."""

    open_files: tuple[int, int] | None = (LOW, LOW)

    def open_files_now(self) -> tuple[int, int]:
        assert self.process is not None
        limits = Path(f"/proc/{self.process.pid}/limits").read_text()
        (row,) = [line for line in limits.splitlines() if line.startswith("Max open files")]
        soft, hard = row.split()[3:5]
        return int(soft), int(hard)

    def log_lines(self) -> list[str]:
        return self.log_text().splitlines()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Any]:
    started: list[LimitedService] = []

    def make(open_files: tuple[int, int]) -> LimitedService:
        config = write_config(tmp_path, web=QUIET_CLIENTS_HELD)
        port = yaml.safe_load(config.read_text())["web"]["port"]
        service = LimitedService(root=tmp_path, config=config, port=port, open_files=open_files)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


async def metric(http: aiohttp.ClientSession, service: Service, line: str) -> float:
    async with http.get(f"{service.url}/metrics") as response:
        text = await response.text()
    (value,) = [row.rsplit(" ", 1)[1] for row in text.splitlines() if row.startswith(line + " ")]
    return float(value)


async def test_more_websockets_than_fit_fail_requests_not_jobs(
    limited: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    service: LimitedService = limited((LOW, LOW))
    await service.start()
    assert service.open_files_now() == (LOW, LOW)
    first, second = make_samples(tmp_path / "samples", count=2, seed=5)

    # Websockets: the first CAP are taken, the rest refused with 503 and a closed connection.
    opened: list[aiohttp.ClientWebSocketResponse] = []
    statuses: list[int] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as clients:
        for _ in range(CAP + 16):
            try:
                opened.append(await asyncio.wait_for(clients.ws_connect(f"{service.url}/ws"), 60))
            except aiohttp.WSServerHandshakeError as exc:
                statuses.append(exc.status)
        assert len(opened) == CAP and statuses == [503] * 16
        assert await metric(http, service, 'asyncpdf_websocket_refused_total{reason="limit"}') == 16

        # ...and a job dropped while they are open gets what it needs, and they hear of it.
        shutil.copy(first, service.hotfolder / first.name)
        (job,) = await wait_finished(http, service, 1, timeout_s=120)
        assert job["state"] == "done", job["error"]
        message = await asyncio.wait_for(opened[0].receive(), 60)
        assert message.type == aiohttp.WSMsgType.TEXT

        # Idle plain connections, as many as the limit: those past web.max_connections' share
        # get a 503 and are closed at once, so a job dropped meanwhile still gets descriptors.
        held: list[asyncio.StreamWriter] = []
        answers: list[asyncio.Task[bytes]] = []
        for _ in range(LOW):
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", service.port), 60
            )
            held.append(writer)
            answers.append(asyncio.create_task(reader.read()))
        dropped = service.hotfolder / second.name
        shutil.copy(second, dropped)

        # Claimed while they are held (the folder says so: the API is among what is refused).
        async def claimed() -> bool:
            return not dropped.exists()

        await wait_for(claimed, 120, "the second file to be claimed")

        # Those past the share are answered and closed; on a busy machine some wait in the
        # backlog until a job gives back the descriptors accept() lacked.
        async def refused_all() -> bool:
            return sum(answer.done() for answer in answers) >= LOW - CONNECTIONS

        await wait_for(refused_all, 120, "the connections past the share to be refused")
        lines_held = len(service.log_lines())
        for writer in held:
            writer.close()
        for answer in answers:
            answer.cancel()
        jobs = await wait_finished(http, service, 2, timeout_s=120)
        assert [job["state"] for job in jobs] == ["done", "done"], [j["error"] for j in jobs]
        refused = await metric(http, service, "asyncpdf_connections_refused_total")
        assert refused >= LOW - CONNECTIONS
        # How many accept() calls failed for want of descriptors depends on how many
        # connections wait at once (asyncio accepts a backlog's worth per pass), which is
        # the machine's load; that they are counted and never flood the log is not.
        assert await metric(http, service, "asyncpdf_accept_failures_total") >= 0
        for ws in opened:
            await ws.close()

    lines = service.log_lines()
    assert lines_held < MAX_LOG_LINES and len(lines) < MAX_LOG_LINES, lines[-20:]
    assert not any("out of system resource" in line for line in lines)
    assert f"live log limited to {CAP} websockets" in service.log_text()


async def test_the_soft_open_files_limit_is_raised_to_the_hard_one(limited: Any) -> None:
    service: LimitedService = limited((LOW, 4 * LOW))
    await service.start()
    assert service.open_files_now() == (4 * LOW, 4 * LOW)
    assert "live log limited" not in service.log_text()
