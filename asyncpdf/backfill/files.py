"""What a folder to import holds: plain PDF files; everything else skipped with why."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncpdf.errors import EXIT_USAGE, AsyncPdfError


class NotAFolder(AsyncPdfError):
    """The folder to import from is missing, not a folder, or one of the service's own."""

    code = "usage"
    exit_code = EXIT_USAGE


@dataclass
class Found:
    """What DIR holds: the plain PDF files to import, and the entries skipped with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.files) + len(self.skipped)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((label for test, label in kinds if test(mode)), "a device or special file")


def _is_pdf(name: str) -> bool:
    return name.lower().endswith(".pdf")


def check_folder(folder: Path, own: Sequence[Path]) -> None:
    """Raise NotAFolder unless `folder` is a folder the import may read: not one of the
    service's `own` folders (its spool, its previews) nor inside one."""
    if not folder.exists():
        raise NotAFolder(f"{folder}: no such folder")
    if not folder.is_dir():
        raise NotAFolder(f"{folder}: not a folder; give the folder that holds the PDF files")
    inside = folder.resolve()
    for service in own:
        mine = service.resolve()
        if inside == mine or mine in inside.parents:
            raise NotAFolder(f"{folder}: is the service's own folder {service}; not imported")


def scan(folder: Path, own: Sequence[Path] = ()) -> Found:
    """Every plain `*.pdf` file under `folder`, in path order. Hidden entries are left out,
    and the service's `own` folders (files in flight, previews it made); links are never
    followed and nothing but plain files is opened (a FIFO would block)."""
    found = Found()
    excluded = set()
    for service in own:
        with contextlib.suppress(OSError):
            info = os.stat(service)
            excluded.add((info.st_dev, info.st_ino))
    folders = [folder]
    while folders:
        for entry in _listing(folders.pop(), found):
            inner = _take(entry, found)
            if inner in excluded:
                found.skipped.append((Path(entry.path), "the service's own folder: not imported"))
            elif inner is not None:
                folders.append(Path(entry.path))
    found.files.sort()
    found.skipped.sort()
    return found


def _listing(folder: Path, found: Found) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return [entry for entry in listing if not entry.name.startswith(".")]
    except OSError as exc:
        found.skipped.append((folder, f"cannot read the folder: {exc.strerror or exc}"))
        return []


def _take(entry: os.DirEntry[str], found: Found) -> tuple[int, int] | None:
    """Put `entry` where it belongs in `found`; a folder's (device, inode) to look into."""
    path = Path(entry.path)
    try:
        mode_stat = entry.stat(follow_symlinks=False)
    except OSError as exc:
        found.skipped.append((path, f"cannot look at it: {exc.strerror or exc}"))
        return None
    mode = mode_stat.st_mode
    if stat.S_ISDIR(mode):
        return (mode_stat.st_dev, mode_stat.st_ino)
    if stat.S_ISREG(mode):
        if _is_pdf(entry.name):
            found.files.append(path)
    elif stat.S_ISLNK(mode) and (_is_pdf(entry.name) or path.is_dir()):
        found.skipped.append((path, "a symbolic link: links are not followed"))
    elif _is_pdf(entry.name):
        found.skipped.append((path, f"not a plain file but {_kind(mode)}: not read"))
    return None
