"""What `deploy/` ships, checked by the tools that will read it, and what the service does for
them: the unit passes `systemd-analyze verify` and lets the service write where the example
config says; the nginx site passes `nginx -t` and really proxies the page, the API and the
live log's websocket (at the root and under a sub-path); the Samba share passes `testparm`;
the real service sends READY, WATCHDOG and STOPPING to `$NOTIFY_SOCKET`; and `asyncpdf backup`
copies the database of a running service consistently, without overwriting unasked.

Each tool's test is skipped, with the reason, where the tool is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from asyncpdf.cli import main
from asyncpdf.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from asyncpdf.pipeline.lanes import SHUTDOWN_GRACE_S
from asyncpdf.pipeline.pool import CLOSE_GRACE_S
from asyncpdf.testing.samples import make_samples
from tests.support import Service, free_port, wait_finished, wait_for, write_config

MakeService = Callable[..., Service]
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "asyncpdf.service"
SITE = DEPLOY / "nginx-asyncpdf.conf"
SAMBA = DEPLOY / "smb.conf.snippet"
EXAMPLE = DEPLOY / "config.example.yaml"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
TESTPARM = shutil.which("testparm")
STEP_S = 30  # the service coming up, a datagram arriving, a process ending


def unit_settings() -> dict[str, list[str]]:
    """Every `Key=value` of the unit, values in order (a key may repeat)."""
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def runnable_unit(folder: Path) -> Path:
    """The unit as shipped, but for ExecStart: verify insists that the binary exists, and
    /opt/asyncpdf is not where this checkout lives. The venv's own `asyncpdf` stands in for
    it, with the same arguments. Nothing else differs (User=asyncpdf need not exist for
    verify, nor /srv/asyncpdf)."""
    here = Path(sys.executable).parent / "asyncpdf"
    text = UNIT.read_text()
    assert "ExecStart=/opt/asyncpdf/.venv/bin/asyncpdf " in text
    copy = folder / UNIT.name
    copy.write_text(
        text.replace("ExecStart=/opt/asyncpdf/.venv/bin/asyncpdf ", f"ExecStart={here} ")
    )
    return copy


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="needs systemd-analyze (Debian's systemd)")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(runnable_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=STEP_S,
    )
    # verify exits 0 even when it ignores a setting it cannot parse ("Failed to parse service
    # type, ignoring"): the warnings on stderr are the verdict.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_the_unit_is_a_supervised_sandboxed_service() -> None:
    unit = unit_settings()
    wanted = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "User": "asyncpdf",
        "Group": "asyncpdf",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "KillMode": "mixed",
        "LimitNOFILE": "65536",
    }
    assert {key: unit.get(key, [""])[-1] for key in wanted} == wanted
    (exec_start,) = unit["ExecStart"]
    assert exec_start == "/opt/asyncpdf/.venv/bin/asyncpdf serve --config /etc/asyncpdf/config.yaml"
    # The service's own bounded stop (jobs' grace, then the pool's) fits before systemd's kill.
    assert float(unit["TimeoutStopSec"][-1]) >= SHUTDOWN_GRACE_S + CLOSE_GRACE_S + 10


def test_the_example_config_is_valid_and_writes_only_where_the_unit_allows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-config", "--config", str(EXAMPLE)]) == EXIT_OK
    assert capsys.readouterr().out.startswith(f"{EXAMPLE}: ok (")
    config = yaml.safe_load(EXAMPLE.read_text())
    written = [Path(value) for value in config["paths"].values()]
    for item in config["presses"] + config["bureaus"]:
        for key in ("target", "preview_target"):
            if str(item.get(key, "")).startswith("file:"):
                written.append(Path(item[key].removeprefix("file://")))
    writable = [Path(p) for value in unit_settings()["ReadWritePaths"] for p in value.split()]
    outside = [str(p) for p in written if not any(p.is_relative_to(w) for w in writable)]
    assert outside == []
    assert unit_settings()["WorkingDirectory"] == [str(writable[0])]
    # The share is the hotfolder, and nginx takes the largest file the service does.
    assert f"path = {config['paths']['hotfolder']}\n" in SAMBA.read_text()
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", SITE.read_text())[1])  # type: ignore[index]
    assert config["max_file_mb"] <= body_mb <= config["max_file_mb"] * 1.01


# --- Samba ----------------------------------------------------------------------------------


def samba_variants() -> Iterator[tuple[str, str]]:
    """The snippet as shipped, and with every commented option switched on (guests, Macs)."""
    text = SAMBA.read_text()
    yield "as shipped", text
    on = re.sub(r"^(\s*);(\w)", r"\1\2", text, flags=re.MULTILINE).replace(
        "   valid users = @prepress\n", ""
    )
    yield "guests and Macs", on


@pytest.mark.skipif(TESTPARM is None, reason="needs testparm (Debian's samba-common-bin)")
@pytest.mark.parametrize("variant", ["as shipped", "guests and Macs"])
def test_the_samba_share_passes_testparm(tmp_path: Path, variant: str) -> None:
    assert TESTPARM is not None
    text = dict(samba_variants())[variant]
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\nserver role = standalone server\nmap to guest = Bad User\n\n" + text)
    result = subprocess.run(
        [TESTPARM, "-s", str(conf)], capture_output=True, text=True, timeout=STEP_S
    )
    # testparm exits 0 even after "Ignoring unknown parameter": read what it says.
    assert result.returncode == 0, result.stderr
    assert not re.search(r"unknown|invalid|error", result.stderr, re.IGNORECASE), result.stderr
    share = result.stdout.split("[hotfolder]", 1)[1]
    for line in (
        "force group = asyncpdf",
        "create mask = 0664",
        "directory mask = 0775",
        "veto files = /.DS_Store/._*/Thumbs.db/desktop.ini/",
        "delete veto files = Yes",
    ):
        assert f"\t{line}\n" in share, (line, share)


# --- nginx ----------------------------------------------------------------------------------

needs_nginx = pytest.mark.skipif(NGINX is None, reason="needs nginx (Debian's nginx)")


def with_subpath(site: str) -> str:
    """The site with its commented sub-path variant switched on (beside the root locations)."""
    lines = site.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "# location /asyncpdf/ {")
    for i in range(start, len(lines)):
        if not lines[i].strip().startswith("#"):
            break
        lines[i] = lines[i].replace("# ", "", 1)
    return "\n".join(lines) + "\n"


def nginx_conf(folder: Path, site: str) -> Path:
    """A minimal nginx.conf around the site, all its files under `folder` (as Debian's
    nginx.conf includes sites-enabled/* inside http { })."""
    (folder / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n"
        f"{temp}\n"
        f"    include {folder / 'site.conf'};\n"
        "}\n"
    )
    return conf


def nginx(conf: Path, *args: str) -> list[str]:
    assert NGINX is not None
    # -e: the error log before the config is read, which would be /var/log/nginx otherwise.
    return [
        NGINX,
        "-c",
        str(conf),
        "-p",
        str(conf.parent),
        "-e",
        str(conf.parent / "error.log"),
        *args,
    ]


@needs_nginx
@pytest.mark.parametrize("variant", ["root", "sub-path"])
def test_the_nginx_site_passes_nginx_t(tmp_path: Path, variant: str) -> None:
    site = SITE.read_text()
    conf = nginx_conf(tmp_path, site if variant == "root" else with_subpath(site))
    result = subprocess.run(nginx(conf, "-t"), capture_output=True, text=True, timeout=STEP_S)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


@contextlib.contextmanager
def running_nginx(folder: Path, site: str, port: int) -> Iterator[None]:
    """nginx in the foreground on 127.0.0.1:`port` with `site`, until the block ends."""
    conf = nginx_conf(folder, site)
    with (folder / "nginx.out").open("wb") as out:
        process = subprocess.Popen(nginx(conf, "-g", "daemon off;"), stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + STEP_S
        while True:
            assert process.poll() is None, (folder / "nginx.out").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(STEP_S)


@needs_nginx
async def test_nginx_proxies_the_page_the_api_and_the_websocket(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    service = make_service()
    await service.start()
    port = free_port()
    # Environment-specific only: where nginx listens and where the service does.
    site = with_subpath(SITE.read_text())
    site = site.replace("    listen [::]:80;\n", "").replace(
        "listen 80;", f"listen 127.0.0.1:{port};"
    )
    site = site.replace("server 127.0.0.1:8800;", f"server 127.0.0.1:{service.port};")
    folder = tmp_path / "nginx"
    folder.mkdir()
    proxy = f"http://127.0.0.1:{port}"
    with running_nginx(folder, site, port):
        for prefix in ("", "/asyncpdf"):
            async with http.get(f"{proxy}{prefix}/healthz") as response:
                assert response.status == 200, prefix
                assert (await response.json())["status"] == "alive"
            async with http.get(f"{proxy}{prefix}/api/jobs") as response:
                assert response.status == 200, prefix
            # The page's own origin as the browser sees it (nginx's address) is accepted:
            # nginx passes the client's Host on, port included.
            ws = await http.ws_connect(f"{proxy}{prefix}/ws", origin=proxy)
            hello = await ws.receive_json(timeout=STEP_S)
            assert hello["type"] == "hello", prefix
            await ws.close()
        async with http.get(f"{proxy}/") as response:
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"]


# --- systemd's notify protocol --------------------------------------------------------------


@contextlib.contextmanager
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket standing in for systemd's, at a short path (sun_path has 108 bytes,
    pytest's folders can be longer)."""
    folder = tempfile.mkdtemp(prefix="sd-")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        yield sock, path
    finally:
        sock.close()
        shutil.rmtree(folder)


def receive(sock: socket.socket, wanted: str, timeout_s: float, seen: list[str]) -> str:
    """Datagrams into `seen` until one holds the line `wanted`; that one."""
    deadline = time.monotonic() + timeout_s
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            text = sock.recv(4096).decode()
        except TimeoutError:
            raise AssertionError(f"no {wanted} within {timeout_s} s; got {seen}") from None
        seen.append(text)
        if wanted in text.splitlines():
            return text


def healthz(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=STEP_S) as response:
        return int(response.status)


def test_the_service_tells_systemd_ready_alive_and_stopping(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    port = yaml.safe_load(config.read_text())["web"]["port"]
    seen: list[str] = []
    with notify_socket() as (sock, address):
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}
        env.pop("WATCHDOG_PID", None)
        with (tmp_path / "service.log").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "asyncpdf", "serve", "--config", str(config)],
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            ready = receive(sock, "READY=1", STEP_S, seen)
            # At that moment the port answers: READY means started, not about to start.
            assert healthz(port) == 200
            assert f"STATUS=listening on http://127.0.0.1:{port}" in ready.splitlines()

            # Every 1 s (half of WATCHDOG_USEC) while the loop runs: two after READY, each
            # waited for (a busy machine's loop may send fewer than three in 3 s).
            for _ in range(2):
                receive(sock, "WATCHDOG=1", STEP_S, seen)

            process.send_signal(signal.SIGTERM)
            receive(sock, "STOPPING=1", STEP_S, seen)
            assert process.wait(STEP_S) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert sum("READY=1" in m.splitlines() for m in seen) == 1
    lines = [line for m in seen for line in m.splitlines()]
    assert all(
        line in ("READY=1", "WATCHDOG=1", "STOPPING=1") or line.startswith("STATUS=")
        for line in lines
    ), seen


# --- asyncpdf backup ------------------------------------------------------------------------


def backup(service: Service, file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncpdf",
            "backup",
            "--config",
            str(service.config),
            str(file),
            *extra,
        ],
        cwd=service.root,
        capture_output=True,
        text=True,
        timeout=60,
    )


def jobs_in(copy: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return dict(db.execute("SELECT name, state FROM jobs").fetchall())


async def test_backup_copies_a_running_services_database_and_never_overwrites_unasked(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    service = make_service()
    await service.start()
    samples = make_samples(tmp_path / "samples", count=4, seed=21)
    backups = tmp_path / "backups"
    backups.mkdir()
    during, after = backups / "during.sqlite3", backups / "after.sqlite3"

    for sample in samples:
        shutil.copy(sample, service.hotfolder / sample.name)

    async def some_jobs() -> bool:
        async with http.get(f"{service.url}/api/jobs") as response:
            return bool((await response.json())["jobs"])

    await wait_for(some_jobs, STEP_S, "the first job")
    # In the middle of the burst: whatever the copy holds is whole.
    mid = await asyncio.to_thread(backup, service, during)
    assert mid.returncode == EXIT_OK, mid.stderr
    assert set(jobs_in(during)) <= {s.name for s in samples}

    await wait_finished(http, service, len(samples))
    first = await asyncio.to_thread(backup, service, after)
    assert first.returncode == EXIT_OK, first.stderr
    assert first.stdout.startswith(f"{after}: ")
    assert f", {len(samples)} jobs, " in first.stdout
    assert jobs_in(after) == {s.name: "done" for s in samples}

    kept = after.read_bytes()
    again = await asyncio.to_thread(backup, service, after)
    assert again.returncode == EXIT_USAGE
    assert again.stdout == ""
    assert again.stderr == f"asyncpdf: {after} exists; nothing written (--force replaces it)\n"
    assert after.read_bytes() == kept

    forced = await asyncio.to_thread(backup, service, after, "--force")
    assert forced.returncode == EXIT_OK, forced.stderr
    assert jobs_in(after) == {s.name: "done" for s in samples}
    # Nothing left under a temporary name.
    assert sorted(p.name for p in backups.iterdir()) == ["after.sqlite3", "during.sqlite3"]
    async with http.get(f"{service.url}/readyz") as response:
        assert response.status == 200


def test_backup_refuses_the_database_itself_and_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    database = Path(yaml.safe_load(config.read_text())["paths"]["database"])
    for file, reason in (
        (database, "is the database or one of its files"),
        (Path(f"{database}-wal"), "is the database or one of its files"),
        (tmp_path / "missing" / "copy.sqlite3", "is not a folder"),
    ):
        assert main(["backup", "--config", str(config), str(file)]) == EXIT_USAGE
        assert reason in capsys.readouterr().err
    assert main(["backup", "--config", str(config), str(tmp_path / "copy.sqlite3")]) == EXIT_FAILED
    assert "cannot open the database" in capsys.readouterr().err
    assert not (tmp_path / "copy.sqlite3").exists()
    assert not database.exists()
