"""FTP and FTPS delivery through the real service (a subprocess) to pyftpdlib on 127.0.0.1: what
an operator sees (job state, the delivery receipt, the job log via the API) and what lands on
the server, for good transfers, an outage, a cut connection, a refusal, missing folders, a
restart in the middle of an upload, a hung bureau that must hold only its own deliveries, and a
target changed in the config. Debian's own servers: test_real_ftp_servers.py."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from tests.support import BUREAUS, PRESSES, Service, all_jobs, free_port, wait_finished, wait_for
from tests.support.ftpserver import PASSWORD, READER, USER, Certs, FtpServer, make_certs

MakeService = Callable[..., Service]
KB = 1 << 10
MB = 1 << 20
BUREAU = "Leonov"
PRESS = "Speedmaster"
SAMPLE = f"1001_Каталог весна_{BUREAU}.pdf"
FINAL = "1001_Каталог весна.pdf"  # as delivered: without the bureau tag
# Short enough that a hung transfer fails the test quickly, long enough for a loaded machine.
#: Client timeouts for servers that answer: they run in this process, beside the test, on a
#: machine that may be busy. (The hung bureau's drill sets its own short ones.)
TIMEOUTS = {"timeout_s": "30", "idle_s": "30"}
PART = re.compile(r"\.asyncpdf-[0-9a-f]{16}\.part")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def servers() -> Iterator[list[FtpServer]]:
    """FTP servers a test makes, all stopped after it."""
    made: list[FtpServer] = []
    yield made
    for server in made:
        server.stop()


def plate(folder: Path, *, filler_bytes: int = 64 * KB, seed: int = 0) -> Path:
    """A one-page Signa plate for BUREAU on PRESS; `filler_bytes` sets its size."""
    page = SamplePage((1030, 770), marks=signa_marks(BUREAU, PRESS, (900, 640)))
    return write_sample(folder / SAMPLE, [page], filler_bytes=filler_bytes, seed=seed)


def ftp_bureaus(server: FtpServer, user: str = USER, **options: str) -> list[dict[str, Any]]:
    """Every bureau delivering to its own folder on `server`."""
    return [
        {"name": name, "target": server.url(name, user=user, **options), "notify": False}
        for name in BUREAUS
    ]


def drop(service: Service, sample: Path) -> None:
    """Into the hotfolder under a name it ignores, then renamed: never seen half-copied."""
    part = service.hotfolder / f"{sample.name}.part"
    shutil.copy(sample, part)
    part.rename(service.hotfolder / sample.name)


async def job_detail(
    http: aiohttp.ClientSession, service: Service, job_id: int
) -> tuple[dict[str, Any], str]:
    """The job as /api/jobs/{id} gives it, parsed and as the raw text of the answer."""
    async with http.get(f"{service.url}/api/jobs/{job_id}") as response:
        assert response.status == 200
        text = await response.text()
        return await response.json(), text


async def finished_job(
    http: aiohttp.ClientSession, service: Service, timeout_s: float = 60
) -> tuple[dict[str, Any], str]:
    (job,) = await wait_finished(http, service, 1, timeout_s)
    return await job_detail(http, service, job["id"])


def receipt(detail: dict[str, Any], kind: str = "bureau") -> dict[str, Any]:
    (found,) = [d for d in detail["deliveries"] if d["kind"] == kind]
    return dict(found)


def messages(detail: dict[str, Any]) -> list[str]:
    return [line["message"] for line in detail["log"]]


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def assert_only_renamed_into(server: FtpServer, final: str, uploads: int) -> None:
    """The server's own record: every STOR went to a temporary `.part` name and `final` was
    made once, by renaming a complete one, so it never held a partial file."""
    assert len(server.stored) == uploads, server.stored
    assert all(PART.fullmatch(Path(name).name) for name in server.stored), server.stored
    (renamed,) = [pair for pair in server.renamed if pair[1] == final]
    assert renamed[0] in server.received, (renamed, server.received)


@contextlib.asynccontextmanager
async def watching(path: Path, size: int) -> AsyncIterator[list[int]]:
    """Sizes other than `size` seen at `path` while the block runs: an operator looking at the
    bureau's folder must never see a partial file under the final name."""
    wrong: list[int] = []

    async def watch() -> None:
        while True:
            with contextlib.suppress(FileNotFoundError):
                seen = path.stat().st_size
                if seen != size:
                    wrong.append(seen)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(watch())
    try:
        yield wrong
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.skipif(gs_path() is None, reason="the press preview needs Debian's ghostscript")
@pytest.mark.parametrize("kind", ["passive", "active", "ftps", "ftps-active"])
async def test_original_and_preview_arrive_identical_without_showing_the_password(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
    certs: Certs,
    kind: str,
) -> None:
    tls = kind.startswith("ftps")
    server = FtpServer(tmp_path / "ftp", certs=certs if tls else None).start()
    servers.append(server)
    options = {**TIMEOUTS, "mode": "active" if kind.endswith("active") else "passive"}
    if tls:
        options["ca_file"] = str(certs.ca)  # explicit TLS, trusting the CA made above
    presses = [
        {**press, "preview_target": server.url(f"press/{press['name']}", **options)}
        for press in PRESSES
    ]
    service = make_service(bureaus=ftp_bureaus(server, **options), presses=presses)
    await service.start()
    # Over 1 MB: the uploader reads 1 MB chunks, so the progress lines come from two reads.
    sample = plate(tmp_path / "samples", filler_bytes=MB + 256 * KB)
    drop(service, sample)
    detail, answer = await finished_job(http, service)

    job = detail["job"]
    assert job["state"] == "done", job["error"]
    kept = service.folder("done") / SAMPLE
    assert kept.read_bytes() == sample.read_bytes()
    assert (server.root / BUREAU / FINAL).read_bytes() == kept.read_bytes()
    made = detail["artefacts"]
    preview = Path(made["dir"]) / made["press_previews"].get(PRESS, made["preview"])
    assert (server.root / "press" / PRESS / FINAL).read_bytes() == preview.read_bytes()
    # Nothing else: no temporary file left beside them.
    assert files(server.root) == sorted([f"{BUREAU}/{FINAL}", f"press/{PRESS}/{FINAL}"])
    assert_only_renamed_into(server, f"{BUREAU}/{FINAL}", uploads=2)

    bureau = receipt(detail)
    scheme = "ftps" if tls else "ftp"
    assert bureau["target"].startswith(f"{scheme}://{USER}:***@127.0.0.1:{server.port}/{BUREAU}?")
    assert (bureau["state"], bureau["attempts"], bureau["error"]) == ("sent", 1, None)
    assert (bureau["bytes"], bureau["remote_name"]) == (sample.stat().st_size, FINAL)
    press = receipt(detail, f"press {PRESS}")
    assert (press["state"], press["remote_name"]) == ("sent", FINAL)
    assert press["target"].startswith(f"{scheme}://{USER}:***@127.0.0.1:{server.port}/press/")

    log = messages(detail)
    sending = next(i for i, m in enumerate(log) if m.startswith("bureau: sending"))
    marks = [log.index(f"bureau: {percent} % sent") for percent in (20, 40, 60, 80)]
    delivered = next(i for i, m in enumerate(log) if m.startswith("bureau: delivered "))
    assert sending < marks[0] < marks[1] < marks[2] < marks[3] < delivered, log
    assert f"bureau: delivered {sample.stat().st_size} bytes in" in log[delivered]
    assert f"{USER}:***@127.0.0.1" in log[sending]

    async with http.get(f"{service.url}/api/jobs") as response:
        listing = await response.text()
    async with http.get(f"{service.url}/api/log") as response:
        recent = await response.text()
    for shown in (answer, listing, recent, service.log_text()):
        assert PASSWORD not in shown


ATTEMPTS = 50  # the most delivery.attempts allows


async def test_a_server_down_at_first_is_waited_for_then_delivered(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    # Not started yet: connections to its port are refused.
    server = FtpServer(tmp_path / "ftp", port=free_port())
    servers.append(server)
    service = make_service(
        bureaus=ftp_bureaus(server, **TIMEOUTS),
        delivery={"attempts": ATTEMPTS, "backoff_s": 0.5, "max_delay_s": 2},
    )
    await service.start()
    sample = plate(tmp_path / "samples")
    drop(service, sample)

    async def waiting() -> dict[str, Any] | None:
        jobs = await all_jobs(http, service)
        if not jobs:
            return None
        detail, _ = await job_detail(http, service, jobs[0]["id"])
        bureau = [d for d in detail["deliveries"] if d["kind"] == "bureau"]
        return detail if bureau and bureau[0]["state"] == "waiting" else None

    seen = await wait_for(waiting, 60, "the bureau delivery to wait for the server")
    assert "connection refused" in receipt(seen)["error"]
    assert seen["job"]["state"] == "delivering"
    # An outage of a few seconds after the wait above. The attempts wait some 48 s or more
    # between them (backoff 0.5 s doubled up to 2 s, at least half of each), so they outlast
    # it however long a busy machine took to show the delivery waiting.
    await asyncio.sleep(2.5)
    server.start()
    detail, _ = await finished_job(http, service)

    assert detail["job"]["state"] == "done", detail["job"]["error"]
    bureau = receipt(detail)
    assert bureau["state"] == "sent" and bureau["error"] is None
    assert 2 <= bureau["attempts"] <= ATTEMPTS
    retries = [
        line
        for line in detail["log"]
        if re.fullmatch(
            r"bureau: .*connection refused.*; next attempt in \d+(\.\d)? s", line["message"]
        )
    ]
    assert len(retries) == bureau["attempts"] - 1, messages(detail)
    assert {line["level"] for line in retries} == {"warning"}
    assert messages(detail)[-1] == "done"
    assert (server.root / BUREAU / FINAL).read_bytes() == sample.read_bytes()
    assert files(server.root) == [f"{BUREAU}/{FINAL}"]


async def test_a_connection_cut_mid_transfer_is_retried_and_never_partial(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    # Cut once, 512 KB into the first upload of a ~1.5 MB file.
    server = FtpServer(tmp_path / "ftp", cut_after=512 * KB).start()
    servers.append(server)
    service = make_service(
        bureaus=ftp_bureaus(server, **TIMEOUTS), delivery={"attempts": 3, "backoff_s": 0.2}
    )
    await service.start()
    sample = plate(tmp_path / "samples", filler_bytes=MB + 512 * KB)
    async with watching(server.root / BUREAU / FINAL, sample.stat().st_size) as wrong_sizes:
        drop(service, sample)
        detail, _ = await finished_job(http, service)

    assert detail["job"]["state"] == "done", detail["job"]["error"]
    bureau = receipt(detail)
    assert (bureau["state"], bureau["attempts"], bureau["error"]) == ("sent", 2, None)
    log = messages(detail)
    assert any(re.fullmatch(r"bureau: .*; next attempt in \d+(\.\d)? s", m) for m in log), log
    assert sum(m.startswith("bureau: sending") for m in log) == 2

    assert wrong_sizes == []
    kept = service.folder("done") / SAMPLE
    assert (server.root / BUREAU / FINAL).read_bytes() == kept.read_bytes() == sample.read_bytes()
    # The cut upload's temporary file was removed after the failure.
    assert files(server.root) == [f"{BUREAU}/{FINAL}"]
    assert len(server.incomplete) == 1 and PART.fullmatch(Path(server.incomplete[0]).name)
    assert_only_renamed_into(server, f"{BUREAU}/{FINAL}", uploads=2)


async def test_permission_denied_fails_at_once_and_says_what_to_check(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    server = FtpServer(tmp_path / "ftp").start()
    servers.append(server)
    (server.root / BUREAU).mkdir()  # there, but the read-only user may not write in it
    # A retry would wait 30 s and more, and the last of eight far longer than the wait for the
    # job: it would show as a second attempt, or as a job not ended in time.
    service = make_service(
        bureaus=ftp_bureaus(server, user=READER, **TIMEOUTS),
        delivery={"attempts": 8, "backoff_s": 30, "max_delay_s": 60},
    )
    await service.start()
    sample = plate(tmp_path / "samples")
    drop(service, sample)
    detail, answer = await finished_job(http, service, timeout_s=120)

    job = detail["job"]
    bureau = receipt(detail)
    assert job["state"] == "failed"
    assert (bureau["state"], bureau["attempts"]) == ("failed", 1)
    for error in (bureau["error"], job["error"]):
        assert "refused uploading" in error and "550" in error, error
        assert f"check that user {READER} may write there" in error, error
        assert f"{READER}:***@127.0.0.1:{server.port}/{BUREAU}" in error, error
    assert job["error"].startswith("bureau: ")
    log = detail["log"]
    failed = [line for line in log if line["message"].startswith("bureau: failed: ")]
    assert len(failed) == 1 and failed[0]["level"] == "error"
    assert not any("next attempt" in line["message"] for line in log)
    assert PASSWORD not in answer and PASSWORD not in service.log_text()

    # The operator finds the original and the reason beside it.
    error_folder = service.folder("error")
    assert (error_folder / SAMPLE).read_bytes() == sample.read_bytes()
    assert "check that user" in (error_folder / f"{SAMPLE}.error.txt").read_text()
    assert files(server.root) == []


@pytest.mark.skipif(gs_path() is None, reason="the press preview needs Debian's ghostscript")
async def test_missing_remote_folders_are_made(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    server = FtpServer(tmp_path / "ftp").start()
    servers.append(server)
    bureaus = ftp_bureaus(server, **TIMEOUTS)
    for bureau in bureaus:
        # Three levels the server does not have, then the bureau's folder for the press.
        bureau["target"] = server.url(f"plates/2025/{bureau['name']}", **TIMEOUTS)
        bureau["press_folders"] = {PRESS: f"{PRESS} XL"}
    presses = [
        {**press, "preview_target": server.url(f"proofs/deep/{press['name']}", **TIMEOUTS)}
        for press in PRESSES
    ]
    service = make_service(bureaus=bureaus, presses=presses)
    await service.start()
    sample = plate(tmp_path / "samples")
    drop(service, sample)
    detail, _ = await finished_job(http, service)

    assert detail["job"]["state"] == "done", detail["job"]["error"]
    bureau = receipt(detail)
    assert bureau["state"] == "sent"
    assert f"/plates/2025/{BUREAU}/{PRESS}%20XL?" in bureau["target"]
    assert receipt(detail, f"press {PRESS}")["state"] == "sent"
    delivered = f"plates/2025/{BUREAU}/{PRESS} XL/{FINAL}"
    assert (server.root / delivered).read_bytes() == sample.read_bytes()
    assert files(server.root) == sorted([delivered, f"proofs/deep/{PRESS}/{FINAL}"])


async def test_a_restart_during_an_upload_delivers_once_and_whole(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    # ~3 MB through pyftpdlib's throttle (which lets through up to about twice read_limit):
    # each upload takes a few seconds, time enough to kill the service in the middle of one.
    server = FtpServer(tmp_path / "ftp", read_limit=512 * KB).start()
    servers.append(server)
    service = make_service(
        bureaus=ftp_bureaus(server, **TIMEOUTS), delivery={"attempts": 3, "backoff_s": 0.2}
    )
    await service.start()
    sample = plate(tmp_path / "samples", filler_bytes=3 * MB)
    size = sample.stat().st_size
    folder = server.root / BUREAU

    async def uploading() -> Path | None:
        for path in folder.glob("*.part") if folder.exists() else ():
            with contextlib.suppress(FileNotFoundError):
                if 0 < path.stat().st_size < size:
                    return path
        return None

    async with watching(folder / FINAL, size) as wrong_sizes:
        drop(service, sample)
        partial = await wait_for(uploading, 60, "a partial upload on the server", 0.02)
        service.kill()
        killed = partial.relative_to(server.root).as_posix()

        # A killed client's data connection may end in a plain close, which in FTP is how a
        # file ends: the server then takes the truncated `.part` as received, not incomplete.
        async def ended() -> bool:
            return killed in server.incomplete + server.received

        await wait_for(ended, 60, "the server to end the killed upload")
        assert partial.stat().st_size < size, "the upload ended before the kill"
        await service.start()
        detail, _ = await finished_job(http, service)

    assert detail["job"]["state"] == "done", detail["job"]["error"]
    assert any(m.startswith("resuming after restart") for m in messages(detail))
    bureau = receipt(detail)
    assert (bureau["state"], bureau["remote_name"], bureau["bytes"]) == ("sent", FINAL, size)
    assert wrong_sizes == []
    assert (folder / FINAL).read_bytes() == sample.read_bytes()
    # Sent in full again after the restart, which takes seconds through the throttle.
    assert bureau["seconds"] > 1
    assert_only_renamed_into(server, f"{BUREAU}/{FINAL}", uploads=2)
    # Every attempt of a delivery writes the same temporary name: the attempt after the
    # restart wrote over the killed one's and renamed it, so nothing is left behind.
    assert server.stored == [killed, killed]
    assert server.renamed == [(killed, f"{BUREAU}/{FINAL}")]
    assert files(server.root) == [f"{BUREAU}/{FINAL}"]


@contextlib.asynccontextmanager
async def silent_server(port: int) -> AsyncIterator[None]:
    """A TCP port that accepts connections and never answers, as a hung FTP server does."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


@pytest.mark.timeout(600)
async def test_a_hung_bureau_holds_only_its_own_deliveries(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
) -> None:
    """The drill: one bureau's server accepts and never answers while 50 files go to the
    other bureaus. Those are all done; the hung bureau's jobs wait, say why, and finish once
    its server answers."""
    port = free_port()
    server = FtpServer(tmp_path / "ftp", port=port)
    servers.append(server)
    bureaus = [
        {"name": name, "target": (tmp_path / "outbox" / name).as_uri(), "notify": False}
        for name in BUREAUS
    ]
    bureaus[0]["target"] = server.url(BUREAU, timeout_s="2", idle_s="2")
    service = make_service(
        # 50 attempts of 2 s and a wait of at least 3 s each outlast the 50 others, however
        # long a busy machine takes with them (some minutes), and each hung delivery is tried
        # within seconds.
        bureaus=bureaus,
        delivery={"attempts": 50, "backoff_s": 0.5, "max_delay_s": 6},
    )
    others = [name for name in BUREAUS if name != BUREAU]
    samples = tmp_path / "samples"
    hung_names = {f"90{n}_Stuck_{BUREAU}.pdf" for n in range(3)}
    page = SamplePage((1030, 770), marks=signa_marks(BUREAU, PRESS, (900, 640)))
    for n, name in enumerate(sorted(hung_names)):
        write_sample(samples / name, [page], filler_bytes=4 * KB, seed=900 + n)
    for n in range(50):
        bureau = others[n % len(others)]
        page = SamplePage((1030, 770), marks=signa_marks(bureau, PRESS, (900, 640)))
        write_sample(samples / f"{n:03}_Plates_{bureau}.pdf", [page], filler_bytes=4 * KB, seed=n)

    async with silent_server(port):
        await service.start()
        for name in sorted(hung_names):
            drop(service, samples / name)

        async def backed_off() -> dict[str, Any] | None:
            async with http.get(f"{service.url}/readyz") as response:
                ready = await response.json()
            target = ready["parts"]["deliveries"]["targets"].get(f"bureau {BUREAU}")
            return target if target and target["state"] == "failing" else None

        target = await wait_for(backed_off, 60, "the hung bureau to be backed off")
        assert target["failures_in_a_row"] >= 1 and target["sending"] <= 1, target
        for sample in sorted(samples.iterdir()):
            if sample.name not in hung_names:
                drop(service, sample)

        async def others_done() -> list[dict[str, Any]] | None:
            jobs = await all_jobs(http, service)
            ended = [job for job in jobs if job["name"] not in hung_names and job["finished_at"]]
            return jobs if len(ended) == 50 else None

        jobs = await wait_for(others_done, 420, "the 50 files to the other bureaus")
        assert {job["state"] for job in jobs if job["name"] not in hung_names} == {"done"}
        hung = [job for job in jobs if job["name"] in hung_names]
        assert {job["state"] for job in hung} == {"delivering"}
        for job in hung:
            detail, _ = await job_detail(http, service, job["id"])
            bureau = receipt(detail)
            assert bureau["state"] in ("pending", "waiting", "sending"), bureau
            if bureau["state"] != "sending":
                assert "no answer or no progress in time" in bureau["error"], bureau
        assert await backed_off()
        async with http.get(f"{service.url}/metrics") as response:
            metrics = await response.text()
        # Never sent a file, and seen all the same; every attempt is timed.
        for series in ("files_sent", "bytes_sent"):
            assert f'asyncpdf_target_{series}_total{{target="bureau {BUREAU}"}} 0.0' in metrics
        assert 'asyncpdf_stage_seconds_count{stage="delivery"}' in metrics

    server.start()
    jobs = await wait_finished(http, service, 53, 120)
    assert {job["state"] for job in jobs} == {"done"}
    assert files(server.root) == sorted(
        f"{BUREAU}/{name.replace(f'_{BUREAU}', '')}" for name in hung_names
    )


async def test_a_changed_target_is_the_one_the_receipt_and_the_log_name(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    servers: list[FtpServer],
    certs: Certs,
) -> None:
    # The first target is down: the delivery waits for it.
    old = FtpServer(tmp_path / "old", port=free_port())
    service = make_service(
        bureaus=ftp_bureaus(old, **TIMEOUTS), delivery={"attempts": 8, "backoff_s": 2}
    )
    await service.start()
    drop(service, plate(tmp_path / "samples"))

    async def waiting() -> dict[str, Any] | None:
        jobs = await all_jobs(http, service)
        if not jobs:
            return None
        detail, _ = await job_detail(http, service, jobs[0]["id"])
        found = [d for d in detail["deliveries"] if d["kind"] == "bureau"]
        return detail if found and found[0]["state"] == "waiting" else None

    before = receipt(await wait_for(waiting, 60, "the delivery to wait for the old target"))
    assert f":{old.port}/" in before["target"]
    service.stop()

    # The bureau moved to FTPS on another port; the waiting delivery goes there.
    new = FtpServer(tmp_path / "new", certs=certs).start()
    servers.append(new)
    service = make_service(
        bureaus=ftp_bureaus(new, ca_file=str(certs.ca), **TIMEOUTS),
        delivery={"attempts": 8, "backoff_s": 0.1},
    )
    await service.start()
    detail, answer = await finished_job(http, service)

    assert detail["job"]["state"] == "done", detail["job"]["error"]
    bureau = receipt(detail)
    shown = f"ftps://{USER}:***@127.0.0.1:{new.port}/{BUREAU}?"
    assert bureau["target"].startswith(shown) and bureau["remote_name"] == FINAL
    changed = [m for m in messages(detail) if "the target changed in the config" in m]
    assert len(changed) == 1 and f":{old.port}/" in changed[0] and shown in changed[0]
    assert PASSWORD not in answer
    assert (new.root / BUREAU / FINAL).read_bytes() == (
        service.folder("done") / SAMPLE
    ).read_bytes()
