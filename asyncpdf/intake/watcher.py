"""The hotfolder watcher: inotify events in, settled file paths out.

A name is a candidate after CLOSE_WRITE or MOVED_TO (and at start-up, and after an inotify queue
overflow, when the whole folder is rescanned). A candidate is handed on only once its size and
mtime have not changed for `settle_s` seconds, so a file Samba writes in bursts is taken once,
complete. The files that settled by one poll are handed on together, in batches of up to
CLAIM_BATCH, to be claimed in one transaction each.

Sub-folders are watched too, as they appear, up to MAX_DEPTH deep: with `recursive` their files
are taken like the others (names are paths relative to the hotfolder); without it they are
listed as not taken, with their folder, so a file saved one folder too deep is never ignored
silently. While `hold` gives a reason (the disk is nearly full), settled files are left where
they are, untouched, and taken once it gives none.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from asyncinotify import Inotify, Mask, Watch

from asyncpdf.errors import ChangedSinceSettled
from asyncpdf.intake.spool import Settled

log = logging.getLogger(__name__)
#: Claims settled files; for each, what became of it: an Exception leaves it to be tried again.
Handler = Callable[[list[tuple[Path, Settled | None]]], Awaitable[Sequence[object]]]
#: Why settled files must wait in the hotfolder for now, or None when they may be taken.
Hold = Callable[[], Awaitable[str | None]]
#: Sub-folders below the hotfolder that are watched (a share can be nested without end).
MAX_DEPTH = 4
#: Sub-folders watched at most: each takes an inotify watch.
MAX_WATCHES = 1000
# CREATE too: a hard link (`ln`) makes no other event.
WATCH_MASK = (
    Mask.CLOSE_WRITE
    | Mask.MOVED_TO
    | Mask.CREATE
    | Mask.MOVE_SELF
    | Mask.DELETE_SELF
    | Mask.ONLYDIR
)
_GONE = Mask.MOVE_SELF | Mask.DELETE_SELF | Mask.IGNORED
#: Files claimed in one transaction at most (a burst is claimed in several).
CLAIM_BATCH = 250
CLAIM_RETRY_S = 1.0
#: A name offered is first looked at after this, with the names offered meanwhile.
FIRST_LOOK_S = 0.05
CLAIM_RETRY_MAX_S = 60.0


class HotfolderGone(Exception):
    """The watched folder was moved or deleted: the watch has to start again on the path."""


@dataclass(frozen=True)
class _Failure:
    tries: int
    retry_at: float
    error: str


def is_ignored(name: str, patterns: Iterable[str]) -> bool:
    """True for temporary and system files, and anything in such a folder (case-insensitive,
    as Windows clients name them)."""
    folded = [part.casefold() for part in name.split("/")]
    return any(
        fnmatch.fnmatchcase(part, pattern.casefold()) for part in folded for pattern in patterns
    )


#: What the settle loop sees of a name: the plain file, None (gone), or why it is not taken.
_Seen = Settled | str | None
#: A sub-folder of a recursive watch: watched, not a file to take.
WATCHED = "watched"
#: Only PDFs become jobs; anything else saved here is listed, with this reason.
NOT_PDF = "not a PDF file: only files whose name ends in .pdf are taken"


@dataclass
class _Candidate:
    signature: Settled
    stable_since: float


class Watcher:
    def __init__(
        self,
        folder: Path,
        handler: Handler,
        *,
        settle_s: float,
        poll_s: float,
        ignore: Iterable[str],
        recursive: bool = False,
        hold: Hold | None = None,
    ) -> None:
        self._folder = folder
        self._recursive = recursive
        self._hold = hold
        #: Watched sub-folders (relative paths) by their watch.
        self._subfolders: dict[Watch, str] = {}
        #: Why settled files are left in the hotfolder for now, or None.
        self.holding: str | None = None
        self._handler = handler
        self._settle_s = settle_s
        self._poll_s = poll_s
        self._ignore = tuple(ignore)
        self._candidates: dict[str, _Candidate | None] = {}
        #: Set when a name is offered: its first look need not wait for the next poll.
        self._offered = asyncio.Event()
        self._failed: dict[str, _Failure] = {}
        self._not_taken: dict[str, str] = {}
        self._inotify: Inotify | None = None
        self.rescans = 0
        #: Wall-clock time of the last inotify event read (for /api/status), or None.
        self.last_event_at: float | None = None

    def open(self) -> None:
        """Start receiving events; the kernel queues them until `run` reads."""
        self._inotify = Inotify()
        self._inotify.add_watch(self._folder, WATCH_MASK)

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._subfolders.clear()

    @property
    def alive(self) -> bool:
        return self._inotify is not None

    @property
    def failed_claims(self) -> dict[str, str]:
        """Files that could not be claimed and are tried again: name → last error."""
        return {name: failure.error for name, failure in self._failed.items()}

    @property
    def not_taken(self) -> dict[str, str]:
        """What is in the hotfolder and will not be taken (a folder, a link, a FIFO): name →
        why. Temporary and system files (the ignore patterns) are left out, quietly."""
        return dict(self._not_taken)

    def offer(self, name: str) -> None:
        if not is_ignored(name, self._ignore):
            self._candidates[name] = None
            self._offered.set()

    async def rescan(self, below: str = "") -> None:
        """Offer everything in the hotfolder (or its sub-folder `below`), watching the
        sub-folders found."""
        names, folders = await asyncio.to_thread(_walk, self._folder, below)
        for folder in folders:
            self._watch(folder)
        for name in names:
            self.offer(name)

    def _watch(self, folder: str) -> None:
        if folder in self._subfolders.values() or is_ignored(folder, self._ignore):
            return
        if len(self._subfolders) >= MAX_WATCHES:
            self._not_taken[folder] = (
                f"a folder beyond the {MAX_WATCHES} sub-folders watched: not watched; "
                "save into the hotfolder itself"
            )
            return
        assert self._inotify is not None
        try:
            watch = self._inotify.add_watch(self._folder / folder, WATCH_MASK | Mask.DONT_FOLLOW)
        except OSError as exc:  # gone already, or replaced by something that is not a folder
            log.info("cannot watch the sub-folder %r: %s", folder, exc)
            return
        self._subfolders[watch] = folder

    async def run(self) -> None:
        """Scan what is already there, then follow events until cancelled.

        Reading and settling run side by side; if either fails, both stop and the error
        propagates, so a half-dead watcher never looks alive.
        """
        if self._inotify is None:
            self.open()
        await self.rescan()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read_events(), name="watcher-events")
            group.create_task(self._settle_loop(), name="watcher-settle")

    async def _read_events(self) -> None:
        assert self._inotify is not None
        async for event in self._inotify:
            self.last_event_at = time.time()
            below = self._subfolders.get(event.watch) if event.watch is not None else None
            if event.mask & _GONE:
                if below is None:
                    raise HotfolderGone(f"{self._folder} was moved or deleted")
                self._forget(event.watch)
            elif event.mask & Mask.Q_OVERFLOW:
                self.rescans += 1
                log.warning("inotify queue overflowed; rescanning %s", self._folder)
                await self.rescan()
            elif event.name is not None:
                name = f"{below}/{event.name}" if below else str(event.name)
                if event.mask & Mask.ISDIR and name.count("/") < MAX_DEPTH:
                    # Files may be in it already (moved in whole, or written before the watch).
                    self._watch(name)
                    await self.rescan(name)
                self.offer(name)

    def _forget(self, watch: Watch | None) -> None:
        """A sub-folder moved or deleted: its watch is dropped; if it moved within the
        hotfolder, its new name comes as an event of its own."""
        if watch is None or watch not in self._subfolders:
            return
        del self._subfolders[watch]
        if self._inotify is not None:
            with contextlib.suppress(OSError, KeyError, ValueError):
                self._inotify.rm_watch(watch)

    async def _settle_loop(self) -> None:
        while True:
            await self._until_next_look()
            # Asked each poll (the answer is cached): the status says why files wait all along.
            self.holding = await self._hold() if self._hold else None
            now = time.monotonic()
            for name, failure in self._failed.items():
                if failure.retry_at <= now and name not in self._candidates:
                    self._candidates[name] = None
            if self._candidates or self._not_taken:
                names = [*self._candidates, *self._not_taken]
                signatures = await asyncio.to_thread(
                    _signatures, self._folder, names, self._recursive
                )
                self._recheck_not_taken(signatures)
                ready = self._ready(signatures)
                if self.holding is None:
                    await self._hand_on(ready)
                else:
                    for name, _ in ready:
                        self._candidates[name] = None  # left untouched; taken once it may be

    async def _until_next_look(self) -> None:
        """Sleep until the next poll, or sooner: until the first candidate has been unchanged
        for `settle_s`, or shortly after a name is offered (a burst's names share that look),
        so a file is taken `settle_s` after it was closed, not up to two polls later."""
        stable = [c.stable_since for c in self._candidates.values() if c is not None]
        delay = self._poll_s
        if stable:
            # A little after: the loop's clock may wake a timer a hair early.
            delay = min(delay, min(stable) + self._settle_s - time.monotonic() + 0.002)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(FIRST_LOOK_S, delay)):
                await self._offered.wait()
                await asyncio.sleep(FIRST_LOOK_S)
        self._offered.clear()

    def _recheck_not_taken(self, signatures: dict[str, _Seen]) -> None:
        for name in list(self._not_taken):
            seen = signatures.get(name)
            if seen is None or seen is WATCHED:
                del self._not_taken[name]
            elif not isinstance(seen, str):
                del self._not_taken[name]
                self.offer(name)

    def _ready(self, signatures: dict[str, _Seen]) -> list[tuple[str, Settled]]:
        now = time.monotonic()
        ready = []
        for name, signature in signatures.items():
            if name not in self._candidates:
                continue
            seen = self._candidates[name]
            if signature is None or signature is WATCHED:
                del self._candidates[name]
                self._failed.pop(name, None)
            elif isinstance(signature, str):
                del self._candidates[name]
                if name not in self._not_taken:
                    log.warning("not taking %r from the hotfolder: %s", name, signature)
                self._not_taken[name] = signature
            elif seen is None or seen.signature != signature:
                self._candidates[name] = _Candidate(signature, now)
            elif now - seen.stable_since >= self._settle_s:
                del self._candidates[name]
                ready.append((name, signature))
        return ready

    async def _hand_on(self, ready: list[tuple[str, Settled]]) -> None:
        for start in range(0, len(ready), CLAIM_BATCH):
            batch = ready[start : start + CLAIM_BATCH]
            try:
                outcomes: Sequence[object] = await self._handler(
                    [(self._folder / name, settled) for name, settled in batch]
                )
            except Exception as exc:
                # The batch was not recorded: every file in it is where it was.
                outcomes = [exc] * len(batch)
            for (name, _), outcome in zip(batch, outcomes, strict=True):
                self._handed_on(name, outcome)

    def _handed_on(self, name: str, outcome: object) -> None:
        if isinstance(outcome, ChangedSinceSettled):
            log.info("%r changed as it was being taken; waiting for it to settle again", name)
            self._candidates[name] = None
        elif isinstance(outcome, Exception):
            # One bad file must never stop the watcher; it stays where it is and is tried
            # again, less and less often, until it can be taken or goes away.
            earlier = self._failed.get(name)
            tries = earlier.tries + 1 if earlier else 1
            delay = min(CLAIM_RETRY_MAX_S, CLAIM_RETRY_S * 2.0 ** (tries - 1))
            self._failed[name] = _Failure(tries, time.monotonic() + delay, _reason(outcome))
            log.error(
                "could not take %r (try %d): %r; trying again in %.0f s",
                name,
                tries,
                outcome,
                delay,
            )
        else:
            self._failed.pop(name, None)


def _reason(exc: Exception) -> str:
    """Why a claim failed, in words for the page (an OSError's reason, not a Python repr)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _walk(folder: Path, below: str) -> tuple[list[str], list[str]]:
    """The names in `folder/below` and its sub-folders (relative to `folder`), and those
    sub-folders, up to MAX_DEPTH deep; links are not followed. Blocking."""
    names: list[str] = []
    folders: list[str] = []
    pending = [below]
    while pending and len(folders) < MAX_WATCHES:
        current = pending.pop()
        try:
            with os.scandir(folder / current) as entries:
                for entry in entries:
                    name = f"{current}/{entry.name}" if current else entry.name
                    names.append(name)
                    if entry.is_dir(follow_symlinks=False) and name.count("/") < MAX_DEPTH:
                        folders.append(name)
                        pending.append(name)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return names, folders


def _signatures(folder: Path, names: list[str], recursive: bool) -> dict[str, _Seen]:
    """Each name that is a plain file as it is now; None where it is gone; WATCHED for a
    sub-folder whose files are taken; for anything else, why it is not taken. Nothing is
    opened or followed."""
    found: dict[str, _Seen] = {}
    for name in names:
        try:
            if not _folders_are_real(folder, name):
                # A folder on the way was swapped for a link: what is behind it is not ours.
                found[name] = None
                continue
            mode = os.stat(folder / name, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            found[name] = None
            continue
        found[name] = _seen(name, mode.st_mode, recursive) or Settled.of(mode)
    return found


def _folders_are_real(folder: Path, name: str) -> bool:
    """Whether each sub-folder on the way to `name` is a folder, not a link to elsewhere."""
    parts = name.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        if not S_ISDIR(os.lstat(folder.joinpath(*parts[:depth])).st_mode):
            return False
    return True


def _seen(name: str, mode: int, recursive: bool) -> str | None:
    """Why the entry `name` is not taken as a file (WATCHED: a sub-folder being watched), or
    None when it is a plain file that is taken."""
    folder, _, _ = name.rpartition("/")
    if S_ISDIR(mode) and recursive:
        if name.count("/") < MAX_DEPTH:
            return WATCHED
        return f"a folder more than {MAX_DEPTH} levels deep: not watched; save higher up"
    if S_ISREG(mode):
        if folder and not recursive:
            return (
                f"in the sub-folder {folder!r}: sub-folders are not taken (watch.recursive "
                "is off); save into the hotfolder itself"
            )
        if not name.casefold().endswith(".pdf"):
            return NOT_PDF
        return None
    return _why_not(mode)


def _why_not(mode: int) -> str:
    if S_ISDIR(mode):
        return (
            "a folder: files in sub-folders are not taken (watch.recursive is off); save into "
            "the hotfolder itself"
        )
    if S_ISLNK(mode):
        return "a symbolic link: links are not followed; save the file itself"
    return "not a plain file (a FIFO, socket or device): only saved files are taken"
