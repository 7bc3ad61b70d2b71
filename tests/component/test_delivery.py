"""file:// delivery: streamed to a temporary name, renamed when complete; passwords never shown."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from asyncpdf.delivery import UPLOADERS, Existing, deliver, redact
from asyncpdf.errors import DeliveryError


async def test_file_target_gets_identical_copy_and_no_leftovers(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 10_000)
    folder = tmp_path / "out folder" / "Леонов"
    sent = await deliver(folder.as_uri(), source, "12345_Каталог.pdf")

    assert (folder / "12345_Каталог.pdf").read_bytes() == source.read_bytes()
    assert sent.bytes == source.stat().st_size
    assert [p.name for p in folder.iterdir()] == ["12345_Каталог.pdf"]


async def test_another_file_of_the_same_name_is_never_replaced_unasked(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7 new plates")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.7 another job's plates")
    (folder / "a (2).pdf").write_bytes(b"%PDF-1.7 and another")

    sent = await deliver(folder.as_uri(), source, "a.pdf")
    assert sent.remote_name == "a (3).pdf"
    assert (folder / "a (3).pdf").read_bytes() == source.read_bytes()
    assert (folder / "a.pdf").read_bytes() == b"%PDF-1.7 another job's plates"

    with pytest.raises(DeliveryError, match="already there with other content") as failed:
        await deliver(folder.as_uri(), source, "a (2).pdf", Existing.FAIL)
    assert failed.value.permanent

    sent = await deliver(folder.as_uri(), source, "a.pdf", Existing.REPLACE)
    assert sent.remote_name == "a.pdf" and (folder / "a.pdf").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["a (2).pdf", "a (3).pdf", "a.pdf"]


async def test_the_same_bytes_already_there_are_not_sent_again(tmp_path: Path) -> None:
    """A retry after a stop that came between the rename and the receipt."""
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7 plates")
    folder = tmp_path / "out"
    first = await deliver(folder.as_uri(), source, "a.pdf", Existing.FAIL)
    again = await deliver(folder.as_uri(), source, "a.pdf", Existing.FAIL)
    assert first.remote_name == again.remote_name == "a.pdf"
    assert [p.name for p in folder.iterdir()] == ["a.pdf"]


async def test_unwritable_target_is_a_delivery_error(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DeliveryError, match="cannot write"):
        await deliver((blocker / "sub").as_uri(), source, "a.pdf")


async def test_unknown_scheme_is_a_delivery_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="no uploader"):
        await deliver("gopher://host/x", tmp_path / "x.pdf", "x.pdf")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ftp://ctp:s3cret@10.0.0.5:2121/in", "ftp://ctp:***@10.0.0.5:2121/in"),
        ("ftps://user:p%40ss@host/in", "ftps://user:***@host/in"),
        ("ftp://anonymous@host/in", "ftp://anonymous@host/in"),
        ("file:///srv/outbox", "file:///srv/outbox"),
    ],
)
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "s3cret" not in redact(url)


async def test_a_failed_copy_leaves_no_partial_file_and_a_retry_can_succeed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7 " + b"x" * 200_000)
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (a full disk)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        with pytest.raises(DeliveryError, match="No space left on device") as failed:
            await deliver(folder.as_uri(), source, "a.pdf")
        assert failed.value.permanent is False
        assert list(folder.iterdir()) == []
        subprocess.run(["mount", "-o", "remount,size=1m", str(folder)], check=True)
        sent = await deliver(folder.as_uri(), source, "a.pdf")
        assert sent.bytes == source.stat().st_size
        assert [p.name for p in folder.iterdir()] == ["a.pdf"]
    finally:
        subprocess.run(["umount", str(folder)], check=True)


async def test_a_name_the_target_cannot_hold_fails_at_once_as_permanent(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7")
    folder = tmp_path / "out"
    with pytest.raises(DeliveryError, match="File name too long") as failed:
        await deliver(folder.as_uri(), source, "n" * 300 + ".pdf")
    assert failed.value.permanent is True
    assert list(folder.iterdir()) == []


async def test_file_target_tells_progress_at_every_fifth(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(b"%PDF-1.7\n" + os.urandom(5 << 20))
    marks: list[int] = []

    async def progress(mark: int) -> None:
        marks.append(mark)

    await deliver((tmp_path / "out").as_uri(), source, "a.pdf", progress=progress)
    assert marks == [20, 40, 60, 80]


def test_file_targets_take_no_options(tmp_path: Path) -> None:
    uploader = UPLOADERS["file"]
    uploader.check((tmp_path / "out").as_uri())
    uploader.check("file:relative/out")
    with pytest.raises(ValueError, match="file:// targets take no options"):
        uploader.check((tmp_path / "out").as_uri() + "?mode=active")
