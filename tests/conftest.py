"""Shared fixtures: a temporary shop (folders and config) and the real service as a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

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
    """The real service, started as `python -m asyncpdf serve` on a temporary shop."""

    root: Path
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

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
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asyncpdf", "serve", "--config", str(self.config)],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
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


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def make(**overrides: Any) -> Service:
        config = write_config(tmp_path, **overrides)
        port = yaml.safe_load(config.read_text())["web"]["port"]
        service = Service(root=tmp_path, config=config, port=port)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
