"""The hotfolder watcher: inotify events in, settled file paths out.

A name is a candidate after CLOSE_WRITE or MOVED_TO (and at start-up, and after an inotify queue
overflow, when the whole folder is rescanned). A candidate is handed on only once its size and
mtime have not changed for `settle_s` seconds, so a file Samba writes in bursts is taken once,
complete.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from asyncinotify import Inotify, Mask

from asyncpdf.errors import ChangedSinceSettled
from asyncpdf.jobs.spool import Settled

log = logging.getLogger(__name__)
Handler = Callable[[Path, Settled], Awaitable[object]]
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
CLAIM_RETRY_S = 1.0
CLAIM_RETRY_MAX_S = 60.0


class HotfolderGone(Exception):
    """The watched folder was moved or deleted: the watch has to start again on the path."""


@dataclass(frozen=True)
class _Failure:
    tries: int
    retry_at: float
    error: str


def is_ignored(name: str, patterns: Iterable[str]) -> bool:
    """True for temporary and system files (case-insensitive, as Windows clients name them)."""
    folded = name.casefold()
    return any(fnmatch.fnmatchcase(folded, pattern.casefold()) for pattern in patterns)


#: What the settle loop sees of a name: the plain file, None (gone), or why it is not taken.
_Seen = Settled | str | None


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
    ) -> None:
        self._folder = folder
        self._handler = handler
        self._settle_s = settle_s
        self._poll_s = poll_s
        self._ignore = tuple(ignore)
        self._candidates: dict[str, _Candidate | None] = {}
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

    def rescan(self) -> None:
        with os.scandir(self._folder) as entries:
            for entry in entries:
                self.offer(entry.name)

    async def run(self) -> None:
        """Scan what is already there, then follow events until cancelled.

        Reading and settling run side by side; if either fails, both stop and the error
        propagates, so a half-dead watcher never looks alive.
        """
        if self._inotify is None:
            self.open()
        await asyncio.to_thread(self.rescan)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read_events(), name="watcher-events")
            group.create_task(self._settle_loop(), name="watcher-settle")

    async def _read_events(self) -> None:
        assert self._inotify is not None
        async for event in self._inotify:
            self.last_event_at = time.time()
            if event.mask & _GONE:
                raise HotfolderGone(f"{self._folder} was moved or deleted")
            if event.mask & Mask.Q_OVERFLOW:
                self.rescans += 1
                log.warning("inotify queue overflowed; rescanning %s", self._folder)
                await asyncio.to_thread(self.rescan)
            elif event.name is not None:
                self.offer(str(event.name))

    async def _settle_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            now = time.monotonic()
            for name, failure in self._failed.items():
                if failure.retry_at <= now and name not in self._candidates:
                    self._candidates[name] = None
            if self._candidates or self._not_taken:
                names = [*self._candidates, *self._not_taken]
                signatures = await asyncio.to_thread(_signatures, self._folder, names)
                self._recheck_not_taken(signatures)
                for name, settled in self._ready(signatures):
                    await self._hand_on(name, settled)

    def _recheck_not_taken(self, signatures: dict[str, _Seen]) -> None:
        for name in list(self._not_taken):
            seen = signatures.get(name)
            if seen is None:
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
            if signature is None:
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

    async def _hand_on(self, name: str, settled: Settled) -> None:
        try:
            await self._handler(self._folder / name, settled)
        except ChangedSinceSettled:
            log.info("%r changed as it was being taken; waiting for it to settle again", name)
            self._candidates[name] = None
        except Exception as exc:
            # One bad file must never stop the watcher; it stays where it is and is tried
            # again, less and less often, until it can be taken or goes away.
            earlier = self._failed.get(name)
            tries = earlier.tries + 1 if earlier else 1
            delay = min(CLAIM_RETRY_MAX_S, CLAIM_RETRY_S * 2.0 ** (tries - 1))
            self._failed[name] = _Failure(tries, time.monotonic() + delay, repr(exc))
            log.error(
                "could not take %r (try %d): %r; trying again in %.0f s", name, tries, exc, delay
            )
        else:
            self._failed.pop(name, None)


def _signatures(folder: Path, names: list[str]) -> dict[str, _Seen]:
    """Each name that is a plain file as it is now; None where it is gone; for anything else,
    why it is not taken. Nothing is opened or followed."""
    found: dict[str, _Seen] = {}
    for name in names:
        try:
            mode = os.stat(folder / name, follow_symlinks=False)
        except FileNotFoundError:
            found[name] = None
            continue
        if S_ISREG(mode.st_mode):
            found[name] = Settled.of(mode)
        else:
            found[name] = _why_not(mode.st_mode)
    return found


def _why_not(mode: int) -> str:
    if S_ISDIR(mode):
        return "a folder: files in sub-folders are not taken; save into the hotfolder itself"
    if S_ISLNK(mode):
        return "a symbolic link: links are not followed; save the file itself"
    return "not a plain file (a FIFO, socket or device): only saved files are taken"
