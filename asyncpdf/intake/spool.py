"""Where a job's file lives: hotfolder → spool/<job id>/<name> → done/ or error/.

The spool holds only unfinished jobs. A claim is one atomic rename, so a file is either still
in the hotfolder or already in the spool, never both and never neither; what the rename brought
in is then looked at without being opened (a link, a FIFO or a folder swapped in at the last
moment is refused, never read or followed). Kept files never replace one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from asyncpdf.config import Paths
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.errors import ChangedSinceSettled, ConfigError
from asyncpdf.pdf.analysis import shown_path

NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, tmpfs)
REASON_SUFFIX = ".error.txt"
_KEPT_ID = re.compile(r" \(job (\d+)[,)]")


class Spool:
    def __init__(self, paths: Paths) -> None:
        self._paths = paths

    @property
    def folder(self) -> Path:
        return self._paths.spool

    def prepare(self) -> None:
        for folder in (
            self._paths.hotfolder,
            self._paths.spool,
            self._paths.done,
            self._paths.error,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        # Claims are renames and kept files are hard links: one file system for all four.
        device = os.stat(self._paths.spool).st_dev
        for name in ("hotfolder", "done", "error"):
            if os.stat(getattr(self._paths, name)).st_dev != device:
                raise ConfigError(f"paths.{name} must be on the same file system as paths.spool")

    def path(self, job_id: int, name: str) -> Path:
        return self._paths.spool / str(job_id) / name

    def hotfolder_path(self, name: str, subfolder: str | None = None) -> Path:
        return self._paths.hotfolder / (subfolder or "") / name

    def subfolder_of(self, source: Path) -> str | None:
        """The hotfolder's sub-folder `source` is in; None at its top or outside it."""
        parts = self.subfolder_parts(source)
        return shown_path("/".join(parts)) if parts else None

    @contextlib.contextmanager
    def _folder_of(self, source: Path) -> Iterator[tuple[int | None, str | Path]]:
        """(folder descriptor, name) to move `source` by. In a sub-folder of the hotfolder,
        each folder on the way is opened without following links, so one swapped for a link
        cannot make a claim move a file from outside the hotfolder (or put one back there)."""
        parts = self.subfolder_parts(source)
        if not parts:
            yield None, source
            return
        fd = os.open(self._paths.hotfolder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts:
                inner = os.open(
                    part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
                )
                os.close(fd)
                fd = inner
            yield fd, source.name
        finally:
            os.close(fd)

    def subfolder_parts(self, source: Path) -> tuple[str, ...]:
        try:
            return source.parent.relative_to(self._paths.hotfolder).parts
        except ValueError:
            return ()

    def holds(self, job_id: int, name: str) -> bool:
        """Whether the job's file is in the spool (a link counts: it is there, unread)."""
        return os.path.lexists(self.path(job_id, name))

    async def claim(
        self, source: Path, job_id: int, name: str, settled: Settled | None = None
    ) -> str | None:
        """Move `source` into the job's spool folder as `name` (the job's, valid UTF-8, which
        every library can open); return why it cannot be worked
        on (not a plain file), or None. Nothing is opened or followed to find out. With
        `settled`, what was moved must be that very file, unchanged, or it goes back and
        ChangedSinceSettled is raised."""
        return await asyncio.to_thread(self._claim, source, job_id, name, settled)

    def _claim(self, source: Path, job_id: int, name: str, settled: Settled | None) -> str | None:
        target = self.path(job_id, name)
        target.parent.mkdir(exist_ok=True)
        with self._folder_of(source) as (folder, entry):
            os.rename(entry, target, src_dir_fd=folder)
        if source.parent.parent == self._paths.spool:
            # Adopted from a spool folder the store did not know: leave no empty folder behind.
            with contextlib.suppress(OSError):
                source.parent.rmdir()
        # Once in the spool, which only the service writes, it cannot be swapped again.
        found = target.lstat()
        refused = _not_a_plain_file(found.st_mode)
        if refused is None and settled is not None and Settled.of(found) != settled:
            self._unclaim(source, job_id, name)
            raise ChangedSinceSettled(f"{source.name!r} changed after it settled")
        return refused

    async def claim_all(self, claims: list[Claim]) -> list[str | Exception | None]:
        """Claim each file as `claim` does, all in one thread: for each, why it cannot be
        worked on (str), None when taken, or the exception that left it where it was
        (FileNotFoundError: gone; ChangedSinceSettled: put back)."""
        return await asyncio.to_thread(self._claim_all, claims)

    def _claim_all(self, claims: list[Claim]) -> list[str | Exception | None]:
        found: list[str | Exception | None] = []
        for claim in claims:
            try:
                found.append(self._claim(*claim))
            except Exception as exc:  # this file's alone: the others are claimed all the same
                with contextlib.suppress(OSError):
                    self.path(claim.job_id, claim.name).parent.rmdir()
                found.append(exc)
        return found

    async def unclaim_all(self, claims: list[Claim]) -> None:
        """Put each file back where it came from (their jobs could not be recorded)."""
        await asyncio.to_thread(self._unclaim_all, claims)

    def _unclaim_all(self, claims: list[Claim]) -> None:
        for claim in claims:
            self._unclaim(claim.source, claim.job_id, claim.name)

    async def unclaim(self, source: Path, job_id: int, name: str) -> None:
        """Put a file back where it came from (its job could not be recorded)."""
        await asyncio.to_thread(self._unclaim, source, job_id, name)

    def _unclaim(self, source: Path, job_id: int, name: str) -> None:
        held = self.path(job_id, name)
        if not os.path.lexists(held):
            return
        with self._folder_of(source) as (folder, entry):
            # Something new in its place: the file stays in the spool (and is taken from there).
            if not _lexists_at(entry, folder):
                os.rename(held, entry, dst_dir_fd=folder)
            with contextlib.suppress(OSError):
                held.parent.rmdir()

    async def release(self, job: JobHeader, reason: str | None = None) -> Path | None:
        """Move a finished job's file out of the spool, never over a file already kept; a
        failed one gets its reason beside it."""
        return await asyncio.to_thread(self._release, job, reason)

    def _release(self, job: JobHeader, reason: str | None) -> Path | None:
        source = self.path(job.id, job.name)
        if not os.path.lexists(source):
            return None
        # A duplicate is a good file that was sent before: kept with the done ones.
        done = job.state in (JobState.DONE, JobState.DUPLICATE)
        folder = self._paths.done if done else self._paths.error
        text = None
        if not done:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            text = f"job {job.id} {job.state.value} at {stamp}\n{reason or job.error or ''}\n"
        kept = _keep(source, folder, job.file_name, job.id, text)
        source.parent.rmdir()
        return kept

    async def restore(self, job: JobHeader) -> Path:
        """Move a finished job's kept file back into the spool (its failed deliveries are to be
        retried); raise FileNotFoundError when it is no longer kept."""
        return await asyncio.to_thread(self._restore, job)

    def _restore(self, job: JobHeader) -> Path:
        held = self.path(job.id, job.name)
        if os.path.lexists(held):
            return held
        kept = self.kept_path(job)
        if kept is None:
            raise FileNotFoundError(f"job {job.id}: its file is no longer in done/ or error/")
        held.parent.mkdir(exist_ok=True)
        os.link(kept, held, follow_symlinks=False)
        kept.unlink()
        Path(f"{kept}{REASON_SUFFIX}").unlink(missing_ok=True)
        return held

    def kept_path(self, job: JobHeader) -> Path | None:
        """Where the job's file is now (its spool entry while it is there, else the name
        `_keep` gave it in done/ or error/), or None when it is nowhere to be found. Blocking:
        call it through asyncio.to_thread. The path is not checked for what it is."""
        held = self.path(job.id, job.name)
        if os.path.lexists(held):
            return held
        if not job.state.terminal:
            return None
        done = job.state in (JobState.DONE, JobState.DUPLICATE)
        folder = self._paths.done if done else self._paths.error
        # As in `_release`: a failed job's file has its reason beside it, which takes room.
        room = NAME_MAX - (0 if done else len(REASON_SUFFIX))
        names = _kept_names(job.file_name, job.id, room)
        plain = next(names) if _fits(job.file_name, room) else None
        # `_keep` took the first free name, so this job's is the plain one or one of the run of
        # names with its id that were taken when it ended (the last of them, unless a file with
        # such a name came later): the run is walked to its end, then checked back to front.
        run: list[Path] = []
        for name in names:
            if not os.path.lexists(folder / name):
                break
            run.append(folder / name)
        candidates = [*reversed(run), *([folder / plain] if plain is not None else [])]
        return next((path for path in candidates if _is_kept_for(path, job, done)), None)

    def highest_job_id(self) -> int:
        """The highest job id any folder of the service shows (spool and preview folders, kept
        names): a new database must not give those ids again."""
        found = [0]
        for folder in (self._paths.spool, self._paths.previews):
            if folder.is_dir():
                found.extend(int(entry.name) for entry in folder.iterdir() if entry.name.isdigit())
        for folder in (self._paths.done, self._paths.error):
            for entry in folder.iterdir():
                found.extend(int(number) for number in _KEPT_ID.findall(entry.name))
        return max(found)

    def check_writable(self) -> None:
        """Raise OSError unless a file can be made in the spool (and its folder is still there)."""
        probe = self._paths.spool / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()

    def entries(self) -> list[tuple[int, Path]]:
        """(job id, entry) for everything in the spool's job folders, including entries the
        store may not know and ones that are not plain files."""
        found: list[tuple[int, Path]] = []
        for folder in sorted(self._paths.spool.iterdir()):
            if folder.is_dir() and not folder.is_symlink() and folder.name.isdigit():
                found.extend((int(folder.name), entry) for entry in sorted(folder.iterdir()))
        return found


class Claim(NamedTuple):
    """One file to move into the spool for its job."""

    source: Path
    job_id: int
    name: str
    settled: Settled | None


class Settled(NamedTuple):
    """The file the watcher saw settle: which inode, how big, when last written."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, found: os.stat_result) -> Settled:
        return cls(found.st_ino, found.st_size, found.st_mtime_ns)


def _not_a_plain_file(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((label for test, label in kinds if test(mode)), "a device or special file")
    return f"not a plain file but {kind}: only files saved into the hotfolder are taken"


def _fitting(stem: str, tail: str, room: int) -> str:
    """`stem` + `tail`, the stem cut (at a character) so the whole is at most `room` bytes."""
    budget = room - len(tail.encode("utf-8", "surrogateescape"))
    cut = stem.encode("utf-8", "surrogateescape")[: max(budget, 1)]
    return cut.decode("utf-8", "ignore").rstrip() + tail


def _kept_names(name: str, job_id: int, room: int) -> Iterator[str]:
    if _fits(name, room):
        yield name
    stem, suffix = os.path.splitext(name)
    suffix = suffix if len(suffix) <= 16 else ""
    yield _fitting(stem, f" (job {job_id}){suffix}", room)
    for copy in itertools.count(2):
        yield _fitting(stem, f" (job {job_id}, {copy}){suffix}", room)


def _lexists_at(entry: str | Path, folder: int | None) -> bool:
    try:
        os.stat(entry, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _fits(name: str, room: int) -> bool:
    return len(name.encode("utf-8", "surrogateescape")) <= room


def _is_kept_for(path: Path, job: JobHeader, done: bool) -> bool:
    """Whether the kept `path` shows it is `job`'s: a failed job's reason note names the job
    (`_release` writes "job <id> …" first); a done job's file has the job's size."""
    try:
        found = path.lstat()
        if not done:
            with Path(f"{path}{REASON_SUFFIX}").open("rb") as stream:
                return stream.readline().startswith(f"job {job.id} ".encode())
    except OSError:
        return False
    return job.size is None or found.st_size == job.size


def _keep(source: Path, folder: Path, name: str, job_id: int, reason: str | None) -> Path:
    """Move `source` into `folder` under `name` or, where that is taken, another free name (the
    file's own bytes, even where they are not UTF-8), with `reason` beside it as
    `<name>.error.txt`. Names are taken with O_EXCL and hard links, so nothing kept before is
    ever replaced, and cut to fit the 255-byte limit of a file name."""
    room = NAME_MAX - (len(REASON_SUFFIX) if reason is not None else 0)
    for kept in _kept_names(name, job_id, room):
        target = folder / kept
        note = folder / f"{kept}{REASON_SUFFIX}"
        if reason is not None:
            try:
                with note.open("x", encoding="utf-8") as stream:
                    stream.write(reason)
            except FileExistsError:
                continue
        try:
            _move_exclusive(source, target)
        except FileExistsError:
            if reason is not None:
                note.unlink()
            continue
        return target
    raise AssertionError("unreachable: the names never run out")


def _move_exclusive(source: Path, target: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        # Folders cannot be hard-linked; one swapped in at claim time is rare enough that
        # a check before the rename will do.
        if os.path.lexists(target):
            raise FileExistsError(target)
        source.rename(target)
        return
    os.link(source, target, follow_symlinks=False)
    source.unlink()
