"""ftp:// and ftps:// delivery against real pyftpdlib servers on 127.0.0.1: identical files,
nothing partial left under the final name, errors a person can act on, passwords never shown."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncpdf.config import load_settings
from asyncpdf.delivery import UPLOADERS, Delivered, Existing, deliver
from asyncpdf.errors import ConfigError, DeliveryError
from tests.support import free_port, wait_for
from tests.support.ftpserver import PASSWORD, READER, Certs, FtpServer, make_certs

MB = 1 << 20


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[FtpServer]]:
    """Servers a test starts, all stopped after it."""
    started: list[FtpServer] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def ftp(tmp_path: Path, servers: list[FtpServer]) -> FtpServer:
    server = FtpServer(tmp_path / "ftp").start()
    servers.append(server)
    return server


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(2 * MB))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("mode", ["passive", "active"])
async def test_identical_file_in_folders_made_on_the_way(
    ftp: FtpServer, source: Path, mode: str
) -> None:
    url = ftp.url("Leonov/Speedmaster XL", mode=mode)
    sent = await deliver(url, source, "12345_Каталог.pdf")

    assert sent.remote_name == "12345_Каталог.pdf" and sent.bytes == source.stat().st_size
    assert sha256(ftp.root / "Leonov/Speedmaster XL/12345_Каталог.pdf") == sha256(source)
    assert files(ftp.root) == ["Leonov/Speedmaster XL/12345_Каталог.pdf"]
    # Sent under a temporary name, then renamed.
    assert len(ftp.received) == 1 and ftp.received[0].endswith(".part")


@pytest.mark.parametrize(
    ("mode", "trust"),
    [("passive", "ca_file"), ("active", "ca_file"), ("passive", "tls_verify=no")],
)
async def test_ftps_sends_identical_files(
    tmp_path: Path,
    servers: list[FtpServer],
    certs: Certs,
    source: Path,
    mode: str,
    trust: str,
) -> None:
    server = FtpServer(tmp_path / "ftps", certs=certs).start()
    servers.append(server)
    options = {"ca_file": str(certs.ca)} if trust == "ca_file" else {"tls_verify": "no"}
    sent = await deliver(server.url("in", mode=mode, **options), source, "a.pdf")
    assert sent.remote_name == "a.pdf"
    assert sha256(server.root / "in/a.pdf") == sha256(source)


async def test_ftps_with_an_untrusted_certificate_fails_for_good(
    tmp_path: Path, servers: list[FtpServer], certs: Certs, source: Path
) -> None:
    server = FtpServer(tmp_path / "ftps", certs=certs).start()
    servers.append(server)
    with pytest.raises(DeliveryError, match=r"certificate is not trusted.*ca_file") as failed:
        await deliver(server.url("in"), source, "a.pdf")
    assert failed.value.permanent
    assert f"ftps://ctp:***@127.0.0.1:{server.port}/in" in str(failed.value)
    assert files(server.root) == []


async def test_the_same_bytes_already_there_are_not_sent_again(
    ftp: FtpServer, source: Path
) -> None:
    """A retry after a stop that came between the rename and the receipt."""
    first = await deliver(ftp.url("in"), source, "a.pdf", Existing.FAIL)
    marks: list[int] = []

    async def progress(mark: int) -> None:
        marks.append(mark)

    again = await deliver(ftp.url("in"), source, "a.pdf", Existing.FAIL, progress=progress)
    assert first.remote_name == again.remote_name == "a.pdf"
    assert len(ftp.received) == 1 and marks == []
    assert files(ftp.root) == ["in/a.pdf"]


async def test_another_file_of_the_same_name_is_never_replaced_unasked(
    ftp: FtpServer, source: Path
) -> None:
    folder = ftp.root / "in"
    folder.mkdir()
    same_size = bytearray(source.read_bytes())
    same_size[-1] ^= 0xFF
    (folder / "a.pdf").write_bytes(same_size)
    (folder / "a (2).pdf").write_bytes(b"%PDF-1.7 another job")

    sent = await deliver(ftp.url("in"), source, "a.pdf")
    assert sent.remote_name == "a (3).pdf"
    assert sha256(folder / "a (3).pdf") == sha256(source)
    assert (folder / "a.pdf").read_bytes() == same_size

    with pytest.raises(DeliveryError, match=r"a \(2\)\.pdf is already there") as failed:
        await deliver(ftp.url("in"), source, "a (2).pdf", Existing.FAIL)
    assert failed.value.permanent

    # The target's own word overrides delivery.existing.
    with pytest.raises(DeliveryError, match=r"a \(2\)\.pdf is already there"):
        await deliver(ftp.url("in", existing="fail"), source, "a (2).pdf", Existing.RENAME)

    sent = await deliver(ftp.url("in"), source, "a.pdf", Existing.REPLACE)
    assert sent.remote_name == "a.pdf" and sha256(folder / "a.pdf") == sha256(source)
    assert files(folder) == ["a (2).pdf", "a (3).pdf", "a.pdf"]


async def test_two_deliveries_wanting_one_name_at_once_both_arrive(
    tmp_path: Path, servers: list[FtpServer]
) -> None:
    """Both look for a free name at the same moment (the server holds its SIZE replies
    back): the second must not see the name free and rename onto the first."""
    server = FtpServer(tmp_path / "ftp", slow_size=0.3).start()
    servers.append(server)
    sources = []
    for n in range(2):
        path = tmp_path / f"job{n}.pdf"
        path.write_bytes(b"%PDF-1.7\n" + os.urandom(64 * 1024))
        sources.append(path)
    url = server.url("in", connections="2")
    sent = await asyncio.gather(*(deliver(url, path, "plates.pdf") for path in sources))
    assert sorted(receipt.remote_name for receipt in sent) == ["plates (2).pdf", "plates.pdf"]
    for receipt, path in zip(sent, sources, strict=True):
        assert (server.root / "in" / receipt.remote_name).read_bytes() == path.read_bytes()
    assert files(server.root) == ["in/plates (2).pdf", "in/plates.pdf"]


async def test_a_server_down_at_first_is_a_transient_error_then_delivers(
    tmp_path: Path, servers: list[FtpServer], source: Path
) -> None:
    server = FtpServer(tmp_path / "ftp", port=free_port())
    servers.append(server)
    url = server.url("in")
    with pytest.raises(DeliveryError, match="connection refused") as failed:
        await deliver(url, source, "a.pdf")
    assert not failed.value.permanent
    asyncio.get_running_loop().call_later(1.5, server.start)

    async def delivered() -> Delivered | None:
        try:
            return await deliver(url, source, "a.pdf")
        except DeliveryError as exc:
            assert not exc.permanent
            return None

    sent = await wait_for(delivered, 60, "the server to take the file", 0.25)
    assert sent.remote_name == "a.pdf" and sha256(server.root / "in/a.pdf") == sha256(source)


@pytest.mark.parametrize("rename", ["yes", "no"])
async def test_a_connection_cut_mid_transfer_leaves_nothing_and_the_next_try_delivers(
    tmp_path: Path, servers: list[FtpServer], source: Path, rename: str
) -> None:
    server = FtpServer(tmp_path / "ftp", cut_after=MB).start()
    servers.append(server)
    url = server.url("in", rename=rename, idle_s="30")
    with pytest.raises(DeliveryError) as failed:
        await deliver(url, source, "a.pdf")
    assert not failed.value.permanent, failed.value
    assert files(server.root) == []

    sent = await deliver(url, source, "a.pdf")
    assert sent.remote_name == "a.pdf" and sha256(server.root / "in/a.pdf") == sha256(source)
    assert files(server.root) == ["in/a.pdf"]


async def test_permission_denied_fails_for_good_with_a_clear_reason(
    ftp: FtpServer, source: Path
) -> None:
    (ftp.root / "in").mkdir()
    with pytest.raises(DeliveryError) as failed:
        await deliver(ftp.url("in", user=READER), source, "a.pdf")
    assert failed.value.permanent
    message = str(failed.value)
    assert "refused uploading" in message and "550" in message
    assert f"user {READER} may write there" in message
    assert files(ftp.root) == []


async def test_login_refused_fails_for_good(ftp: FtpServer, source: Path) -> None:
    with pytest.raises(DeliveryError, match=r"login refused.*530") as failed:
        await deliver(ftp.url("in", password="wrong-" + PASSWORD), source, "a.pdf")
    assert failed.value.permanent


@pytest.mark.parametrize("where", ["password_env", "password_file"])
async def test_password_from_the_environment_or_a_file(
    ftp: FtpServer,
    source: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    monkeypatch.setenv("BUREAU_FTP_PASSWORD", PASSWORD)
    secret = tmp_path / "ftp-password"
    secret.write_text(PASSWORD + "\n")
    value = "BUREAU_FTP_PASSWORD" if where == "password_env" else str(secret)
    url = ftp.url("in", password=None, **{where: value})
    sent = await deliver(url, source, "a.pdf")
    assert sha256(ftp.root / "in" / sent.remote_name) == sha256(source)

    missing = "NO_SUCH_VARIABLE" if where == "password_env" else str(tmp_path / "nothing")
    with pytest.raises(DeliveryError, match=missing) as failed:
        await deliver(ftp.url("in", password=None, **{where: missing}), source, "b.pdf")
    assert failed.value.permanent


async def test_the_password_never_shows_in_errors_or_logs(
    tmp_path: Path,
    servers: list[FtpServer],
    source: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echoing = FtpServer(tmp_path / "echo", echo_password=True).start()
    cutting = FtpServer(tmp_path / "cut", cut_after=MB).start()
    servers.extend([echoing, cutting])
    urls = [
        echoing.url("in"),
        cutting.url("in"),
        cutting.url("in", user=READER),
        f"ftp://ctp:{PASSWORD}@127.0.0.1:{free_port()}/in",
    ]
    messages = []
    for url in urls:
        with pytest.raises(DeliveryError) as failed:
            await deliver(url, source, "a.pdf")
        messages.append(str(failed.value))
    assert "530 Password *** is not right" in messages[0]
    for message in messages:
        assert PASSWORD not in message and ":***@127.0.0.1:" in message
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in repr(record.args) for record in caplog.records)


async def test_progress_is_told_at_every_fifth(ftp: FtpServer, tmp_path: Path) -> None:
    source = tmp_path / "big.pdf"
    source.write_bytes(os.urandom(4 * MB))
    marks: list[int] = []

    async def progress(mark: int) -> None:
        marks.append(mark)

    await deliver(ftp.url("in"), source, "a.pdf", progress=progress)
    assert marks == [20, 40, 60, 80]


async def test_a_cancelled_upload_leaves_nothing_under_the_final_name(
    tmp_path: Path, servers: list[FtpServer]
) -> None:
    server = FtpServer(tmp_path / "ftp", read_limit=2 * MB).start()
    servers.append(server)
    source = tmp_path / "big.pdf"
    source.write_bytes(os.urandom(16 * MB))
    halfway = asyncio.Event()

    async def progress(mark: int) -> None:
        halfway.set()

    upload = asyncio.create_task(deliver(server.url("in"), source, "a.pdf", progress=progress))
    await asyncio.wait_for(halfway.wait(), 60)
    assert not upload.done()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload

    async def nothing_left() -> bool:
        return files(server.root) == []

    # The server still reads what was on the way when the task was cancelled.
    await wait_for(nothing_left, 60, "the server to drop the cancelled upload")


async def test_rename_no_writes_straight_to_the_final_name(ftp: FtpServer, source: Path) -> None:
    sent = await deliver(ftp.url("in", rename="no", mode="active"), source, "a.pdf")
    assert sent.remote_name == "a.pdf" and sha256(ftp.root / "in/a.pdf") == sha256(source)
    assert ftp.received == ["in/a.pdf"]


BAD_TARGETS = [
    ("ftp://h/in?mode=pasive", "option mode must be passive or active"),
    ("ftp://h/in?colour=red", "unknown target option 'colour'"),
    ("ftp://h/in?tls_verify=no", "option tls_verify is for ftps:// targets only"),
    ("ftp://h/in?ca_file=/etc/ca.pem", "option ca_file is for ftps:// targets only"),
    ("ftps://h/in?tls_verify=maybe", "option tls_verify must be yes or no"),
    ("ftps://h/in?ca_file=ca.pem", "option ca_file must be an absolute path"),
    ("ftps://h/in?tls_verify=no&ca_file=/ca.pem", "ca_file has no use with tls_verify=no"),
    ("ftp://h/in?rename=0", "option rename must be yes or no"),
    ("ftp://h/in?timeout_s=0", "option timeout_s must be a number of seconds"),
    ("ftp://h/in?idle_s=soon", "option idle_s must be a number of seconds"),
    ("ftp://h/in?connections=0", "option connections must be a whole number"),
    ("ftp://h/in?mode=active&mode=passive", "option mode is given twice"),
    ("ftp://u:pw@h/in?password_env=PW", "give the password one way, not several"),
    ("ftp://u@h/in?password_env=PW&password_file=/pw", "not several"),
    ("ftp://u@h/in?password_env=1PW", "option password_env must be the name of"),
    ("ftp://u@h/in?password_file=pw.txt", "option password_file must be an absolute path"),
    ("ftp://u@h:99999/in", "port must be a number"),
    ("ftp:///in", "names no host"),
    ("ftp://u:pa#ss@h/in", "percent-encode|%23"),
]


@pytest.mark.parametrize(("url", "message"), BAD_TARGETS)
def test_check_rejects_what_the_uploader_would_not_take(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UPLOADERS["ftp"].check(url)


def test_check_takes_every_option() -> None:
    UPLOADERS["ftps"].check(
        "ftps://ctp@bureau.example:2121/in/%D0%9B?mode=active&tls_verify=yes&ca_file=/ca.pem"
        "&rename=no&timeout_s=10&idle_s=120.5&connections=4&password_env=BUREAU_PW"
    )
    UPLOADERS["ftp"].check("ftp://anonymous@host/")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ftp://ctp@host/in?mode=pasive", "bureaus.0.target: target option mode must be"),
        ("ftps://ctp@host/in?colour=red", "unknown target option 'colour'"),
        ("file:out/b?mode=active", "file:// targets take no options"),
    ],
)
def test_config_loading_rejects_bad_target_options(
    tmp_path: Path, target: str, message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"bureaus:\n  - {{name: B, target: '{target}'}}\n")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(config)
