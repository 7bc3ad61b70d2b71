"""What tests share: a temporary shop (folders and config), waiting for a condition, the real
service as a subprocess and the API calls made on it. Fixtures live in conftest.py and use
these; test modules import from here, never from each other or from conftest.py.

Pool functions for tests are in `workers.py`, random damage to files in `damage.py`."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from asyncpdf.config import Settings, load_settings
from asyncpdf.domain.lifecycle import TERMINAL as TERMINAL_STATES
from asyncpdf.domain.records import JobHeader
from asyncpdf.pdf.naming import parse_name, without_tag
from asyncpdf.service import Service as InProcessService
from asyncpdf.testing.samples import make_samples
from tests.support.workers import troublesome_analysis

BUREAUS = ("Leonov", "Korol", "Vonoel", "Pechatnik", "Admin")
PRESSES = (
    {"name": "Speedmaster", "plate_mm": [1030, 770], "gripper_mm": 43, "plate_size_fallback": True},
    {"name": "Planeta", "plate_mm": [1010, 820], "gripper_mm": 52, "plate_size_fallback": True},
    {"name": "Dominant", "plate_mm": [650, 550], "gripper_mm": 36, "plate_size_fallback": True},
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shop_config(root: Path, **overrides: Any) -> dict[str, Any]:
    """A config dict for a shop living under `root`, with test-sized timings."""
    config: dict[str, Any] = {
        "paths": {
            name: str(root / "var" / name)
            for name in ("hotfolder", "spool", "done", "error", "previews")
        },
        "watch": {"settle_s": 0.3, "poll_s": 0.05},
        "pool": {"workers": 2, "jobs": 4, "job_timeout_s": 60},
        "delivery": {"attempts": 2, "backoff_s": 0.1},
        "presses": list(PRESSES),
        "bureaus": [
            {"name": name, "target": (root / "outbox" / name).as_uri(), "notify": name != "Admin"}
            for name in BUREAUS
        ],
        "web": {"host": "127.0.0.1", "port": free_port()},
    }
    config["paths"]["database"] = str(root / "var" / "asyncpdf.sqlite3")
    for section, values in overrides.items():
        if isinstance(values, dict):
            config[section] = {**config.get(section, {}), **values}
        else:
            config[section] = values
    return config


def write_config(root: Path, **overrides: Any) -> Path:
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(shop_config(root, **overrides), allow_unicode=True))
    return path


async def wait_for(condition: Any, timeout_s: float, what: str, interval_s: float = 0.1) -> Any:
    """Poll an async condition until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(interval_s)


@dataclass
class Service:
    """The real service, started as `python -m asyncpdf serve` on a temporary shop; with
    `open_files`, under that RLIMIT_NOFILE (soft, hard)."""

    root: Path
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    open_files: tuple[int, int] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hotfolder(self) -> Path:
        return self.root / "var" / "hotfolder"

    def folder(self, name: str) -> Path:
        return self.root / "var" / name

    def outbox(self, bureau: str) -> Path:
        return self.root / "outbox" / bureau

    async def start(self) -> None:
        log = self.root / f"service-{len(self.logs)}.log"
        self.logs.append(log)
        limits = self.open_files

        def limit() -> None:
            if limits is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, limits)

        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asyncpdf", "serve", "--config", str(self.config)],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=limit,
            )
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"service exited:\n{log.read_text()}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(healthy, 30, "the service to answer /healthz")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs if path.exists())


TERMINAL = {"done", "failed", "rejected"}


async def all_jobs(http: aiohttp.ClientSession, service: Service) -> list[dict[str, Any]]:
    async with http.get(f"{service.url}/api/jobs", params={"limit": "500"}) as response:
        assert response.status == 200
        body = await response.json()
    return list(body["jobs"])


async def wait_finished(
    http: aiohttp.ClientSession, service: Service, count: int, timeout_s: float = 180
) -> list[dict[str, Any]]:
    async def finished() -> list[dict[str, Any]] | None:
        jobs = await all_jobs(http, service)
        done = [job for job in jobs if job["state"] in TERMINAL]
        # The state is written before the file leaves the spool; wait for both.
        moved = not any(service.folder("spool").iterdir())
        return jobs if len(done) >= count and len(done) == len(jobs) and moved else None

    return list(await wait_for(finished, timeout_s, f"{count} finished jobs"))


def delivered_path(service: Service, name: str) -> Path:
    bureau = parse_name(name, BUREAUS).bureau
    assert bureau, name
    return service.outbox(bureau) / without_tag(name, bureau)


class Shop:
    """A temporary shop and the service in this process (no web app, no watcher), started
    and stopped by the test, which claims files itself."""

    def __init__(self, root: Path, samples: int = 4, **overrides: Any) -> None:
        self.root = root
        self.settings: Settings = load_settings(write_config(root, **overrides))
        self.paths = self.settings.paths
        self.samples = make_samples(root / "samples", count=samples, seed=1)
        self.service: InProcessService | None = None

    async def start(self, **kwargs: Any) -> InProcessService:
        kwargs.setdefault("analyse", troublesome_analysis)
        self.service = await InProcessService(self.settings, watch=False, **kwargs).__aenter__()
        return self.service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.__aexit__(None, None, None)
            self.service = None

    @property
    def running(self) -> InProcessService:
        assert self.service is not None
        return self.service

    def drop(self, index: int, name: str | None = None) -> Path:
        target = self.paths.hotfolder / (name or self.samples[index].name)
        target.write_bytes(self.samples[index].read_bytes())
        return target

    async def claim(self, index: int, name: str | None = None) -> int:
        job_id = await self.running.claims.claim(self.drop(index, name))
        assert job_id is not None
        return job_id

    async def jobs(self) -> list[JobHeader]:
        return await self.running.store.jobs.page(limit=500)

    async def finished(self, count: int, timeout_s: float = 180) -> dict[str, JobHeader]:
        async def check() -> dict[str, JobHeader] | None:
            jobs = await self.jobs()
            moved = not any(self.paths.spool.iterdir())
            if len(jobs) >= count and all(job.state in TERMINAL_STATES for job in jobs) and moved:
                return {job.name: job for job in jobs}
            return None

        return dict(await wait_for(check, timeout_s, f"{count} finished jobs"))

    def outbox(self, name: str) -> Path:
        bureau = parse_name(name, BUREAUS).bureau
        assert bureau is not None
        return self.root / "outbox" / bureau
