"""A burst of files into the hotfolder of the running service, against the pool alone.

    .venv/bin/python benchmarks/burst.py [--count N] [--files DIR] [--seed S]
                                          [--settle-s S] [--poll-s S]

Generates `--count` Signa-like plate files (default 1000) with `asyncpdf.testing.samples`
(`make_samples`, a fixed seed) into a cache folder (`--files`, default
`$TMPDIR/asyncpdf-burst-files`; kept, so a second run skips the generation, which is never
timed), then in one run:

- service: starts the real service (``python -m asyncpdf serve``) on a temporary shop (the
  `shop_config` of `tests/support`: file:// bureau targets, 127.0.0.1 and a free port) with the
  production defaults of the settings model for the watcher (settle 2 s, poll 0.5 s, unless set
  with `--settle-s`/`--poll-s`), the pool and deliveries. Left idle for 5 s, then polled on
  `/healthz` every 10 ms for 5 s, it shows its idle CPU and what each answer costs it. Then
  each file is copied into the hotfolder under a temporary name (`~$burst-<n>.tmp`, ignored by
  the watcher) and renamed to its own name, as a Samba client saves, one after the other as
  fast as they go; the time of each rename is that file's "closed" time. Until every original
  has left the spool (watched in the shop's folders, so that asking the API does not add load),
  `GET /healthz` is timed every 10 ms (a fresh connection each, as a probe makes it) and the
  service's resident memory is sampled; then the jobs and their logs are read from the API.
- pool alone: the same files through `asyncpdf.pipeline.pool.Pool` with the same workers, job
  timeout and memory limit, and the same step functions the service runs
  (`asyncpdf.pipeline.steps.analyse` and `make_previews`: the analysis with its checksum, then the
  previews; the service's analysis lane shares a pool call among a batch's files, this does one
  call a file), as many files at once as the service has job tasks; no service, no database, no
  delivery. It runs in a process of its own.

Prints the time until all were done and files per second for both, the overhead ratio (service
time / pool-alone time), p50/p99/max pickup latency (file closed → the job's "received" log line,
written as the job is queued, minus the settle time) and how long the claims took one by one,
p50/p99/max time from file closed to the bureau copy (the job's "bureau: delivered" log line),
p50/p99/max of `/healthz` during the burst and idle, the service main process's peak RSS
(`VmHWM`), where the CPU went (the service's main process, its workers and their Ghostscripts,
and the same for the pool alone) and a check line: every file one `done` job, every delivered
copy byte-identical, nothing else in the outbox. Timings are printed, never asserted (see
README.md in this folder); the script exits 1 if the check fails or a `/healthz` answer was not
200.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import http.client
import io
import itertools
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

# For tests.support (plain helpers, no pytest): this script runs with benchmarks/ on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asyncpdf.config import DeliverySettings, Watch, load_settings
from asyncpdf.config import Pool as PoolSettings
from asyncpdf.intake.spool import REASON_SUFFIX
from asyncpdf.metrics import Metrics
from asyncpdf.pipeline import steps
from asyncpdf.pipeline.pool import Pool
from asyncpdf.testing.samples import make_samples
from tests.support import shop_config

HOST = "127.0.0.1"
SEED = 1414
HEALTHZ_EVERY_S = 0.010
RSS_EVERY_S = 0.05
ENDED_EVERY_S = 0.1
IDLE_S = 5.0
REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
TARGETS = {
    "overhead": 1.3,
    "healthz_p99_ms": 50.0,
    "rss_mb": 200.0,
    "bureau_p50_s": 4.0,
    "bureau_p99_s": 8.0,
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MISSED = "  (missed)"


# --- small helpers ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "no values"
    p50, p99, top = (percentile(values, 50), percentile(values, 99), max(values))
    return f"p50 {p50:.3f} {unit}, p99 {p99:.3f} {unit}, max {top:.3f} {unit}"


def load() -> str:
    """The load average, since other work on the machine moves every figure."""
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def get(port: int, path: str) -> tuple[int, bytes]:
    """One GET on a fresh connection: (status, body), status 0 if no answer."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        connection.close()


def get_json(port: int, path: str) -> Any:
    status, body = get(port, path)
    if status != 200:
        raise SystemExit(f"burst: GET {path} answered {status}: {body[:300]!r}")
    return json.loads(body)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(key)


def cpu_s(pid: int) -> tuple[float, float]:
    """(own user+system CPU, CPU of its children it has waited for) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")": state is field 3, so utime (14) is index 11 here, then stime, cutime, cstime.
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """(the process's own CPU, the CPU of all its descendants: waited for, and still alive)."""
    own, waited = cpu_s(pid)
    descendants = waited
    for child in children(pid):
        try:
            child_own, child_rest = tree_cpu_s(child)
        except (FileNotFoundError, ProcessLookupError):
            continue
        descendants += child_own + child_rest
    return own, descendants


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields) - idle - iowait) / CLK_TCK


def script_cpu_s() -> float:
    """This process's own CPU seconds, all its threads."""
    times = os.times()
    return times.user + times.system


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(n) for n in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


# --- the files -------------------------------------------------------------------------------


def prepare_files(folder: Path, count: int, seed: int) -> list[Path]:
    """The generated files, from the cache when a complete set for (count, seed) is there."""
    cache = folder / f"seed{seed}-count{count}"
    listing = cache / "files.json"
    if listing.exists():
        names = json.loads(listing.read_text())
        paths = [cache / name for name in names]
        if all(path.exists() for path in paths):
            print(f"{count} files from the cache in {cache}")
            return paths
    if cache.exists():
        shutil.rmtree(cache)
    started = time.perf_counter()
    paths = make_samples(cache, count=count, seed=seed)
    listing.write_text(json.dumps([path.name for path in paths], ensure_ascii=False))
    print(f"{count} files generated into {cache} in {time.perf_counter() - started:.1f} s")
    return paths


# --- the service run -------------------------------------------------------------------------


@dataclass
class Probe:
    """`/healthz` every 10 ms and the service's RSS, in threads, until stopped."""

    port: int
    pid: int
    healthz_ms: list[float] = field(default_factory=list)
    healthz_at: list[float] = field(default_factory=list)  # wall time each one was asked
    healthz_failed: int = 0
    rss_kb: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._healthz, daemon=True),
            threading.Thread(target=self._rss, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _healthz(self) -> None:
        due = time.perf_counter()
        while not self._stop.is_set():
            started = time.perf_counter()
            self.healthz_at.append(time.time())
            status, _ = get(self.port, "/healthz")
            self.healthz_ms.append((time.perf_counter() - started) * 1000)
            self.healthz_failed += status != 200
            due += HEALTHZ_EVERY_S
            time.sleep(max(0.0, due - time.perf_counter()))
            due = max(due, time.perf_counter() - HEALTHZ_EVERY_S)  # late: do not catch up

    def _rss(self) -> None:
        while not self._stop.wait(RSS_EVERY_S):
            try:
                self.rss_kb.append(proc_status_kb(self.pid, "VmRSS"))
            except (FileNotFoundError, LookupError):
                return


@dataclass
class ServiceRun:
    seconds: float
    pickup_s: list[float]
    bureau_s: list[float]
    #: From the job's log, each file's seconds in each step before its bureau copy.
    steps_s: dict[str, list[float]]
    healthz_ms: list[float]
    healthz_at: list[float]  # seconds after the first file was dropped
    healthz_failed: int
    peak_rss_kb: int
    sampled_rss_kb: int
    idle_rss_kb: int
    main_cpu_s: float
    workers_cpu_s: float
    stages: dict[str, float]
    problems: list[str]
    burst_s: float
    idle: Idle
    claims_s: float  # from the first job received to the last
    machine_cpu_s: float  # every process on the machine, the service's and this script's too
    script_cpu_s: float  # this script: the /healthz and memory probes


def start_service(root: Path, config: Path, port: int) -> subprocess.Popen[bytes]:
    log = root / "service.log"
    # ASYNCPDF_* variables would override the temporary config (e.g. ASYNCPDF_WEB__PORT).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCPDF_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "asyncpdf", "serve", "--config", str(config)],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
    started = time.monotonic()
    while get(port, "/healthz")[0] != 200:
        if process.poll() is not None:
            raise SystemExit(f"burst: the service exited:\n{log.read_text(errors='replace')}")
        if time.monotonic() - started > START_TIMEOUT_S:
            process.kill()
            raise SystemExit("burst: the service did not answer /healthz in time")
        time.sleep(0.05)
    print(f"service up in {time.monotonic() - started:.1f} s (pid {process.pid}, port {port})")
    return process


def stop_service(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        print(f"service did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM: killed")


@dataclass
class Idle:
    """The idle service, before the burst: its own CPU, and with /healthz polled."""

    cpu_per_s: float  # CPU seconds per second, nothing polled
    healthz_cpu_ms: float  # the main process's CPU per /healthz answered
    healthz_ms: list[float]


def idle_costs(pid: int, port: int) -> Idle:
    """`IDLE_S` seconds left alone, then `IDLE_S` seconds of /healthz every 10 ms."""
    before = cpu_s(pid)[0]
    time.sleep(IDLE_S)
    alone = cpu_s(pid)[0] - before
    probe = Probe(port, pid)
    before = cpu_s(pid)[0]
    probe.start()
    time.sleep(IDLE_S)
    probe.stop()
    polled = cpu_s(pid)[0] - before - alone
    answered = max(1, len(probe.healthz_ms))
    return Idle(alone / IDLE_S, polled / answered * 1000, probe.healthz_ms)


def drop(files: list[Path], hotfolder: Path) -> dict[str, float]:
    """Each file copied in under a temporary name, then renamed to its own: name → the wall
    time of the rename (the file is complete and has its name: "closed")."""
    closed: dict[str, float] = {}
    for number, path in enumerate(files):
        temporary = hotfolder / f"~$burst-{number}.tmp"
        shutil.copyfile(path, temporary)
        os.rename(temporary, hotfolder / path.name)
        closed[path.name] = time.time()
    return closed


def ended_files(var: Path) -> int:
    """Originals moved out of the spool: into done/, or into error/ beside their reason."""
    done = sum(1 for _ in os.scandir(var / "done"))
    failed = sum(1 for e in os.scandir(var / "error") if not e.name.endswith(REASON_SUFFIX))
    return done + failed


def wait_all_ended(
    process: subprocess.Popen[bytes], count: int, var: Path, timeout_s: float
) -> None:
    """Watch the shop's folders until `count` originals have left the spool and it is empty
    (a job's state is written before its file leaves the spool). Folders, not the API: asking
    the service every moment would add its own load to what is measured."""
    deadline = time.monotonic() + timeout_s
    last_report = time.monotonic()
    while True:
        if process.poll() is not None:
            raise SystemExit("burst: the service exited during the burst")
        ended = ended_files(var)
        if ended >= count and not any((var / "spool").iterdir()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"burst: timed out after {timeout_s:g} s; {ended} of {count} ended")
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  ... {ended} of {count} ended")
        time.sleep(ENDED_EVERY_S)


def all_jobs(port: int) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    while True:
        page = get_json(port, f"/api/jobs?limit=500&offset={len(jobs)}")
        jobs += page["jobs"]
        if not page["jobs"] or len(jobs) >= page["total"]:
            return jobs


def stage_sums(port: int) -> dict[str, float]:
    """asyncpdf_stage_seconds_sum by stage, from /metrics."""
    _, body = get(port, "/metrics")
    sums: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("asyncpdf_stage_seconds_sum{"):
            labels, value = line.rsplit(" ", 1)
            sums[labels.split('stage="', 1)[1].split('"', 1)[0]] = float(value)
    return sums


def delivered_path(delivery: dict[str, Any]) -> Path:
    """Where a file:// delivery put its file."""
    return Path(unquote(urlsplit(delivery["target"]).path)) / delivery["remote_name"]


def check(
    files: list[Path], jobs: list[dict[str, Any]], details: dict[int, dict[str, Any]], root: Path
) -> list[str]:
    """Lost, duplicated or changed files: every file one done job, delivered once, identical."""
    problems: list[str] = []
    by_name = Counter(job["name"] for job in jobs)
    sources = {path.name: path for path in files}
    for name in sources:
        if by_name[name] != 1:
            problems.append(f"{name}: {by_name[name]} jobs")
    problems += [f"{name}: a job for no file dropped" for name in by_name if name not in sources]
    for job in jobs:
        if job["state"] != "done":
            problems.append(f"job {job['id']} {job['name']}: {job['state']}: {job['error']}")
    delivered: set[Path] = set()
    for job_id, detail in details.items():
        name = detail["job"]["name"]
        bureau = [d for d in detail["deliveries"] if d["kind"] == steps.BUREAU]
        if len(bureau) != 1 or bureau[0]["state"] != "sent":
            problems.append(f"job {job_id} {name}: bureau deliveries {bureau}")
            continue
        copy = delivered_path(bureau[0])
        delivered.add(copy)
        if name in sources and not (copy.exists() and filecmp.cmp(sources[name], copy, False)):
            problems.append(f"job {job_id} {name}: {copy} missing or not identical")
    in_outbox = {path for path in (root / "outbox").rglob("*") if path.is_file()}
    problems += [f"{path}: in the outbox, delivered by no job" for path in in_outbox - delivered]
    return problems


#: The log lines that mark the steps of a file's way to its bureau, in order.
MILESTONES = {
    "received": "received ",
    "analysing": "analysing",
    "analysed": "",  # the summary line: "N page(s), …"
    "sending": f"{steps.BUREAU}: sending ",
    "delivered": f"{steps.BUREAU}: delivered ",
}


def milestones(detail: dict[str, Any]) -> dict[str, float]:
    """When each milestone's first line was written (epoch seconds)."""
    found: dict[str, float] = {}
    for line in detail["log"]:
        message = line["message"]
        for name, start in MILESTONES.items():
            hit = " page(s), " in message if name == "analysed" else message.startswith(start)
            if hit and name not in found:
                found[name] = epoch(line["ts"])
    return found


def timeline(
    detail: dict[str, Any], closed: float, settle_s: float
) -> tuple[float | None, float | None]:
    """(pickup latency minus settle, closed → bureau copy delivered), from the job's log."""
    found = milestones(detail)
    pickup = found["received"] - closed - settle_s if "received" in found else None
    bureau = found["delivered"] - closed if "delivered" in found else None
    return pickup, bureau


def step_seconds(details: dict[int, dict[str, Any]]) -> dict[str, list[float]]:
    """Per step between two milestones (e.g. "analysing → analysed"), each file's seconds."""
    names = list(MILESTONES)
    found: dict[str, list[float]] = {f"{a} → {b}": [] for a, b in itertools.pairwise(names)}
    for detail in details.values():
        times = milestones(detail)
        for a, b in itertools.pairwise(names):
            if a in times and b in times:
                found[f"{a} → {b}"].append(times[b] - times[a])
    return found


def run_service(
    files: list[Path], root: Path, config: dict[str, Any], settle_s: float, timeout_s: float
) -> ServiceRun:
    port = int(config["web"]["port"])
    root.mkdir(parents=True)
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    process = start_service(root, config_path, port)
    try:
        idle_rss = proc_status_kb(process.pid, "VmRSS")
        idle = idle_costs(process.pid, port)
        probe = Probe(port, process.pid)
        probe.start()
        main_before, workers_before = tree_cpu_s(process.pid)
        machine_before, script_before = machine_cpu_s(), script_cpu_s()
        started = time.time()
        closed = drop(files, root / "var" / "hotfolder")
        burst_s = time.time() - started
        print(f"{len(files)} files dropped in {burst_s:.2f} s; waiting for every job to end")
        wait_all_ended(process, len(files), root / "var", timeout_s)
        probe.stop()
        main_after, workers_after = tree_cpu_s(process.pid)
        machine = machine_cpu_s() - machine_before
        script = script_cpu_s() - script_before
        counts = get_json(port, "/api/status")["jobs"]
        print(f"jobs by state: {counts}")
        peak_rss = proc_status_kb(process.pid, "VmHWM")
        stages = stage_sums(port)
        jobs = all_jobs(port)
        details = {job["id"]: get_json(port, f"/api/jobs/{job['id']}") for job in jobs}
    except BaseException:
        stop_service(process)
        print((root / "service.log").read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    stop_service(process)

    ended = [
        epoch(line["ts"])
        for detail in details.values()
        for line in detail["log"]
        if line["message"] == "done"
    ]
    pickup: list[float] = []
    bureau: list[float] = []
    received: list[float] = []
    for detail in details.values():
        name = detail["job"]["name"]
        if name in closed:
            picked, copied = timeline(detail, closed[name], settle_s)
            if picked is not None:
                pickup.append(picked)
                received.append(closed[name] + settle_s + picked)
            bureau += [copied] if copied is not None else []
    return ServiceRun(
        seconds=(max(ended) if ended else time.time()) - started,
        pickup_s=pickup,
        bureau_s=bureau,
        steps_s=step_seconds(details),
        healthz_ms=probe.healthz_ms,
        healthz_at=[at - started for at in probe.healthz_at],
        healthz_failed=probe.healthz_failed,
        peak_rss_kb=peak_rss,
        sampled_rss_kb=max(probe.rss_kb, default=0),
        idle_rss_kb=idle_rss,
        main_cpu_s=main_after - main_before,
        workers_cpu_s=workers_after - workers_before,
        stages=stages,
        problems=check(files, jobs, details, root),
        burst_s=burst_s,
        idle=idle,
        claims_s=max(received) - min(received) if received else 0.0,
        machine_cpu_s=machine,
        script_cpu_s=script,
    )


# --- the pool alone --------------------------------------------------------------------------


@dataclass
class PoolRun:
    seconds: float
    main_cpu_s: float
    workers_cpu_s: float
    stages: dict[str, float]
    problems: list[str]
    machine_cpu_s: float  # every process on the machine, this run's included


async def _through_pool(files: list[Path], ctx: steps.Context, tasks: int) -> list[str]:
    queue: asyncio.Queue[tuple[int, Path]] = asyncio.Queue()
    for number, path in enumerate(files, start=1):
        queue.put_nowait((number, path))
    problems: list[str] = []

    async def work() -> None:
        while not queue.empty():
            number, path = queue.get_nowait()
            try:
                found = await steps.analyse(ctx, path)
                if found.analysis.error:
                    problems.append(f"{path.name}: {found.analysis.error}")
                    continue
                made = await steps.make_previews(ctx, number, path, found.analysis)
                problems.extend(f"{path.name}: {w}" for w in made.warnings if "no preview" in w)
            except Exception as exc:
                problems.append(f"{path.name}: {exc!r}")

    await asyncio.gather(*(work() for _ in range(tasks)))
    return problems


POOL_ALONE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import burst; burst.pool_alone(*sys.argv[2:])"
)


def run_pool(files: list[Path], root: Path, config: dict[str, Any]) -> PoolRun:
    """The same step functions through the same pool, as many at once as the service has job
    tasks; its previews go to a shop of its own. In a process of its own started with
    ``python -c``: spawned workers re-import a script's main module, and this one would bring
    aiohttp and the whole service into every worker the pool starts."""
    root.mkdir(parents=True)
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    listing = root / "files.json"
    listing.write_text(json.dumps([str(path) for path in files], ensure_ascii=False))
    here = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", POOL_ALONE, here, str(config_path), str(listing)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"burst: the pool-alone run failed ({done.returncode}):\n{done.stdout}")
    return PoolRun(**json.loads(done.stdout.splitlines()[-1]))


def pool_alone(config_path: str, listing: str) -> None:
    """The pool-alone run, in its own process: prints its figures as JSON."""
    settings = load_settings(Path(config_path))
    files = [Path(name) for name in json.loads(Path(listing).read_text())]
    settings.paths.previews.mkdir(parents=True, exist_ok=True)
    limits = settings.pool
    metrics = Metrics()
    own = os.times()
    machine = machine_cpu_s()
    started = time.perf_counter()
    pool = Pool(
        limits.workers,
        limits.job_timeout_s,
        limits.worker_memory_mb,
        short_workers=limits.workers,
    )
    try:
        ctx = steps.Context(settings, settings.rules(), pool, metrics)
        problems = asyncio.run(_through_pool(files, ctx, limits.jobs))
        seconds = time.perf_counter() - started
        main_cpu, workers_cpu = tree_cpu_s(os.getpid())
        machine = machine_cpu_s() - machine
    finally:
        pool.close()
    stages = {
        stage: metrics.registry.get_sample_value("asyncpdf_stage_seconds_sum", {"stage": stage})
        or 0.0
        for stage in ("analysis", "previews")
    }
    figures = PoolRun(
        seconds,
        main_cpu - (own.user + own.system),
        workers_cpu - (own.children_user + own.children_system),
        stages,
        problems,
        machine,
    )
    print(json.dumps(asdict(figures), ensure_ascii=False))


# --- the report ------------------------------------------------------------------------------


def report(count: int, service: ServiceRun, pool: PoolRun, settle_s: float) -> int:
    overhead = service.seconds / pool.seconds
    print(
        f"\ntime until all done: service {service.seconds:.1f} s, pool alone "
        f"{pool.seconds:.1f} s (the service's includes the settle of {settle_s:g} s)"
    )
    print(
        f"files per second:    service {count / service.seconds:.2f}, pool alone "
        f"{count / pool.seconds:.2f}"
    )
    target = TARGETS["overhead"]
    print(
        f"overhead (service / pool alone): {overhead:.2f} (target ≤ {target:g})"
        f"{'' if overhead <= target else MISSED}; without the settle "
        f"{(service.seconds - settle_s) / pool.seconds:.2f}"
    )
    print_service(count, service, settle_s)
    print(
        f"CPU: service main process {service.main_cpu_s:.1f} s, its workers and gs "
        f"{service.workers_cpu_s:.1f} s; pool alone: its process {pool.main_cpu_s:.1f} s, "
        f"workers and gs {pool.workers_cpu_s:.1f} s"
    )
    idle = service.idle
    polling = idle.healthz_cpu_ms * len(service.healthz_ms) / 1000
    print(
        f"  of the main process's: idle {idle.cpu_per_s * service.seconds:.1f} s "
        f"({idle.cpu_per_s * 1000:.1f} ms a second); /healthz every 10 ms about {polling:.1f} s "
        f"({idle.healthz_cpu_ms:.2f} ms per answer, measured idle); the jobs the rest"
    )
    service_cpu = service.main_cpu_s + service.workers_cpu_s
    pool_cpu = pool.main_cpu_s + pool.workers_cpu_s
    print(
        f"CPU overhead (service CPU / pool-alone CPU; less moved by other load than time): "
        f"{service_cpu / pool_cpu:.2f}; the main process took "
        f"{service.main_cpu_s / service.seconds:.0%} of a core during the burst"
    )
    cores = os.cpu_count() or 1
    service_others = service.machine_cpu_s - service_cpu - service.script_cpu_s
    pool_others = pool.machine_cpu_s - pool_cpu
    print(
        f"cores kept busy by the workers and gs: service "
        f"{service.workers_cpu_s / service.seconds:.2f}, pool alone "
        f"{pool.workers_cpu_s / pool.seconds:.2f} (of {cores}); the rest went to the service's "
        f"main process, this script ({service.script_cpu_s:.1f} s, the /healthz probe) and "
        f"other processes: {service_others:.0f} s ({service_others / service.seconds:.2f} "
        f"cores) during the service run, {pool_others:.0f} s "
        f"({pool_others / pool.seconds:.2f} cores) during the pool-alone run"
    )
    jobs = PoolSettings().jobs
    print(
        f"job tasks inside pool calls (stage seconds / {jobs} tasks / time): service "
        f"{sum(service.stages.values()) / jobs / service.seconds:.0%}, pool alone "
        f"{sum(pool.stages.values()) / jobs / pool.seconds:.0%}"
    )
    stages = sorted({*service.stages, *pool.stages})
    print(
        "stage seconds summed over jobs (waits for a free worker included): "
        + ", ".join(
            f"{stage} service {service.stages.get(stage, 0):.1f} / pool alone "
            f"{pool.stages.get(stage, 0):.1f}"
            for stage in stages
        )
    )
    for problem in pool.problems[:10]:
        print(f"  pool alone: {problem}")
    return check_line(count, service)


def report_service(count: int, service: ServiceRun, settle_s: float) -> int:
    """The figures of the service run alone (--service-only: no overhead, no pool alone)."""
    print(f"\ntime until all done: service {service.seconds:.1f} s (settle {settle_s:g} s)")
    print_service(count, service, settle_s)
    return check_line(count, service)


def print_service(count: int, service: ServiceRun, settle_s: float) -> None:
    idle = service.idle
    print(f"pickup latency (closed → queued, minus settle): {spread(service.pickup_s)}")
    print(
        f"  files dropped over {service.burst_s:.2f} s, received (claimed) over "
        f"{service.claims_s:.2f} s: {service.claims_s / count * 1000:.1f} ms a file, one by one"
    )
    p50, p99 = (percentile(service.bureau_s, p) if service.bureau_s else math.inf for p in (50, 99))
    missed = p50 > TARGETS["bureau_p50_s"] or p99 > TARGETS["bureau_p99_s"]
    print(
        f"closed → bureau copy delivered:                  {spread(service.bureau_s)} (target "
        f"p50 ≤ {TARGETS['bureau_p50_s']:g} s, p99 ≤ {TARGETS['bureau_p99_s']:g} s)"
        f"{MISSED if missed else ''}"
    )
    for step, seconds in service.steps_s.items():
        print(f"  {step}: {spread(seconds)}")
    p99 = percentile(service.healthz_ms, 99) if service.healthz_ms else math.inf
    target = TARGETS["healthz_p99_ms"]
    print(
        f"/healthz during the burst ({len(service.healthz_ms)} requests, every "
        f"{HEALTHZ_EVERY_S * 1000:g} ms): {spread(service.healthz_ms, 'ms')} (target p99 < "
        f"{target:g} ms){'' if p99 < target else MISSED}; not 200: {service.healthz_failed}"
    )
    claiming = settle_s + service.claims_s + 1.0
    early = [
        ms for ms, at in zip(service.healthz_ms, service.healthz_at, strict=True) if at < claiming
    ]
    late = [
        ms for ms, at in zip(service.healthz_ms, service.healthz_at, strict=True) if at >= claiming
    ]
    slowest = sorted(zip(service.healthz_ms, service.healthz_at, strict=True), reverse=True)[:5]
    print(
        f"  while the files were claimed (first {claiming:.1f} s): {spread(early, 'ms')}; "
        f"after: {spread(late, 'ms')}; slowest: "
        + ", ".join(f"{ms:.0f} ms at {at:.1f} s" for ms, at in slowest)
    )
    print(
        f"/healthz with the service idle ({len(idle.healthz_ms)} requests): "
        f"{spread(idle.healthz_ms, 'ms')}"
    )
    peak_mb = service.peak_rss_kb / 1024
    target = TARGETS["rss_mb"]
    print(
        f"service main process peak RSS (VmHWM): {peak_mb:.1f} MB (target < {target:g} MB)"
        f"{'' if peak_mb < target else MISSED}; sampled max {service.sampled_rss_kb / 1024:.1f} "
        f"MB, {service.idle_rss_kb / 1024:.1f} MB before the burst"
    )


def check_line(count: int, service: ServiceRun) -> int:
    if service.problems:
        for problem in service.problems[:20]:
            print(f"  {problem}")
        print(f"check: FAILED, {len(service.problems)} problem(s) (lost, duplicated or changed)")
        return 1
    print(
        f"check: none lost or duplicated ({count} files, {count} done jobs, each delivered "
        "once, byte-identical)"
    )
    return 1 if service.healthz_failed else 0


def run(args: argparse.Namespace) -> int:
    watch = Watch()
    settle_s = watch.settle_s if args.settle_s is None else args.settle_s
    poll_s = watch.poll_s if args.poll_s is None else args.poll_s
    which = "as set" if args.settle_s is not None or args.poll_s is not None else "production"
    limits = PoolSettings()
    pool_settings = limits.model_dump()
    delivery = DeliverySettings()
    print(
        f"{args.count} files; settle {settle_s:g} s, poll {poll_s:g} s ({which}); pool "
        f"{limits.workers} workers, {limits.jobs} job tasks, timeout {limits.job_timeout_s:g} s, "
        f"{limits.worker_memory_mb} MB per worker; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    files = prepare_files(args.files, args.count, args.seed)
    print(load())
    sizes = [path.stat().st_size for path in files]
    print(
        f"files of {min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KB, {sum(sizes) >> 20} MB in all"
    )
    with tempfile.TemporaryDirectory(prefix="asyncpdf-burst-") as tmp:
        root = Path(tmp)
        overrides = {
            "watch": {"settle_s": settle_s, "poll_s": poll_s},
            "pool": pool_settings,
            "delivery": {"attempts": delivery.attempts, "backoff_s": delivery.backoff_s},
        }
        took = time.perf_counter()
        service = run_service(
            files,
            root / "service",
            shop_config(root / "service", **overrides),
            settle_s,
            timeout_s=120 + args.count * 5.0,
        )
        print(f"service run: {time.perf_counter() - took:.1f} s, {load()}")
        if args.service_only:
            return report_service(args.count, service, settle_s)
        took = time.perf_counter()
        pool = run_pool(files, root / "pool", shop_config(root / "pool", **overrides))
        print(f"pool-alone run: {time.perf_counter() - took:.1f} s, {load()}")
    return report(args.count, service, pool, settle_s)


def main(argv: list[str] | None = None) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):  # progress shows when the output is a file
        sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="files (default 1000)")
    parser.add_argument(
        "--files",
        type=Path,
        default=Path(tempfile.gettempdir()) / "asyncpdf-burst-files",
        help="cache folder of the generated files (default $TMPDIR/asyncpdf-burst-files)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed of the files ({SEED})")
    parser.add_argument("--settle-s", type=float, help="watch.settle_s (production: 2)")
    parser.add_argument("--poll-s", type=float, help="watch.poll_s (production: 0.5)")
    parser.add_argument(
        "--service-only", action="store_true", help="skip the pool-alone run (a quick look)"
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if (args.settle_s is not None and args.settle_s < 0) or (
        args.poll_s is not None and args.poll_s <= 0
    ):
        parser.error("--settle-s must not be negative and --poll-s must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
