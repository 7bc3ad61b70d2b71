"""The service as a sysadmin meets it: one instance per data folder (a second `serve` exits
with one line and changes nothing), the start-up and shutdown lines, an access log without the
probes, and documented exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from asyncpdf.cli import main
from asyncpdf.errors import EXIT_CANNOT_START, EXIT_USAGE
from asyncpdf.testing.samples import make_samples
from tests.support import Service, delivered_path, free_port, wait_finished, write_config


def second_serve(service: Service, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncpdf", "serve", "--config", str(service.config)],
        cwd=service.root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_second_serve_mid_burst_exits_with_one_line_and_changes_nothing(
    make_service, http, tmp_path: Path
) -> None:
    service = make_service()
    await service.start()
    assert service.process is not None
    samples = make_samples(tmp_path / "samples", count=20, seed=13)
    for sample in samples:
        shutil.copy(sample, service.hotfolder / sample.name)

    same_port = second_serve(service)
    other_port = second_serve(service, ASYNCPDF_WEB__PORT=str(free_port()))

    assert same_port.returncode == other_port.returncode == EXIT_CANNOT_START
    assert same_port.stdout == other_port.stdout == ""
    (port_line,) = same_port.stderr.splitlines()
    assert f"cannot listen on 127.0.0.1:{service.port}: Address already in use" in port_line
    assert "web.port" in port_line and "ASYNCPDF_WEB__PORT" in port_line
    (lock_line,) = other_port.stderr.splitlines()
    assert f"another asyncpdf (PID {service.process.pid}) is already running" in lock_line

    jobs = await wait_finished(http, service, len(samples))
    assert Counter(job["name"] for job in jobs) == Counter(s.name for s in samples)
    assert {job["state"] for job in jobs} == {"done"}, [j["error"] for j in jobs]
    for sample in samples:
        assert delivered_path(service, sample.name).read_bytes() == sample.read_bytes()
    assert sorted(p.name for p in service.folder("done").iterdir()) == sorted(
        s.name for s in samples
    )
    assert list(service.folder("error").iterdir()) == []
    assert "resuming" not in service.log_text()


async def test_start_and_stop_lines_and_an_access_log_without_probes(make_service, http) -> None:
    service = make_service()
    await service.start()
    for path in ("/healthz", "/readyz", "/metrics", "/api/jobs"):
        async with http.get(f"{service.url}{path}") as response:
            assert response.status == 200, path
    service.stop()
    assert service.process is not None and service.process.returncode == 0
    text = service.log_text()

    (started,) = [line for line in text.splitlines() if " started: " in line]
    assert f"asyncpdf 0.1.0 started: config {service.config}, " in started
    assert f"hotfolder {service.hotfolder}, " in started
    assert "presses Speedmaster, Planeta, Dominant, " in started
    assert "bureaus Leonov, Korol, Vonoel, Pechatnik, Admin, " in started
    assert started.endswith("0 unfinished job(s) resumed")
    assert f"listening on http://127.0.0.1:{service.port}" in text
    (stopped,) = [line for line in text.splitlines() if "asyncpdf stopped" in line]
    assert stopped.endswith("asyncpdf stopped (0 queued jobs will resume at the next start)")
    access = [line for line in text.splitlines() if "aiohttp.access" in line]
    assert len(access) == 1 and '"GET /api/jobs HTTP/1.1" 200' in access[0]


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pool:\n  workers: 0\n")
    assert main(["check-config", "--config", str(bad)]) == EXIT_USAGE
    assert "pool.workers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["no-such-command"])
    assert usage.value.code == EXIT_USAGE


def test_a_start_up_that_fails_is_one_line_and_no_process_left(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    database = tmp_path / "var" / "asyncpdf.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not an SQLite database" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "asyncpdf", "serve", "--config", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_CANNOT_START
    (line,) = done.stderr.splitlines()
    assert line == "asyncpdf: cannot start: DatabaseError: file is not a database"
