"""`asyncpdf import DIR` on a temporary shop: old plate files recorded in import mode (nothing
sent, dated by their mtime), the user's folder untouched, a second run skipping what the first
imported, and an interrupted run continued without importing anything twice."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asyncpdf.backfill.report import Progress
from asyncpdf.cli import main
from asyncpdf.config import load_settings
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.errors import EXIT_CANNOT_START, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from asyncpdf.instance import InstanceLock
from asyncpdf.intake.staging import STAGING_PREFIX
from asyncpdf.store import Store
from asyncpdf.testing.samples import make_samples
from tests.support import write_config

OLD = 1_400_000_000  # May 2014: the history being backfilled
DAY = 86_400


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under `folder` (links and FIFOs not followed or opened): kind, size,
    mtime and, for plain files, the checksum."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = sha256(path) if stat.S_ISREG(info.st_mode) else ""
        found[str(path.relative_to(folder))] = (
            info.st_mode,
            info.st_size,
            info.st_mtime_ns,
            digest,
        )
    return found


def samples(folder: Path, count: int, seed: int) -> list[Path]:
    """`count` plate files under `folder`, the last in a sub-folder, each with its own old
    mtime."""
    made = make_samples(folder, count=count, seed=seed)
    (folder / "2014").mkdir()
    made[-1] = made[-1].rename(folder / "2014" / made[-1].name)
    for index, path in enumerate(made):
        os.utime(path, (OLD + index * DAY, OLD + index * DAY))
    return made


def jobs(config: Path) -> list[JobHeader]:
    async def read() -> list[JobHeader]:
        store = await Store.open(load_settings(config).paths.database)
        try:
            return await store.jobs.page(limit=500)
        finally:
            await store.close()

    return asyncio.run(read())


def run_import(folder: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["import", str(folder), "--config", str(config)])
    return code, capsys.readouterr().out


def outbox_files(root: Path) -> list[Path]:
    return [path for path in (root / "outbox").rglob("*") if path.is_file()]


def test_import_records_without_sending_and_a_second_run_skips_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    source = tmp_path / "archive"
    files = samples(source, 4, seed=11)
    before = snapshot(source)

    code, out = run_import(source, config, capsys)

    assert code == EXIT_OK, out
    assert "done 4, duplicate 0, failed 0, skipped 0" in out
    found = {job.name: job for job in jobs(config)}
    assert sorted(found) == sorted(path.name for path in files)
    for path in files:
        job = found[path.name]
        assert job.state is JobState.DONE and job.imported, job
        assert job.created_at == path.stat().st_mtime
        assert job.sha256 == sha256(path)
    assert outbox_files(tmp_path) == []
    assert snapshot(source) == before
    assert list((tmp_path / "var" / "spool").iterdir()) == []

    # Again: every file is known by its checksum; no job is made.
    code, out = run_import(source, config, capsys)

    assert code == EXIT_OK, out
    assert "done 0, duplicate 0, failed 0, skipped 4" in out
    for path in files:
        assert f"{path.relative_to(source)}: already job {found[path.name].id}" in out
    assert len(jobs(config)) == 4
    assert snapshot(source) == before


def test_duplicate_and_broken_files_are_listed_with_their_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    source = tmp_path / "archive"
    (first,) = make_samples(source, count=1, seed=12)
    shutil.copy2(first, source / "zz copy.pdf")
    (source / "notes_Leonov.PDF").write_text("this is not a PDF")

    code, out = run_import(source, config, capsys)

    assert code == EXIT_FAILED, out
    assert "3 file(s): done 1, duplicate 0, failed 1, skipped 1" in out
    assert f"zz copy.pdf: the same file as {first.name}, earlier in this run" in out
    assert any(
        line.startswith("rejected") and "notes_Leonov.PDF (job " in line and "not a PDF" in line
        for line in out.splitlines()
    ), out
    states = sorted(job.state.value for job in jobs(config))
    assert states == ["done", "rejected"]
    assert (source / "notes_Leonov.PDF").read_text() == "this is not a PDF"


def test_an_interrupted_import_continues_without_importing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One worker, one job at a time: slow enough to be stopped half-way.
    config = write_config(tmp_path, pool={"workers": 1, "jobs": 1})
    source = tmp_path / "archive"
    files = samples(source, 8, seed=13)
    before = snapshot(source)
    done = tmp_path / "var" / "done"
    command = [sys.executable, "-m", "asyncpdf", "import", str(source), "--config", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "first.log").open("w+") as log:
        process = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=log, env=env)
        try:
            deadline = time.monotonic() + 60
            while not done.is_dir() or len(list(done.iterdir())) < 2:
                assert process.poll() is None, "the import ended before it could be stopped"
                assert time.monotonic() < deadline, "no file imported within 60 s"
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 128 + signal.SIGINT
        finally:
            if process.poll() is None:
                process.kill()
        log.seek(0)
        first_log = log.read()
    assert "interrupted by SIGINT" in first_log, first_log
    imported_first = jobs(config)
    assert 2 <= len(imported_first) < len(files), first_log

    code, out = run_import(source, config, capsys)

    assert code == EXIT_OK, out
    assert f"skipped {len(imported_first)}" in out
    found = jobs(config)
    assert [job.state for job in found] == [JobState.DONE] * len(files), found
    assert sorted(job.sha256 or "" for job in found) == sorted(sha256(path) for path in files)
    assert all(job.imported and job.duplicate_of is None for job in found)
    assert snapshot(source) == before
    assert outbox_files(tmp_path) == []


def test_jobs_claimed_before_a_crash_are_resumed_not_imported_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs killed outright right after their claims left jobs with their files in the spool
    (not yet analysed, so without a checksum) and a staging folder: the next run finishes
    those jobs for their files instead of making others, and clears the staging folder."""
    # One job at a time: the second resumed job still waits, unanalysed, when the import
    # looks up its file, which comes first in path order.
    config = write_config(tmp_path, pool={"workers": 1, "jobs": 1})
    paths = load_settings(config).paths
    source = tmp_path / "archive"
    first, other, last = sorted(make_samples(source, count=3, seed=14))
    resumed = [last, first]

    async def crash_after_claims() -> list[int]:
        store = await Store.open(paths.database)
        made = []
        try:
            for path in resumed:
                async with store.transaction():
                    job_id = await store.jobs.create(path.name, imported=True)
                (paths.spool / str(job_id)).mkdir(parents=True)
                shutil.copy2(path, paths.spool / str(job_id) / path.name)
                made.append(job_id)
        finally:
            await store.close()
        return made

    job_ids = asyncio.run(crash_after_claims())
    leftover = paths.spool / f"{STAGING_PREFIX}0123456789abcdef"
    leftover.mkdir()
    (leftover / other.name).write_bytes(other.read_bytes()[:100])

    code, out = run_import(source, config, capsys)

    assert code == EXIT_OK, out
    made = jobs(config)
    found = {job.name: job for job in made}
    assert len(made) == 3 and sorted(found) == sorted(p.name for p in (first, other, last)), out
    assert [found[path.name].id for path in resumed] == job_ids
    assert all(job.state is JobState.DONE and job.imported for job in found.values())
    assert not leftover.exists()


@pytest.mark.timeout(180)
def test_links_and_fifos_are_skipped_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    source = tmp_path / "archive"
    elsewhere = make_samples(tmp_path / "elsewhere", count=2, seed=15)
    (real,) = make_samples(source, count=1, seed=16)
    (source / "link.pdf").symlink_to(elsewhere[0])
    (source / "folder link").symlink_to(elsewhere[0].parent, target_is_directory=True)
    os.mkfifo(source / "pipe.pdf")
    (source / ".hidden.pdf").write_bytes(elsewhere[1].read_bytes())
    before = snapshot(source)

    code, out = run_import(source, config, capsys)

    assert code == EXIT_OK, out
    assert "4 file(s): done 1, duplicate 0, failed 0, skipped 3" in out
    assert "link.pdf: a symbolic link: links are not followed" in out
    assert "folder link: a symbolic link: links are not followed" in out
    assert "pipe.pdf: not a plain file but a FIFO (named pipe): not read" in out
    assert [job.name for job in jobs(config)] == [real.name]
    assert snapshot(source) == before


def test_a_bad_folder_or_a_running_service_stops_the_import_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    not_a_folder = tmp_path / "plate.pdf"
    not_a_folder.write_bytes(b"%PDF-1.7\n")
    for folder, said in (
        (tmp_path / "missing", "no such folder"),
        (not_a_folder, "not a folder"),
        (tmp_path / "var" / "spool", "spool"),
    ):
        folder.parent.mkdir(parents=True, exist_ok=True)
        if said == "spool":
            folder.mkdir(parents=True, exist_ok=True)
        assert main(["import", str(folder), "--config", str(config)]) == EXIT_USAGE
        assert said in capsys.readouterr().err

    source = tmp_path / "archive"
    source.mkdir()
    lock = InstanceLock(load_settings(config).paths.database)
    lock.acquire()
    try:
        assert main(["import", str(source), "--config", str(config)]) == EXIT_CANNOT_START
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert "already running" in err and "PUT /api/import-mode" in err


def test_progress_is_one_line_on_a_terminal_and_every_5_percent_elsewhere() -> None:
    piped = io.StringIO()
    progress = Progress(40, piped, tty=False)
    for finished in range(41):
        progress.update(finished, f"done {finished}")
    lines = piped.getvalue().splitlines()
    assert len(lines) == 21
    assert lines[0] == "import: 0/40 [....................] done 0"
    assert lines[-1] == "import: 40/40 [####################] done 40"

    terminal = io.StringIO()
    progress = Progress(3, terminal, tty=True, width=6)
    progress.update(1, "done 1")
    progress.clear()
    progress.update(3, "done 3")
    progress.finish()
    text = terminal.getvalue()
    assert "\n" not in text.rstrip("\n") and text.endswith("\n")
    assert text.startswith("\rimport: 1/3 [##....] done 1")
    assert "\rimport: 3/3 [######] done 3" in text
