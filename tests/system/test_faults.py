"""Fault drills on the real service (`asyncpdf serve` as a subprocess on a temporary shop),
each bounded in time:

- SIGKILL of the service three times during a 200-file burst, restarted each time with the same
  config: every file ends in exactly one job, done, delivered once and byte-identical;
- SIGKILL of a pool worker in the middle of a job's previews: that job is run again on its own,
  the rest go on, and the pool is replaced;
- the spool's disk full (a small tmpfs, else a loop-mounted image, else skipped): jobs cut off
  by it say so, files that come meanwhile wait untouched, nothing is lost, and the service
  finishes them once space returns;
- SIGTERM in the middle of work: the live log's websockets are closed with GOING_AWAY, intake
  stops, running jobs finish or are parked, the process exits 0 in time, and after a restart
  every file ends exactly once.

The burst runs without Ghostscript (PATH without `gs`; the service then makes its previews
without it and says so on each job): a job's cost is Ghostscript's start-ups, not the file's
size, and 200 files with it take over four minutes on two busy cores. The other drills keep it,
since they need a job that is busy in the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import (
    PAPERS,
    PROCESS_INKS,
    SamplePage,
    make_samples,
    signa_marks,
    unread_marks,
    write_sample,
)
from asyncpdf.testing.samples import PRESSES as PLATES
from tests.support import (
    BUREAUS,
    TERMINAL,
    Service,
    all_jobs,
    delivered_path,
    wait_finished,
    wait_for,
)

MB = 1 << 20


# --- files ------------------------------------------------------------------------------------


def small_plates(folder: Path, count: int, first_order: int) -> list[Path]:
    """`count` one-plate Signa files of some 6 KB, each different (its order number is in its
    name and title), for every bureau and press in turn."""
    presses = sorted(PLATES)
    files = []
    for n in range(count):
        bureau, press = BUREAUS[n % len(BUREAUS)], presses[n % len(presses)]
        plate = PLATES[press]
        marks = signa_marks(bureau, press, PAPERS[press][0])
        page = SamplePage(plate, PROCESS_INKS, (*marks, *unread_marks(PROCESS_INKS, plate)))
        name = f"{first_order + n}_Drill {n}_{bureau}.pdf"
        files.append(write_sample(folder / name, [page]))
    return files


def big_plate_file(path: Path, pages: int) -> Path:
    """Full-size Speedmaster plates: their previews keep a worker busy for seconds."""
    plate = PLATES["Speedmaster"]
    marks = signa_marks("Korol", "Speedmaster", PAPERS["Speedmaster"][1])
    page = SamplePage(plate, PROCESS_INKS, (*marks, *unread_marks(PROCESS_INKS, plate)))
    return write_sample(path, [page] * pages)


def drop(files: list[Path], hotfolder: Path) -> None:
    for path in files:
        shutil.copy(path, hotfolder / path.name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def without_ghostscript(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The service started after this finds no `gs` on its PATH."""
    empty = tmp_path / "no-gs-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- processes --------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc; no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def pool_workers(service: Service) -> list[int]:
    """The service's pool workers (spawned multiprocessing children, not its resource
    tracker)."""
    assert service.process is not None
    return [
        pid for pid in children(service.process.pid) if "--multiprocessing-fork" in cmdline(pid)
    ]


def ghostscript_at_work(service: Service) -> dict[int, tuple[int, int]]:
    """{job id: (worker pid, gs pid)} for each Ghostscript a worker runs on a job's previews
    (its command line names the job's preview folder)."""
    found = {}
    for worker in pool_workers(service):
        for child in children(worker):
            match = re.search(r"/previews/(\d+)/", " ".join(cmdline(child)))
            if match:
                found[int(match.group(1))] = (worker, child)
    return found


# --- the service's word -----------------------------------------------------------------------


async def job_detail(http: aiohttp.ClientSession, service: Service, job_id: int) -> dict[str, Any]:
    async with http.get(f"{service.url}/api/jobs/{job_id}") as response:
        assert response.status == 200
        return dict(await response.json())


async def details(
    http: aiohttp.ClientSession, service: Service, jobs: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each job's detail (log, deliveries) by the job's name, a few requests at a time."""
    gate = asyncio.Semaphore(8)

    async def one(job_id: int) -> dict[str, Any]:
        async with gate:
            return await job_detail(http, service, job_id)

    found = await asyncio.gather(*(one(job["id"]) for job in jobs))
    return {detail["job"]["name"]: detail for detail in found}


async def readyz(http: aiohttp.ClientSession, service: Service) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{service.url}/readyz") as response:
        return response.status, dict(await response.json())


async def metric(http: aiohttp.ClientSession, service: Service, name: str) -> float:
    async with http.get(f"{service.url}/metrics") as response:
        text = await response.text()
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def log_lines(detail: dict[str, Any]) -> list[str]:
    return [line["message"] for line in detail["log"]]


def warnings_of(detail: dict[str, Any]) -> list[str]:
    return [line["message"] for line in detail["log"] if line["level"] == "warning"]


def tracebacks(service: Service) -> int:
    return service.log_text().count("Traceback")


# --- what every drill must end with -----------------------------------------------------------


def files_under(folder: Path) -> list[Path]:
    found = []
    for top, _, names in os.walk(folder):
        found.extend(Path(top) / name for name in names)
    return sorted(found)


async def assert_each_once(
    http: aiohttp.ClientSession,
    service: Service,
    sources: list[Path],
    jobs: list[dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Every source file ended in exactly one job, done; its bureau got it once, byte for byte,
    under its own name; its original is in done/ and nothing is left in the hotfolder, the
    spool or error/. Returns the jobs' details by name."""
    wanted = {path.name: path.read_bytes() for path in sources}
    assert Counter(job["name"] for job in jobs) == Counter(list(wanted)), "lost or duplicated"
    assert Counter(job["sha256"] for job in jobs) == Counter(sha256(b) for b in wanted.values())
    for job in jobs:
        assert job["sha256"] == sha256(wanted[job["name"]]), job["name"]
    assert {job["state"] for job in jobs} == {"done"}, {
        job["name"]: job["error"] for job in jobs if job["state"] != "done"
    }
    found = await details(http, service, jobs)
    for name, detail in found.items():
        kinds = [delivery["kind"] for delivery in detail["deliveries"]]
        assert kinds == ["bureau"], (name, kinds)  # one row per kind: no duplicate delivery
        (delivery,) = detail["deliveries"]
        assert delivery["state"] == "sent", (name, delivery)
        assert delivery["remote_name"] == delivered_path(service, name).name, (name, delivery)
    delivered = files_under(service.root / "outbox")
    expected = sorted(delivered_path(service, name) for name in wanted)
    # No second copy ("name (2).pdf") and no partial file (".asyncpdf-*.part") left behind.
    assert delivered == expected, sorted(set(delivered) ^ set(expected))
    for name, data in wanted.items():
        assert delivered_path(service, name).read_bytes() == data, name
        assert (service.folder("done") / name).read_bytes() == data, name
    assert sorted(p.name for p in service.folder("done").iterdir()) == sorted(wanted)
    assert list(service.folder("error").iterdir()) == []
    assert list(service.hotfolder.iterdir()) == []
    assert list(service.folder("spool").iterdir()) == []
    return found


def where_is(service: Service, name: str, data: bytes) -> list[str]:
    """The service's folders that hold `name` with these very bytes (a kept copy may carry
    the job's number)."""
    places = []
    stem = Path(name).stem
    for folder in ("hotfolder", "spool", "done", "error"):
        for path in files_under(service.folder(folder)):
            if path.name.startswith(stem) and not path.name.endswith(".error.txt"):
                with contextlib.suppress(OSError):
                    if path.read_bytes() == data:
                        places.append(folder)
    return places


# --- 1. SIGKILL of the service, three times, during a burst -----------------------------------

BURST = 200
#: The service is killed once this many jobs are done and another is being worked on.
KILL_WHEN_DONE = (20, 80, 150)


@pytest.mark.timeout(600)
async def test_three_sigkills_during_a_200_file_burst_lose_and_repeat_nothing(
    make_service, http, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_ghostscript(monkeypatch, tmp_path)
    service = make_service(watch={"settle_s": 0.1, "poll_s": 0.02})
    sources = small_plates(tmp_path / "samples", BURST, first_order=10000)
    started = time.monotonic()
    await service.start()

    async def burst() -> None:
        # As a share fills up: a steady stream, on while the service is down too.
        for path in sources:
            await asyncio.to_thread(shutil.copy, path, service.hotfolder / path.name)
            await asyncio.sleep(0.01)

    dropping = asyncio.create_task(burst())
    kills: list[dict[str, Any]] = []
    for threshold in KILL_WHEN_DONE:

        async def in_work(threshold: int = threshold) -> dict[str, int] | None:
            states = Counter(job["state"] for job in await all_jobs(http, service))
            busy = states["analysing"] + states["delivering"]
            return dict(states) if states["done"] >= threshold and busy else None

        seen = await wait_for(in_work, 120, f"{threshold} jobs done and one in work", 0.02)
        service.kill()
        kills.append(
            {
                "seen": seen,
                "hotfolder": len(list(service.hotfolder.iterdir())),
                "spool": len(list(service.folder("spool").iterdir())),
            }
        )
        await service.start()
    await dropping
    jobs = await wait_finished(http, service, BURST, timeout_s=300)
    elapsed = time.monotonic() - started

    found = await assert_each_once(http, service, sources, jobs)
    resumed = Counter(
        line.removeprefix("resuming after restart (was ").rstrip(")")
        for detail in found.values()
        for line in log_lines(detail)
        if line.startswith("resuming after restart")
    )
    # Each kill cut off work under way, and the next start took it up again.
    assert sum(resumed.values()) >= len(KILL_WHEN_DONE), resumed
    for detail in found.values():
        assert any("ghostscript not installed" in w for w in warnings_of(detail)), detail["log"]
    assert tracebacks(service) == 0, service.log_text()[-4000:]
    print(f"\nburst: {BURST} files, kills at {kills}, resumed {dict(resumed)}, {elapsed:.1f} s")


# --- 2. SIGKILL of a pool worker in the middle of a job ---------------------------------------


@pytest.mark.timeout(600)
async def test_a_pool_worker_killed_mid_job(make_service, http, tmp_path: Path) -> None:
    service = make_service(pool={"workers": 2, "jobs": 4, "job_timeout_s": 120})
    samples = tmp_path / "samples"
    big = big_plate_file(samples / "20001_Worker drill_Korol.pdf", pages=6)
    others = small_plates(samples, 6, first_order=30000)
    later = small_plates(samples, 3, first_order=40000)
    await service.start()
    drop([big, *others], service.hotfolder)

    async def big_job_id() -> int | None:
        return next((j["id"] for j in await all_jobs(http, service) if j["name"] == big.name), None)

    job_id = await wait_for(big_job_id, 60, "the big file's job")

    async def previewing() -> tuple[int, int] | None:
        return ghostscript_at_work(service).get(job_id)

    worker, gs = await wait_for(previewing, 90, "Ghostscript at work on the big job", 0.02)
    before = {job["name"]: job["state"] for job in await all_jobs(http, service)}
    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    drop(later, service.hotfolder)

    jobs = await wait_finished(http, service, 1 + len(others) + len(later), timeout_s=300)
    elapsed = time.monotonic() - killed_at
    assert not alive(worker) and not alive(gs), "the worker's Ghostscript must die with it"

    # The job whose worker died was run again on its own, in a fresh process: done, with its
    # previews (or, should the service fail it instead, failed saying why).
    detail = await job_detail(http, service, job_id)
    lines = [line.replace(str(service.root), "<shop>") for line in log_lines(detail)]
    said = re.compile(r"worker\b.*\b(died|crashed|killed)", re.I)
    if detail["job"]["state"] == "failed":
        outcome = f"failed: {detail['job']['error']}"
        assert said.search(detail["job"]["error"] or ""), detail["job"]["error"]
        sources = [*others, *later]
        jobs = [job for job in jobs if job["id"] != job_id]
        assert where_is(service, big.name, big.read_bytes()) == ["error"]
    else:
        outcome = "run again and done"
        assert detail["job"]["state"] == "done", (detail["job"]["error"], lines)
        assert detail["artefacts"] and detail["artefacts"]["proof"], detail["artefacts"]
        sources = [big, *others, *later]
    text = service.log_text()
    assert "a pool worker died; running make_artefacts again on its own" in text

    # The rest went on: every file once, done, delivered byte for byte.
    await assert_each_once(http, service, sources, jobs)
    # The pool was replaced, and its new workers are not the dead one.
    assert await metric(http, service, "asyncpdf_pool_replacements_total") >= 1
    status, ready = await readyz(http, service)
    assert status == 200, ready
    pool = ready["parts"]["pool"]
    assert pool["state"] == "ok" and re.search(r"[1-9]\d* replaced", pool["detail"]), pool
    workers = pool_workers(service)
    assert workers and worker not in workers, workers
    assert tracebacks(service) == 0, text[-4000:]
    in_work = sorted(name for name, state in before.items() if state not in TERMINAL)
    print(
        f"\nworker drill: killed worker {worker} (gs {gs}) in job {job_id}'s previews: "
        f"{outcome}; in work then {len(in_work)} of {len(before)} jobs; all {len(jobs)} "
        f"done {elapsed:.1f} s later; pool: {pool['detail']}"
    )
    # The reason belongs with the job, not only in the service log.
    assert any(said.search(line) for line in lines), lines


# --- 3. the spool's disk full -----------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size_mb: int) -> Iterator[str]:
    """A file system of `size_mb` mounted on `folder` (a tmpfs, else a loop-mounted ext4
    image), unmounted afterwards; skips the test when neither can be made."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small file system (a full disk)")
    tried = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    kind = "tmpfs"
    if tried.returncode != 0:
        image = folder.parent / "small-disk.img"
        with image.open("wb") as out:
            out.truncate(size_mb * MB)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], capture_output=True)
        tried = subprocess.run(
            ["mount", "-o", "loop", str(image), str(folder)], capture_output=True, text=True
        )
        kind = "ext4 image"
        if made.returncode != 0 or tried.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs or loop image: {tried.stderr.strip()}")
    try:
        yield kind
    finally:
        done = subprocess.run(["umount", str(folder)], capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def free_bytes(folder: Path) -> int:
    found = os.statvfs(folder)
    return found.f_bavail * found.f_frsize


def fill(path: Path, leave: int = 0) -> None:
    """Grow `path` until its file system has at most `leave` bytes free (0: until ENOSPC)."""
    block = b"\0" * 65536
    with path.open("ab", buffering=0) as out:
        try:
            todo = max(free_bytes(path.parent) - leave, 0)
            while todo > 0:
                todo -= out.write(block[: min(len(block), todo)])
            while leave == 0:
                out.write(block[:4096])
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


SPACE = "No space left on device"


@pytest.mark.timeout(600)
async def test_the_spools_disk_full(make_service, http, tmp_path: Path) -> None:
    # The spool, done/, error/, the previews and the hotfolder on one small file system (they
    # must share one); the database elsewhere: it is the spool's disk that fills.
    var = tmp_path / "var"
    with small_disk(var, 8) as kind:
        service = make_service(
            paths={"database": str(tmp_path / "db" / "asyncpdf.sqlite3")},
            disk={"min_free_mb": 2},
        )
        try:
            await full_disk_drill(service, http, tmp_path, kind)
        finally:
            service.stop()


async def full_disk_drill(
    service: Service, http: aiohttp.ClientSession, tmp_path: Path, kind: str
) -> None:
    var = tmp_path / "var"
    samples = tmp_path / "samples"
    cut_off = make_samples(samples / "cut-off", count=3, seed=21)
    meanwhile = small_plates(samples, 5, first_order=50000)
    afterwards = small_plates(samples, 2, first_order=60000)
    await service.start()

    hit = await disk_fills_mid_job(service, http, var, cut_off)
    (var / "ballast-1").unlink()
    refused, how, holding = await files_come_while_full(service, http, var, meanwhile)

    # Space returns: what waited is taken, and new files go through as before.
    for ballast in ("ballast-2", "ballast-3"):
        (var / ballast).unlink()
    drop(afterwards, service.hotfolder)
    everything = [*cut_off, *meanwhile, *afterwards]
    jobs = await wait_finished(http, service, len(everything), timeout_s=300)
    found = await assert_each_once(http, service, everything, jobs)
    status, ready = await readyz(http, service)
    assert status == 200, ready
    if refused:
        for path in [*meanwhile, *afterwards]:
            detail = found[path.name]
            assert detail["artefacts"] and detail["artefacts"]["proof"], path.name
            assert not any(SPACE in w for w in warnings_of(detail)), path.name
    assert tracebacks(service) == 0, service.log_text()[-4000:]
    print(
        f"\ndisk drill on a {kind} of 8 MB: cut off {hit}; while full: {how}; "
        f"all {len(jobs)} done once space returned"
    )
    # Depends on disk.min_free_mb: /api/status says why files wait for as long as they do.
    if refused:
        assert None not in holding, holding


async def disk_fills_mid_job(
    service: Service, http: aiohttp.ClientSession, var: Path, files: list[Path]
) -> dict[str, list[str]]:
    """The disk fills while files are being worked on (a job's previews under way): each job
    ends all the same (the bureau has its file), and one whose previews the full disk stopped
    says so in a warning. Returns those warnings by name."""
    drop(files, service.hotfolder)

    async def previewing() -> dict[int, tuple[int, int]]:
        return ghostscript_at_work(service)

    await wait_for(previewing, 60, "a job's previews under way", 0.02)
    fill(var / "ballast-1")
    assert free_bytes(var) == 0
    names = {path.name for path in files}

    async def ended() -> list[dict[str, Any]] | None:
        mine = [job for job in await all_jobs(http, service) if job["name"] in names]
        finished = len(mine) == len(names) and all(job["state"] in TERMINAL for job in mine)
        return mine if finished else None

    cut = await details(http, service, await wait_for(ended, 90, "the cut-off jobs to end"))
    for path in files:
        detail = cut[path.name]
        assert detail["job"]["state"] == "done", (path.name, detail["job"]["error"])
        assert [d["state"] for d in detail["deliveries"]] == ["sent"], detail["deliveries"]
        assert where_is(service, path.name, path.read_bytes()) == ["done"], path.name
    hit = {
        name: [w for w in warnings_of(detail) if SPACE in w]
        for name, detail in cut.items()
        if any(SPACE in w for w in warnings_of(detail))
    }
    assert hit, {name: warnings_of(detail) for name, detail in cut.items()}
    for name in hit:
        assert not (cut[name]["artefacts"] or {}).get("proof"), cut[name]["artefacts"]
    return hit


async def files_come_while_full(
    service: Service, http: aiohttp.ClientSession, var: Path, files: list[Path]
) -> tuple[bool, str, list[str | None]]:
    """Files are saved while the disk is below its minimum (room for them, little more), then
    it fills up. Either the service says it is not ready and leaves them untouched in the
    hotfolder (with `disk.min_free_mb`), or it takes them and each job that cannot write says
    why. Either way none is lost. Returns whether they were refused, how it went, and what
    /api/status said meanwhile of why files wait."""
    fill(var / "ballast-2", leave=1 * MB)

    async def not_ready() -> dict[str, Any] | None:
        status, body = await readyz(http, service)
        return body if status == 503 else None

    # Decided by the config, not by how soon /readyz says so: 1 MB is left, below any minimum.
    minimum = load_settings(service.config).disk.min_free_mb
    refused = await wait_for(not_ready, 60, "/readyz to report the full disk") if minimum else None
    stats = {}
    for path in files:
        shutil.copy(path, service.hotfolder / path.name)
        stats[path.name] = (service.hotfolder / path.name).stat()
    fill(var / "ballast-3")
    # Ten times the settle time, long enough to have taken them; what /api/status says of it
    # meanwhile (`holding`, with disk.min_free_mb: why files wait) is sampled.
    holding = []
    for _ in range(30):
        async with http.get(f"{service.url}/api/status") as response:
            holding.append((await response.json()).get("holding", "(no such field)"))
        await asyncio.sleep(0.1)
    taken = {job["name"]: job for job in await all_jobs(http, service) if job["name"] in stats}
    for path in files:
        assert where_is(service, path.name, path.read_bytes()), f"{path.name} is lost"
    if refused is None:
        assert set(taken) == set(stats), sorted(taken)
        found = await details(http, service, list(taken.values()))
        for detail in found.values():
            said = [*log_lines(detail), detail["job"]["error"] or ""]
            assert detail["job"]["state"] not in TERMINAL or any(SPACE in s for s in said), said
        return False, f"taken on the full disk: {[job['state'] for job in taken.values()]}", []
    # Depends on disk.min_free_mb: not ready, saying why, the new files left untouched.
    failing = {part: refused["parts"][part]["detail"] for part in refused["failing"]}
    assert any("free" in detail for detail in failing.values()), failing
    assert taken == {}, taken
    for name, before in stats.items():
        after = (service.hotfolder / name).stat()
        assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
            before.st_ino,
            before.st_size,
            before.st_mtime_ns,
        ), name
    said = Counter("(none)" if why is None else why for why in holding)
    how = f"not ready ({failing}); {len(stats)} files left in the hotfolder; holding: {said}"
    return True, how, [why for why in holding if why != "(no such field)"]


# --- 4. SIGTERM in the middle of work ---------------------------------------------------------

#: The bound on a stop: the runner's grace (10 s) and the pool's (5 s), and slack for a busy
#: machine; a stop that waited for the jobs in work would not end within it.
STOP_WITHIN_S = 40


@pytest.mark.timeout(600)
async def test_sigterm_mid_work(make_service, http, tmp_path: Path) -> None:
    service = make_service()
    samples = tmp_path / "samples"
    first = make_samples(samples / "first", count=8, seed=31)
    late = small_plates(samples, 4, first_order=70000)
    await service.start()
    assert service.process is not None
    ws = await http.ws_connect(f"{service.url}/ws")
    hello = await ws.receive_json(timeout=60)
    assert hello["type"] == "hello"
    events: list[dict[str, Any]] = []

    async def listen() -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                events.append(json.loads(message.data))

    listening = asyncio.create_task(listen())
    drop(first, service.hotfolder)

    async def mid_work() -> list[dict[str, Any]] | None:
        jobs = await all_jobs(http, service)
        states = Counter(job["state"] for job in jobs)
        return jobs if states["done"] >= 1 and states["analysing"] + states["delivering"] else None

    at_signal = await wait_for(mid_work, 90, "one job done and another in work", 0.05)
    in_work = {job["id"] for job in at_signal if job["state"] not in TERMINAL}
    service.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()

    await asyncio.wait_for(listening, STOP_WITHIN_S)
    closed_after = time.monotonic() - signalled
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY, ws.close_code
    # Intake has stopped: files saved now stay in the hotfolder, untouched, for the next start.
    await asyncio.sleep(1.0)
    still_running = service.process.poll() is None
    drop(late, service.hotfolder)
    stats = {p.name: (service.hotfolder / p.name).stat().st_ino for p in late}
    left = STOP_WITHIN_S - (time.monotonic() - signalled)
    code = await asyncio.to_thread(service.process.wait, max(left, 0.1))
    exited_after = time.monotonic() - signalled
    assert code == 0, service.log_text()[-4000:]
    assert exited_after < STOP_WITHIN_S
    for path in late:
        assert (service.hotfolder / path.name).stat().st_ino == stats[path.name], path.name
    text = service.log_text()
    (stopped,) = [line for line in text.splitlines() if "asyncpdf stopped" in line]
    assert tracebacks(service) == 0, text[-4000:]

    restarted = time.time()
    await service.start()
    jobs = await wait_finished(http, service, len(first) + len(late), timeout_s=300)
    found = await assert_each_once(http, service, [*first, *late], jobs)
    finished, parked = [], []
    for detail in found.values():
        if detail["job"]["id"] not in in_work:
            continue
        lines = detail["log"]
        resumed = [m for m in log_lines(detail) if m.startswith("resuming after restart")]
        if resumed:
            parked.append(resumed[0].removeprefix("resuming after restart "))
        else:
            (done,) = [line for line in lines if line["message"] == "done"]
            assert datetime.fromisoformat(done["ts"]).timestamp() < restarted, lines
            finished.append(detail["job"]["name"])
    assert len(finished) + len(parked) == len(in_work)
    print(
        f"\nSIGTERM drill: {len(in_work)} unfinished at the signal ({len(finished)} finished, "
        f"{len(parked)} parked: {dict(Counter(parked))}), websocket closed 1001 after "
        f"{closed_after:.1f} s with {len(events)} events, exit 0 after {exited_after:.1f} s "
        f"(alive 1 s after the close: {still_running}); {stopped.split(': ', 1)[-1]}"
    )
