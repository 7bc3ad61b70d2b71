"""A real Samba drop: Debian's `smbd` shares the real service's hotfolder on a high loopback
port, and `smbclient` puts 50 plate files into it in a burst, as the shop's Windows machines
do: Cyrillic, spaces and single quotes in names, and one file saved the Windows way (written
under a temporary `~WRL….tmp` name, then renamed). Every file ends `done` exactly once under
the name it was sent as, arrives at its bureau byte for byte, and the temporary name never
becomes a job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiohttp
import pytest

from asyncpdf.config import DEFAULT_IGNORE
from asyncpdf.intake.watcher import is_ignored
from asyncpdf.testing.samples import make_samples
from tests.support import Service, all_jobs, delivered_path, free_port, wait_finished

MakeService = Callable[..., Service]
SMBD = shutil.which("smbd") or shutil.which("smbd", path="/usr/sbin:/sbin")
SMBCLIENT = shutil.which("smbclient")
SHARE = "hotfolder"
COUNT = 50
BATCHES = 4  # smbclient processes putting files side by side
TEMPORARY = "~WRL0001.tmp"  # what Word and friends write before renaming to the real name
STEP_S = 90  # one smbclient call, or smbd coming up, on a busy machine

pytestmark = pytest.mark.skipif(
    SMBD is None or SMBCLIENT is None, reason="needs Debian's samba (smbd) and smbclient"
)


def smb_conf(state: Path, port: int, share: Path) -> str:
    """A stand-alone smbd on 127.0.0.1:`port` only, all its state under `state`, and one
    writable guest share."""
    folders = {
        "private dir": "private",
        "lock directory": "lock",
        "state directory": "state",
        "cache directory": "cache",
        "pid directory": "pid",
        "ncalrpc dir": "ncalrpc",
        "binddns dir": "binddns",
    }
    for folder in folders.values():
        (state / folder).mkdir(mode=0o755)
    lines = [
        "[global]",
        "server role = standalone server",
        "interfaces = lo",
        "bind interfaces only = yes",
        f"smb ports = {port}",
        "disable netbios = yes",
        *(f"{option} = {state / folder}" for option, folder in folders.items()),
        f"log file = {state / 'log.%m'}",
        "unix charset = UTF-8",
        "map to guest = Bad User",
        "load printers = no",
        "printing = bsd",
        "printcap name = /dev/null",
        "disable spoolss = yes",
        "",
        f"[{SHARE}]",
        f"path = {share}",
        "read only = no",
        "guest ok = yes",
        "guest only = yes",
        f"force user = {pwd.getpwuid(os.getuid()).pw_name}",
        "create mask = 0644",
    ]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def samba(share: Path) -> AsyncIterator[tuple[int, Path]]:
    """smbd sharing `share` as SHARE, in the foreground in a process group of its own; yields
    its port and its config. The whole group is killed on the way out, even on failure."""
    # Short paths: smbd puts unix sockets under its lock and ncalrpc folders.
    with tempfile.TemporaryDirectory(prefix="asyncpdf-smb-") as folder:
        state = Path(folder)
        port = free_port()
        conf = state / "smb.conf"
        conf.write_text(smb_conf(state, port, share))
        log = state / "smbd.out"
        assert SMBD is not None
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                SMBD,
                "--foreground",
                "--no-process-group",
                "--debug-stdout",
                "--debuglevel=1",
                f"--configfile={conf}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own group, so its children go with it
            )
        try:
            await until_listening(process, port, log)
            yield port, conf
        finally:
            await stop_group(process)


async def until_listening(process: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + STEP_S
    while True:
        if process.returncode is not None:
            raise AssertionError(f"smbd exited {process.returncode}:\n{log.read_text()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                log_text = log.read_text()
                raise AssertionError(f"smbd is not listening on {port}:\n{log_text}") from None
            await asyncio.sleep(0.1)
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return


async def stop_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM smbd (which stops and reaps its children), then SIGKILL whatever of its
    process group is left."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    async with asyncio.timeout(10):
        await process.wait()


async def smbclient(port: int, conf: Path, local: Path, commands: Sequence[str]) -> str:
    """Run `commands` in one smbclient session on the share as a guest, from `local`."""
    assert SMBCLIENT is not None
    script = "; ".join([f'lcd "{local}"', *commands])
    process = await asyncio.create_subprocess_exec(
        SMBCLIENT,
        f"//127.0.0.1/{SHARE}",
        "--port",
        str(port),
        "--no-pass",
        f"--configfile={conf}",
        "--command",
        script,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(STEP_S):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"smbclient took over {STEP_S} s: {script}") from None
    text = output.decode(errors="replace")
    assert process.returncode == 0 and "NT_STATUS" not in text, f"{script}\n{text}"
    return text


def put(name: str) -> str:
    # smbclient splits commands on ';' and words on spaces outside double quotes; Windows
    # names never contain a double quote, and none of these contain ';'.
    assert '"' not in name and ";" not in name, name
    return f'put "{name}" "{name}"'


def shop_names(samples: Sequence[Path]) -> list[str]:
    """The samples' names, some given quotes and brackets as people type them."""
    names = []
    for index, sample in enumerate(samples):
        head, bureau = sample.name.rsplit("_", 1)
        if index % 9 == 1:
            head += " 'v2'"
        elif index % 9 == 4:
            head += " O'Brien"
        elif index % 9 == 7:
            head += " (копия 2)"
        names.append(f"{head}_{bureau}")
    return names


@pytest.mark.timeout(600)
async def test_fifty_files_put_over_samba_each_end_done_once(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # Small proofs: this is about getting files in, and previews are most of a job's time.
    service = make_service(previews={"dpi": 36, "proof_width_px": 200, "thumb_width_px": 32})
    await service.start()
    samples = make_samples(tmp_path / "samples", count=COUNT, seed=14)
    names = shop_names(samples)
    local = tmp_path / "to send"
    local.mkdir()
    for sample, name in zip(samples, names, strict=True):
        shutil.copyfile(sample, local / name)
    sent = {name: (local / name).read_bytes() for name in names}
    # What the test is about is really in the names.
    assert len(sent) == COUNT
    assert sum(any("а" <= c.lower() <= "я" for c in name) for name in sent) >= 5
    assert sum(" " in name for name in sent) >= 5
    assert sum("'" in name for name in sent) >= 5
    windows = next(name for name in names if "'" in name and not name.isascii())
    assert is_ignored(TEMPORARY, DEFAULT_IGNORE) and not is_ignored(windows, DEFAULT_IGNORE)

    async with samba(service.hotfolder) as (port, conf):
        # Word's way: the whole file under a temporary name, left there well past the
        # service's settle time, then renamed in the same folder.
        await smbclient(port, conf, local, [f'put "{windows}" "{TEMPORARY}"'])
        parked = time.monotonic()
        plain = [name for name in names if name != windows]
        batches = [plain[index::BATCHES] for index in range(BATCHES)]
        await asyncio.gather(
            *(smbclient(port, conf, local, [put(name) for name in batch]) for batch in batches)
        )
        # settle_s is 0.3 s in the test shop: had the name been taken, it would be by now.
        await asyncio.sleep(max(0.0, parked + 1.5 - time.monotonic()))
        assert (service.hotfolder / TEMPORARY).read_bytes() == sent[windows]
        assert not any(job["name"] == TEMPORARY for job in await all_jobs(http, service))
        await smbclient(port, conf, local, [f'rename "{TEMPORARY}" "{windows}"'])

        jobs = await wait_finished(http, service, COUNT, timeout_s=300)

    log = service.log_text()
    assert TEMPORARY not in log and "WRL0001" not in log, log
    received = [line for line in log.splitlines() if ": received " in line]
    for name in sent:
        assert sum(line.endswith(f"received “{name}”") for line in received) == 1, name
    assert len(received) == COUNT, received
    assert sorted(job["name"] for job in jobs) == sorted(sent), "one job per file, as named"
    assert {job["state"] for job in jobs} == {"done"}, [
        (job["name"], job["state"], job["error"]) for job in jobs if job["state"] != "done"
    ]
    for name, data in sent.items():
        assert delivered_path(service, name).read_bytes() == data, name
        assert (service.folder("done") / name).read_bytes() == data, name
    delivered = [path for path in (tmp_path / "outbox").rglob("*") if path.is_file()]
    assert len(delivered) == COUNT, sorted(path.name for path in delivered)
    assert list(service.hotfolder.iterdir()) == []
    # Later than everything above: still exactly one job per file, nothing taken again.
    assert len(await all_jobs(http, service)) == COUNT
