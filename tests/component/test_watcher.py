"""The hotfolder watcher on real inotify: real folders, real files, a recording handler."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from asyncpdf.config import DEFAULT_IGNORE
from asyncpdf.intake.spool import Settled
from asyncpdf.intake.watcher import Watcher, is_ignored

pytestmark = pytest.mark.timeout(180)

SETTLE_S = 0.3
POLL_S = 0.05
#: For a test that must act on a file before the watcher may take it: longer than any stall
#: of a busy machine between two steps of the test.
SLOW_SETTLE_S = 3.0
IGNORED_NAMES = (
    ".hidden.pdf",
    "._x.pdf",
    "~$x.pdf",
    "a.tmp",
    "a.part",
    "Thumbs.db",
    "thumbs.db",
    "desktop.ini",
    ".DS_Store",
)


class Recorder:
    """A handler that records what it is handed, and the bytes the file holds at that moment.

    With `claim_into`, it moves each file out of the hotfolder as the service's claim does.
    """

    def __init__(self, claim_into: Path | None = None, fail_on: Iterable[str] = ()) -> None:
        self.paths: list[Path] = []
        self.batches: list[int] = []
        self.contents: dict[Path, bytes] = {}
        self.claim_into = claim_into
        self.fail_on = set(fail_on)

    async def __call__(self, found: list[tuple[Path, Settled | None]]) -> list[object]:
        """A batch, as the watcher hands it on: each file's outcome (an error to retry)."""
        self.batches.append(len(found))
        outcomes: list[object] = []
        for path, _ in found:
            self.paths.append(path)
            if path.name in self.fail_on:
                outcomes.append(RuntimeError(f"handler refuses {path.name}"))
                continue
            if self.claim_into is not None:
                os.rename(path, self.claim_into / path.name)
            else:
                self.contents[path] = path.read_bytes()
            outcomes.append(None)
        return outcomes

    @property
    def names(self) -> list[str]:
        return [path.name for path in self.paths]

    def counts(self) -> Counter[str]:
        return Counter(self.names)


async def eventually(condition: Callable[[], Any], what: str, timeout_s: float = 30.0) -> None:
    """Poll a condition until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def quiet(settle_s: float = SETTLE_S) -> None:
    """Long enough for anything already offered to settle and be handed on (a few polls more)."""
    await asyncio.sleep(settle_s + 4 * POLL_S)


def write(path: Path, data: bytes = b"%PDF-1.7\n%%EOF\n") -> Path:
    with path.open("wb") as out:
        out.write(data)
    return path


@pytest.fixture
def hotfolder(tmp_path: Path) -> Path:
    folder = tmp_path / "hotfolder"
    folder.mkdir()
    return folder


class Watchers:
    """Opens watchers and runs them as tasks; `stop` cancels and closes them all."""

    def __init__(self) -> None:
        self.watchers: list[Watcher] = []
        self.tasks: list[asyncio.Task[None]] = []

    def __call__(
        self,
        folder: Path,
        handler: Recorder,
        *,
        settle_s: float = SETTLE_S,
        poll_s: float = POLL_S,
        ignore: Iterable[str] = DEFAULT_IGNORE,
        run: bool = True,
    ) -> Watcher:
        watcher = Watcher(folder, handler, settle_s=settle_s, poll_s=poll_s, ignore=ignore)
        watcher.open()
        self.watchers.append(watcher)
        if run:
            self.run(watcher)
        return watcher

    def run(self, watcher: Watcher) -> asyncio.Task[None]:
        task = asyncio.create_task(watcher.run(), name="test-watcher")
        self.tasks.append(task)
        return task

    async def stop(self) -> list[BaseException]:
        died = [t.exception() for t in self.tasks if t.done() and not t.cancelled()]
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for watcher in self.watchers:
            watcher.close()
        return [error for error in died if error is not None]


@pytest.fixture
async def start() -> AsyncIterator[Watchers]:
    watchers = Watchers()
    yield watchers
    died = await watchers.stop()
    assert not died, f"a watcher task ended by itself: {died!r}"


# --- is_ignored -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [*IGNORED_NAMES, "A.TMP", "x.pdf.part", "THUMBS.DB", "Desktop.INI"]
)
def test_is_ignored_default_patterns(name: str) -> None:
    assert is_ignored(name, DEFAULT_IGNORE)


@pytest.mark.parametrize(
    "name",
    [
        "12345_Buklet_Leonov.pdf",
        "a.tmp.pdf",
        "x~$.pdf",
        "part.pdf",
        "Thumbs.db.pdf",
        "Заказ весна.pdf",
        "a.pdf.",
    ],
)
def test_is_not_ignored(name: str) -> None:
    assert not is_ignored(name, DEFAULT_IGNORE)


def test_is_ignored_extra_patterns_and_none() -> None:
    patterns = (*DEFAULT_IGNORE, "*.indd", "Draft *")
    assert is_ignored("Layout.INDD", patterns)
    assert is_ignored("draft 12.pdf", patterns)
    assert not is_ignored("final 12.pdf", patterns)
    assert not is_ignored(".hidden.pdf", ())


# --- the watcher ----------------------------------------------------------------------------


async def test_written_file_is_handed_on_once(start: Watchers, hotfolder: Path):
    handler = Recorder()
    start(hotfolder, handler)
    path = write(hotfolder / "12345_Buklet_Leonov.pdf", b"%PDF-1.7 plate\n")
    await eventually(lambda: handler.paths, "the file to be handed on")
    await quiet()
    assert handler.paths == [path]
    assert path.is_absolute()
    assert handler.contents[path] == b"%PDF-1.7 plate\n"


async def test_ignored_names_are_never_handed_on(start: Watchers, hotfolder: Path):
    handler = Recorder()
    start(hotfolder, handler, ignore=(*DEFAULT_IGNORE, "*.indd"))
    for name in (*IGNORED_NAMES, "Layout.indd"):
        write(hotfolder / name)
    write(hotfolder / "plate.tmp").rename(hotfolder / "plate2.part")  # MOVED_TO, still ignored
    normal = write(hotfolder / "12345_Buklet_Vonoel.pdf")
    await eventually(lambda: handler.paths, "the normal file to be handed on")
    await quiet()
    assert handler.paths == [normal]


async def test_ignored_names_present_at_start(start: Watchers, hotfolder: Path):
    for name in IGNORED_NAMES:
        write(hotfolder / name)
    normal = write(hotfolder / "x.pdf")
    handler = Recorder()
    start(hotfolder, handler)
    await eventually(lambda: handler.paths, "the normal file to be handed on")
    await quiet()
    assert handler.paths == [normal]


async def test_file_written_in_bursts_is_handed_on_once_complete(start: Watchers, hotfolder: Path):
    settle_s = SLOW_SETTLE_S
    handler = Recorder()
    start(hotfolder, handler, settle_s=settle_s)
    data = os.urandom(256 * 1024)
    path = hotfolder / "bursts.pdf"
    write(path, data[: len(data) // 2])
    await asyncio.sleep(10 * POLL_S)  # the watcher has seen the half file by now
    assert handler.paths == [], "handed on before it settled"
    with path.open("ab") as out:
        out.write(data[len(data) // 2 :])
    appended = time.monotonic()
    await eventually(lambda: handler.paths, "the file to be handed on")
    handed_on = time.monotonic()
    await quiet(settle_s)
    assert handler.paths == [path]
    assert handler.contents[path] == data
    assert handed_on - appended >= settle_s - POLL_S, "settle time counts from the last change"


async def test_file_moved_in_from_a_sibling_folder(
    start: Watchers, hotfolder: Path, tmp_path: Path
):
    staging = tmp_path / "staging"
    staging.mkdir()
    handler = Recorder()
    start(hotfolder, handler)
    data = b"%PDF-1.7 moved\n"
    write(staging / "moved.pdf", data).rename(hotfolder / "moved.pdf")
    await eventually(lambda: handler.paths, "the moved file to be handed on")
    await quiet()
    assert handler.paths == [hotfolder / "moved.pdf"]
    assert handler.contents[hotfolder / "moved.pdf"] == data


async def test_part_file_renamed_to_pdf(start: Watchers, hotfolder: Path):
    handler = Recorder()
    start(hotfolder, handler)
    part = write(hotfolder / "x.part", b"%PDF-1.7 upload\n")
    await asyncio.sleep(SETTLE_S + 3 * POLL_S)  # long enough to be taken, were it not ignored
    assert handler.paths == []
    part.rename(hotfolder / "x.pdf")
    await eventually(lambda: handler.paths, "x.pdf to be handed on")
    await quiet()
    assert handler.paths == [hotfolder / "x.pdf"]
    assert handler.contents[hotfolder / "x.pdf"] == b"%PDF-1.7 upload\n"


async def test_files_present_at_start_are_handed_on(start: Watchers, hotfolder: Path):
    before = {write(hotfolder / f"early-{i}.pdf", b"early %d" % i) for i in range(5)}
    handler = Recorder()
    watcher = start(hotfolder, handler, run=False)
    between = write(hotfolder / "after-open.pdf")  # a queued event and the start-up scan
    start.run(watcher)
    expected = {*before, between}
    await eventually(lambda: set(handler.paths) == expected, "the early files to be handed on")
    await quiet()
    assert sorted(handler.paths) == sorted(expected)
    for i in range(5):
        assert handler.contents[hotfolder / f"early-{i}.pdf"] == b"early %d" % i


UNUSUAL_NAMES = (
    'Заказ "весна" 1.pdf',
    "it's a test.pdf",
    "20931_Каталог весна_Leonov.pdf",
    "a  b\tc [1] (2) & $x; `y` #z %20.pdf",
)


async def test_unusual_names(start: Watchers, hotfolder: Path):
    early = {f"early {name}" for name in UNUSUAL_NAMES[:2]}  # found by the start-up scan
    for name in early:
        write(hotfolder / name, name.encode())
    handler = Recorder()
    start(hotfolder, handler)
    for name in UNUSUAL_NAMES:
        write(hotfolder / name, name.encode())
    expected = {*early, *UNUSUAL_NAMES}
    await eventually(lambda: set(handler.names) == expected, "every name to be handed on")
    await quiet()
    assert sorted(handler.names) == sorted(expected)
    for path in handler.paths:
        assert path == hotfolder / path.name
        assert handler.contents[path] == path.name.encode()


async def test_directories_are_not_handed_on(start: Watchers, hotfolder: Path, tmp_path: Path):
    (hotfolder / "present.pdf").mkdir()
    handler = Recorder()
    start(hotfolder, handler)
    (hotfolder / "made.pdf").mkdir()
    write(hotfolder / "made.pdf" / "inside.pdf")
    moved = tmp_path / "moved-dir.pdf"
    moved.mkdir()
    write(moved / "inside.pdf")
    moved.rename(hotfolder / "moved-dir.pdf")  # MOVED_TO with ISDIR
    marker = write(hotfolder / "marker.pdf")
    await eventually(lambda: handler.paths, "the marker file to be handed on")
    await quiet()
    assert handler.paths == [marker]


async def test_file_deleted_before_it_settles(start: Watchers, hotfolder: Path):
    settle_s = SLOW_SETTLE_S
    handler = Recorder()
    start(hotfolder, handler, settle_s=settle_s)
    gone = write(hotfolder / "gone.pdf")
    await asyncio.sleep(4 * POLL_S)  # seen and stat'ed at least once, far from settled
    gone.unlink()
    also_gone = write(hotfolder / "also-gone.pdf")
    also_gone.unlink()  # deleted before the watcher even looked at it
    marker = write(hotfolder / "marker.pdf")
    await eventually(lambda: handler.paths, "the marker file to be handed on")
    await quiet(settle_s)
    assert handler.paths == [marker]


async def test_file_replaced_by_a_directory_is_not_handed_on(start: Watchers, hotfolder: Path):
    handler = Recorder()
    start(hotfolder, handler, settle_s=SLOW_SETTLE_S)
    path = write(hotfolder / "shape-shifter.pdf")
    await asyncio.sleep(2 * POLL_S)  # seen and stat'ed at least once, far from settled
    path.unlink()
    path.mkdir()
    marker = write(hotfolder / "marker.pdf")
    await eventually(lambda: handler.paths, "the marker file to be handed on")
    await quiet(SLOW_SETTLE_S)
    assert handler.paths == [marker]


async def test_a_failed_claim_is_tried_again_and_does_not_stop_the_watcher(
    start: Watchers, hotfolder: Path, caplog: pytest.LogCaptureFixture
):
    handler = Recorder(fail_on={"bad.pdf"})
    watcher = start(hotfolder, handler)
    write(hotfolder / "bad.pdf")
    await eventually(lambda: "bad.pdf" in handler.names, "bad.pdf to be handed on")
    good = write(hotfolder / "good.pdf")
    await eventually(lambda: "good.pdf" in handler.names, "good.pdf to be handed on")
    assert watcher.failed_claims == {"bad.pdf": "handler refuses bad.pdf"}
    assert "could not take 'bad.pdf' (try 1)" in caplog.text
    # Tried again after a second, without any new event for it.
    await eventually(lambda: handler.names.count("bad.pdf") >= 2, "bad.pdf tried again")
    handler.fail_on.clear()
    await eventually(lambda: not watcher.failed_claims, "bad.pdf taken at last", timeout_s=10)
    assert handler.names.count("good.pdf") == 1
    assert handler.contents[good] == good.read_bytes()


async def test_a_file_that_fails_and_goes_away_is_forgotten(start: Watchers, hotfolder: Path):
    handler = Recorder(fail_on={"bad.pdf"})
    watcher = start(hotfolder, handler)
    bad = write(hotfolder / "bad.pdf")
    await eventually(lambda: watcher.failed_claims, "the failed claim")
    bad.unlink()
    await eventually(lambda: not watcher.failed_claims, "the failure forgotten", timeout_s=10)


async def test_many_files_at_once_each_once(start: Watchers, hotfolder: Path, tmp_path: Path):
    claimed = tmp_path / "claimed"
    claimed.mkdir()
    handler = Recorder(claim_into=claimed)
    start(hotfolder, handler)
    names = {f"{i:04d}_Order_Korol.pdf" for i in range(300)}
    for name in names:
        write(hotfolder / name)
    await eventually(lambda: len(handler.paths) >= len(names), "all files to be handed on")
    await quiet()
    assert handler.counts() == Counter(names)
    assert not any(hotfolder.iterdir())


def close_write(path: Path, flags: int = os.O_WRONLY) -> None:
    """Open for writing and close: one IN_CLOSE_WRITE event, nothing written."""
    os.close(os.open(path, flags))


async def test_queue_overflow_triggers_a_rescan(start: Watchers, hotfolder: Path, tmp_path: Path):
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 20000:
        pytest.skip(f"max_queued_events is {limit}; overflowing it would take too long")
    claimed = tmp_path / "claimed"
    claimed.mkdir()
    handler = Recorder(claim_into=claimed)  # as the service's claim: the file leaves the folder
    watcher = start(hotfolder, handler, settle_s=0, run=False)
    # More events than the queue holds. Creating that many files takes 10 s and more on a busy
    # ext4, so most events come from reopening 500 files in turn: consecutive events name
    # different files, which the kernel cannot merge.
    files = [f"{i:05d}.pdf" for i in range(500)]
    for name in files:
        close_write(hotfolder / name, os.O_WRONLY | os.O_CREAT)
    for i in range(limit):
        close_write(hotfolder / files[i % len(files)])
    late = [f"late {i:03d}.pdf" for i in range(100)]  # the queue is full: their events are lost
    for name in late:
        close_write(hotfolder / name, os.O_WRONLY | os.O_CREAT)
    assert watcher.rescans == 0
    start.run(watcher)
    everything = sorted([*files, *late])
    await eventually(lambda: len(handler.paths) >= len(everything), "every file", timeout_s=20)
    await eventually(lambda: watcher.rescans >= 1, "the overflow rescan")
    await quiet(0)
    assert watcher.rescans >= 1
    counts = handler.counts()
    assert [name for name, n in counts.items() if n != 1] == []
    assert sorted(counts) == everything
    assert sorted(p.name for p in claimed.iterdir()) == everything
    assert not any(hotfolder.iterdir())


async def test_a_file_still_being_written_at_start_up_is_taken_only_once_settled(
    start: Watchers, hotfolder: Path
):
    growing = hotfolder / "growing.pdf"
    write(growing, b"%PDF-1.7\n")
    handler = Recorder()
    start(hotfolder, handler, settle_s=SLOW_SETTLE_S)
    # Appended to (without closing events a rescan would see) for longer than the settle time.
    with growing.open("ab") as out:
        for _ in range(int(2 * SLOW_SETTLE_S / POLL_S)):
            out.write(b"more ")
            out.flush()
            os.utime(growing)
            await asyncio.sleep(POLL_S)
            assert handler.paths == [], "taken while still being written"
    await eventually(lambda: handler.paths == [growing], "the file once it has settled")
    assert handler.contents[growing].endswith(b"more ")


async def test_a_hard_link_made_in_the_hotfolder_is_taken(
    start: Watchers, hotfolder: Path, tmp_path: Path
):
    outside = write(tmp_path / "elsewhere.pdf")
    handler = Recorder()
    start(hotfolder, handler)
    os.link(outside, hotfolder / "linked.pdf")  # IN_CREATE only: no CLOSE_WRITE, no MOVED_TO
    await eventually(lambda: handler.names == ["linked.pdf"], "the hard link to be handed on")
