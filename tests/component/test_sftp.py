"""The SFTP uploader against OpenSSH's sshd (Debian's, started by the test on 127.0.0.1 with
its own host key and config): keys and passwords, the host key checked, nothing replaced."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncpdf.delivery import UPLOADERS, Existing, deliver
from asyncpdf.errors import DeliveryError
from tests.support.debian_servers import PASSWORD, USER, Sshd, running


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with running("sshd", tmp_path_factory.mktemp("sshd")) as server:
        assert isinstance(server, Sshd)
        yield server


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "plates.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(600_000))
    return path


async def test_a_key_delivers_into_folders_it_makes(sshd: Sshd, source: Path) -> None:
    url = sshd.url(
        "plates/2025",
        password=None,
        key_file=str(sshd.client_key),
        known_hosts=str(sshd.known_hosts),
    )
    sent = await deliver(url, source, "a.pdf")
    again = await deliver(url, source, "a.pdf")
    assert sent.remote_name == again.remote_name == "a.pdf"
    assert sshd.files() == {"plates/2025/a.pdf": source.read_bytes()}


async def test_a_password_from_a_file_and_no_file_replaced(
    sshd: Sshd, source: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    url = sshd.url(
        "pw", password=None, password_file=str(secret), known_hosts=str(sshd.known_hosts)
    )
    (sshd.root / "pw").mkdir()
    shutil.chown(sshd.root / "pw", USER, USER)
    (sshd.root / "pw" / "a.pdf").write_bytes(b"the bureau's own file")
    sent = await deliver(url, source, "a.pdf")
    assert sent.remote_name == "a (2).pdf"
    with pytest.raises(DeliveryError, match="already there with other content"):
        other = source.with_name("other.pdf")
        other.write_bytes(b"%PDF-1.7 other")
        await deliver(url, other, "a.pdf", Existing.FAIL)
    files = {name: data for name, data in sshd.files().items() if name.startswith("pw/")}
    assert files["pw/a.pdf"] == b"the bureau's own file"
    assert files["pw/a (2).pdf"] == source.read_bytes()
    assert sorted(files) == ["pw/a (2).pdf", "pw/a.pdf"]


async def test_an_unknown_host_is_refused_with_how_to_add_it(
    sshd: Sshd, source: Path, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(DeliveryError) as refused:
        await deliver(sshd.url("x", known_hosts=str(known)), source, "a.pdf")
    message = str(refused.value)
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}" in message
    assert refused.value.permanent and PASSWORD not in message


async def test_a_wrong_password_is_a_clear_error(sshd: Sshd, source: Path) -> None:
    url = sshd.url("x", password="wrong-one", known_hosts=str(sshd.known_hosts))
    with pytest.raises(DeliveryError, match="login refused: check the user"):
        await deliver(url, source, "a.pdf")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sftp://h/in", "names its user"),
        ("sftp://u@h/in?key_file=rel", "key_file must be an absolute path"),
        ("sftp://u:p@h/in?key_file=/k", "key_file or with a password"),
        ("sftp://u@h/in?mode=active", "unknown target option 'mode'"),
    ],
)
def test_bad_targets_are_refused_by_the_config_check(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        UPLOADERS["sftp"].check(url)
