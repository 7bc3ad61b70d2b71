"""How fast `/readyz` answers while every pool worker is busy on a long job.

    .venv/bin/python benchmarks/readiness.py [--requests N] [--files K] [--pages P]

Starts the real service (``python -m asyncpdf serve``) on a temporary shop with 2 pool workers
and 4 job tasks, on 127.0.0.1 and a free port, then times `/readyz`, `/healthz` and `/api/jobs`
`--requests` times each, one fresh connection per request:

- idle: nothing in the hotfolder;
- busy: after `--files` plate files of `--pages` blank Dominant plates each (no marks: the
  preview measures each page's content) are dropped into the hotfolder and both pool workers
  are inside Ghostscript's content box of one of them (many seconds for 3000 pages), as the
  runner's own `/readyz` detail and the `gs` processes on the files say.

Prints p50, p95 and max (ms) and the answers that were not 200 per scenario and endpoint, then
stops the service with SIGTERM. Timings are printed, never asserted (see README.md in this
folder); the script exits 1 if any answer was not 200.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from analysis import ROOT, times_ms

sys.path.insert(0, str(ROOT))  # for tests.support: plain helpers, no pytest

from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.testing.processes import ghostscripts
from asyncpdf.testing.samples import SamplePage, write_sample
from tests.support import shop_config

HOST = "127.0.0.1"
POOL = {"workers": 2, "jobs": 4, "job_timeout_s": 120}
ENDPOINTS = ("/readyz", "/healthz", "/api/jobs")
REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
BUSY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
PAGE_MM = (650.0, 550.0)  # Dominant's plate: the press by plate size, the bureau by the name
BUSY = re.compile(r"(\d+) busy")


@dataclass
class Series:
    scenario: str
    endpoint: str
    times_ms: list[float]
    statuses: list[int]  # 0: no answer (refused, reset or timed out)
    bodies: list[bytes] = field(repr=False)
    busy_before: int = 0  # pool workers inside gs when the series started and ended
    busy_after: int = 0

    @property
    def failed(self) -> int:
        return sum(status != 200 for status in self.statuses)


def get(port: int, path: str) -> tuple[int, bytes]:
    """One GET on a fresh connection, as a probe makes it: (status, body), status 0 if none."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        connection.close()


def series(port: int, scenario: str, endpoint: str, count: int, root: Path) -> Series:
    statuses: list[int] = []
    bodies: list[bytes] = []

    def once() -> None:
        status, body = get(port, endpoint)
        statuses.append(status)
        bodies.append(body)

    before = len(ghostscripts(root))
    times = times_ms(once, count)
    return Series(scenario, endpoint, times, statuses, bodies, before, len(ghostscripts(root)))


def busy_tasks(body: bytes) -> int:
    """Busy job tasks in a `/readyz` answer, both lanes: its `parts.jobs.detail` reads
    "4 job tasks; analysis: 0 busy, 0 queued; previews: 2 busy, …"."""
    try:
        found = BUSY.findall(json.loads(body)["parts"]["jobs"]["detail"])
    except (ValueError, KeyError, TypeError):
        return -1
    return sum(int(count) for count in found) if found else -1


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll `condition` every 50 ms; the seconds it took, or SystemExit naming `what`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"readiness: timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def start(root: Path, config: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
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

    def healthy() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"readiness: the service exited:\n{log.read_text()}")
        return get(port, "/healthz")[0] == 200

    took = wait_until(healthy, START_TIMEOUT_S, "the service to answer /healthz")
    print(f"service up in {took:.1f} s (pid {process.pid}, port {port})")
    return process, log


def stop(process: subprocess.Popen[bytes], root: Path) -> None:
    if process.poll() is None:
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
            print(f"service stopped by SIGTERM in {time.monotonic() - started:.1f} s")
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            print(f"service did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM: killed")
    # Its workers' gs die with them; any that outlive it would hold the temporary folder.
    for pid in ghostscripts(root):
        print(f"gs {pid} outlived the service: killed")
        os.kill(pid, signal.SIGKILL)


def make_files(directory: Path, count: int, pages: int) -> list[Path]:
    """`count` files of `pages` blank plates: Ghostscript's content box for the preview's crop
    makes each a long job."""
    page = SamplePage(PAGE_MM, inks=None)
    return [
        write_sample(directory / f"{n}_thick_Leonov.pdf", [page] * pages)
        for n in range(1, count + 1)
    ]


def print_table(results: list[Series]) -> None:
    print(f"\n{'scenario':<9}{'endpoint':<11}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'non-200':>9}")
    for s in results:
        print(
            f"{s.scenario:<9}{s.endpoint:<11}{percentile(s.times_ms, 50):>9.2f}"
            f"{percentile(s.times_ms, 95):>9.2f}{max(s.times_ms):>9.2f}{s.failed:>9}"
        )


def measure(args: argparse.Namespace, root: Path, port: int, wanted: int) -> list[Series]:
    results = [series(port, "idle", path, args.requests, root) for path in ENDPOINTS]

    staged = root / "staged"
    staged.mkdir()
    files = make_files(staged, args.files, args.pages)
    hotfolder = root / "var" / "hotfolder"
    for path in files:  # a rename on one file system: the watcher never sees half a file
        path.rename(hotfolder / path.name)

    def busy() -> bool:
        _, body = get(port, "/readyz")
        return busy_tasks(body) >= wanted and len(ghostscripts(root)) >= wanted

    took = wait_until(busy, BUSY_TIMEOUT_S, f"{wanted} busy job tasks and {wanted} gs processes")
    print(f"{args.files} files dropped; {wanted} pool workers inside gs after {took:.1f} s")
    busy_results = [series(port, "busy", path, args.requests, root) for path in ENDPOINTS]
    for s in busy_results:
        if min(s.busy_before, s.busy_after) < wanted:
            print(
                f"warning: busy {s.endpoint}: {s.busy_before} then {s.busy_after} pool workers "
                f"inside gs (wanted {wanted}); more --pages or fewer --requests"
            )
    seen = [busy_tasks(body) for body in busy_results[0].bodies]
    print(f"busy /readyz answers said {min(seen)}-{max(seen)} job tasks busy")
    return results + busy_results


def run(args: argparse.Namespace) -> int:
    if gs_path() is None:
        raise SystemExit("readiness: needs Ghostscript (gs) for the long jobs")
    wanted = min(args.files, POOL["workers"])
    print(
        f"{args.requests} requests per endpoint and scenario, {args.files} files of "
        f"{args.pages} pages, pool {POOL}; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="asyncpdf-bench-") as tmp:
        root = Path(tmp)
        config = shop_config(root, pool=POOL, max_pages=args.pages)
        port = int(config["web"]["port"])
        config_path = root / "config.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        process, log = start(root, config_path, port)
        try:
            results = measure(args, root, port, wanted)
        except BaseException:
            stop(process, root)
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        stop(process, root)

    print_table(results)
    failed = sum(s.failed for s in results)
    if failed:
        print(f"\n{failed} answer(s) were not 200")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per endpoint and scenario (200)"
    )
    parser.add_argument("--files", type=int, default=4, help="long files dropped (default 4)")
    parser.add_argument("--pages", type=int, default=3000, help="pages per file (default 3000)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.files < 1 or args.pages < 1:
        parser.error("--requests, --files and --pages must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
