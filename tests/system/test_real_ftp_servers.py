"""Delivery through the real service to the FTP servers bureaus run: Debian's vsftpd, pure-ftpd
and proftpd (tests/support/debian_servers.py), plain and with explicit TLS that the server
insists on, passive and active, with the certificate checked against the test's CA or not
checked. What lands on the server is compared byte for byte, and nothing else may be there."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncpdf.delivery import deliver
from asyncpdf.errors import DeliveryError
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from tests.support import Service, wait_finished, wait_for
from tests.support.debian_servers import FTP_SERVERS, PASSWORD, USER, Sshd, running

MakeService = Callable[..., Service]
KB = 1 << 10
MB = 1 << 20
PRESS = "Speedmaster"
#: Client timeouts: no server here is meant to hang, and a busy machine slows them all.
TIMEOUTS = {"timeout_s": "30", "idle_s": "30"}
SERVER_KINDS = sorted(FTP_SERVERS)


def plate(
    folder: Path, bureau: str, order: int, filler_bytes: int = 300 * KB, seed: int = 0
) -> Path:
    page = SamplePage((1030, 770), marks=signa_marks(bureau, PRESS, (900, 640)))
    name = f"{order}_Plates_{bureau}.pdf"
    return write_sample(folder / name, [page], filler_bytes=filler_bytes, seed=order + seed)


def drop(service: Service, sample: Path) -> None:
    """Into the hotfolder under a name it ignores, then renamed: never seen half-copied."""
    part = service.hotfolder / f"{sample.name}.part"
    shutil.copy(sample, part)
    part.rename(service.hotfolder / sample.name)


async def delivered(
    http: aiohttp.ClientSession, service: Service, count: int
) -> dict[str, dict[str, Any]]:
    """The bureau receipt of each finished job, by the job's file name."""
    jobs = await wait_finished(http, service, count, 120)
    receipts = {}
    for job in jobs:
        async with http.get(f"{service.url}/api/jobs/{job['id']}") as response:
            detail = await response.json()
        assert detail["job"]["state"] == "done", detail["job"]["error"]
        (bureau,) = [d for d in detail["deliveries"] if d["kind"] == "bureau"]
        receipts[detail["job"]["name"]] = bureau
    return receipts


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "servers"


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_plain_ftp_passive_and_active_into_folders_it_makes(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path, work: Path, kind: str
) -> None:
    with running(kind, work) as server:
        bureaus = [
            {"name": "Leonov", "target": server.url("plates/2025/Leonov", **TIMEOUTS)},
            {"name": "Korol", "target": server.url("Korol", mode="active", **TIMEOUTS)},
        ]
        service = make_service(bureaus=bureaus)
        await service.start()
        samples = [plate(tmp_path, "Leonov", 1001), plate(tmp_path, "Korol", 1002)]
        for sample in samples:
            drop(service, sample)
        receipts = await delivered(http, service, 2)

        assert server.files() == {
            "plates/2025/Leonov/1001_Plates.pdf": samples[0].read_bytes(),
            "Korol/1002_Plates.pdf": samples[1].read_bytes(),
        }
    assert {r["remote_name"] for r in receipts.values()} == {"1001_Plates.pdf", "1002_Plates.pdf"}


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_ftps_checked_unchecked_and_active(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path, work: Path, kind: str
) -> None:
    with running(kind, work, tls=True) as server:
        assert server.certs is not None
        ca = str(server.certs.ca)
        bureaus = [
            {"name": "Leonov", "target": server.url("Leonov", tls_verify="no", **TIMEOUTS)},
            {"name": "Korol", "target": server.url("in/Korol", ca_file=ca, **TIMEOUTS)},
            {
                "name": "Vonoel",
                "target": server.url("Vonoel", ca_file=ca, mode="active", **TIMEOUTS),
            },
        ]
        service = make_service(bureaus=bureaus)
        await service.start()
        samples = {
            name: plate(tmp_path, name, order)
            for order, name in enumerate(("Leonov", "Korol", "Vonoel"), start=1001)
        }
        for sample in samples.values():
            drop(service, sample)
        receipts = await delivered(http, service, 3)

        assert server.files() == {
            "Leonov/1001_Plates.pdf": samples["Leonov"].read_bytes(),
            "in/Korol/1002_Plates.pdf": samples["Korol"].read_bytes(),
            "Vonoel/1003_Plates.pdf": samples["Vonoel"].read_bytes(),
        }
    for receipt in receipts.values():
        assert (receipt["state"], receipt["attempts"]) == ("sent", 1)
        assert receipt["target"].startswith("ftps://asyncpdf-ftp:***@127.0.0.1:")


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_a_restart_during_an_ftps_upload_sends_the_file_once(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path, work: Path, kind: str
) -> None:
    # The server lets an upload go at 512 KB/s: 3 MB take seconds, time to kill the service.
    with running(kind, work, tls=True, rate=512 * KB) as server:
        target = server.url("Leonov", tls_verify="no", **TIMEOUTS)
        service = make_service(
            bureaus=[{"name": "Leonov", "target": target}],
            delivery={"attempts": 4, "backoff_s": 0.2},
        )
        await service.start()
        sample = plate(tmp_path, "Leonov", 1001, filler_bytes=3 * MB)
        size = sample.stat().st_size

        async def uploading() -> bool:
            for path in server.root.rglob("*.part"):
                with contextlib.suppress(FileNotFoundError):
                    if 0 < path.stat().st_size < size:
                        return True
            return False

        drop(service, sample)
        await wait_for(uploading, 60, "a partial upload on the server", 0.02)
        service.kill()
        await service.start()
        receipts = await delivered(http, service, 1)

        assert server.files() == {"Leonov/1001_Plates.pdf": sample.read_bytes()}
    (receipt,) = receipts.values()
    assert (receipt["state"], receipt["remote_name"]) == ("sent", "1001_Plates.pdf")


async def test_overlapping_deliveries_of_one_name_replace_nothing(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path, work: Path
) -> None:
    # vsftpd lets each upload go at 128 KB/s: three 1 MB uploads to one folder overlap, also
    # when a busy machine analyses them seconds apart.
    with running("vsftpd", work, rate=128 * KB) as server:
        folder = server.root / "Leonov"
        folder.mkdir()
        shutil.chown(folder, USER, USER)
        # Put there by the bureau itself: it must stay as it is.
        (folder / "1001_Plates.pdf").write_bytes(b"the bureau's own file")
        target = server.url("Leonov", connections="4", **TIMEOUTS)
        service = make_service(bureaus=[{"name": "Leonov", "target": target}])
        await service.start()
        # All three are delivered as "1001_Plates.pdf": the bureau tag leaves the name.
        names = ("1001_Plates_Leonov.pdf", "1001_Plates.pdf", "1001_Plates_leonov.pdf")
        samples = {}
        for seed, name in enumerate(names):
            sample = plate(tmp_path / str(seed), "Leonov", 1001, filler_bytes=MB, seed=seed)
            samples[name] = sample.rename(sample.with_name(name))

        async def overlapping() -> bool:
            return len(list(folder.glob(".asyncpdf-*.part"))) >= 2

        for sample in samples.values():
            drop(service, sample)
        await wait_for(overlapping, 60, "two uploads under way at once", 0.02)
        receipts = await delivered(http, service, 3)
        there = server.files()

    assert there.pop("Leonov/1001_Plates.pdf") == b"the bureau's own file"
    assert sorted(there) == [f"Leonov/1001_Plates ({n}).pdf" for n in (2, 3, 4)]
    for name, sample in samples.items():
        receipt = receipts[name]
        assert receipt["state"] == "sent"
        assert there[f"Leonov/{receipt['remote_name']}"] == sample.read_bytes(), name


async def test_sftp_with_a_key_and_with_a_password(
    make_service: MakeService, http: aiohttp.ClientSession, tmp_path: Path, work: Path
) -> None:
    with running("sshd", work) as server:
        assert isinstance(server, Sshd)
        secret = tmp_path / "bureau-password"
        secret.write_text(PASSWORD)
        known = str(server.known_hosts)
        by_key = server.url(
            "Leonov", password=None, key_file=str(server.client_key), known_hosts=known
        )
        by_password = server.url(
            "in/Korol", password=None, password_file=str(secret), known_hosts=known
        )
        service = make_service(
            bureaus=[
                {"name": "Leonov", "target": by_key},
                {"name": "Korol", "target": by_password},
            ]
        )
        await service.start()
        samples = [plate(tmp_path, "Leonov", 1001), plate(tmp_path, "Korol", 1002)]
        for sample in samples:
            drop(service, sample)
        receipts = await delivered(http, service, 2)
        assert server.files() == {
            "Leonov/1001_Plates.pdf": samples[0].read_bytes(),
            "in/Korol/1002_Plates.pdf": samples[1].read_bytes(),
        }
    for receipt in receipts.values():
        assert receipt["target"].startswith("sftp://asyncpdf-ftp@127.0.0.1:")


@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_an_untrusted_certificate_is_refused_saying_how_to_trust_it(
    tmp_path: Path, work: Path, kind: str
) -> None:
    source = plate(tmp_path, "Leonov", 1001)
    with running(kind, work, tls=True) as server:
        with pytest.raises(DeliveryError) as refused:
            await deliver(server.url("Leonov", **TIMEOUTS), source, "1001_Plates.pdf")
        assert server.files() == {}
    assert "certificate is not trusted" in str(refused.value) and refused.value.permanent
    assert "ca_file=" in str(refused.value) and PASSWORD not in str(refused.value)
