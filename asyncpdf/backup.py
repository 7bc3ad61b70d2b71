"""`asyncpdf backup FILE`: a consistent copy of the database, taken while the service runs.

SQLite's online backup copies the database as one read transaction sees it: in WAL mode the
service keeps writing meanwhile, and the copy holds every transaction committed before it
began and none after. The copy is written under a temporary name beside FILE, checked, synced
and only then given FILE's name, so FILE is never a half-written database.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asyncpdf.errors import EXIT_FAILED, EXIT_USAGE, AsyncPdfError

#: How long the copy may wait for a lock (only a checkpoint or a recovery holds one that long).
BUSY_TIMEOUT_S = 30.0


class BackupFailed(AsyncPdfError):
    """The database could not be read, or the copy not written; FILE is left as it was."""

    code = "backup_failed"
    exit_code = EXIT_FAILED


class BackupRefused(AsyncPdfError):
    """FILE cannot be the copy as asked (it exists, or is the database itself)."""

    code = "backup_refused"
    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    jobs: int
    schema: int


def backup_database(database: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy `database` to `target`, consistently even while the service writes to it.

    BackupRefused when `target` exists (unless `force`), names the database or one of its
    files, or lies in a folder that does not exist; BackupFailed when the database cannot be
    read or the copy cannot be written. Either way `target` is left as it was.
    """
    target = target.absolute()
    _check_target(database, target, force)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise BackupFailed(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    temporary = Path(name)
    try:
        jobs, schema = _copy(database, temporary)
        _sync(temporary)
        _place(temporary, target, force)
        _sync(target.parent)
        size = target.stat().st_size
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BackupFailed(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return BackupResult(target, size, jobs, schema)


def _check_target(database: Path, target: Path, force: bool) -> None:
    own_files = {database.absolute()} | {
        database.absolute().with_name(database.name + suffix)
        for suffix in ("-wal", "-shm", "-journal", ".lock")
    }
    if target in own_files or (target.exists() and database.exists() and target.samefile(database)):
        raise BackupRefused(f"{target} is the database or one of its files: choose another name")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} is not a folder: make it first")
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder: give the backup's file name")
    if not force and target.exists():
        raise BackupRefused(f"{target} exists; nothing written (--force replaces it)")


def _copy(database: Path, temporary: Path) -> tuple[int, int]:
    """The backup into `temporary`, checked; its job count and schema version."""
    # mode=ro: never make a new, empty database where the file is missing, never write to it.
    uri = f"{database.absolute().as_uri()}?mode=ro"
    try:
        source = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise BackupFailed(f"cannot open the database {database}: {exc}") from None
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as copy:
            try:
                source.backup(copy)
                # One self-contained file: the copy carries the database's WAL mode, in which
                # even a reader leaves -wal and -shm files beside it. The service turns WAL on
                # again when it opens a restored copy.
                copy.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error as exc:
                raise BackupFailed(f"cannot copy {database} to {temporary}: {exc}") from None
            return _check_copy(copy, database)
    finally:
        source.close()


def _check_copy(copy: sqlite3.Connection, database: Path) -> tuple[int, int]:
    try:
        (check,) = copy.execute("PRAGMA quick_check").fetchone()
        (schema,) = copy.execute("PRAGMA user_version").fetchone()
        (jobs,) = copy.execute("SELECT count(*) FROM jobs").fetchone()
    except sqlite3.Error as exc:
        raise BackupFailed(f"the copy of {database} cannot be read back: {exc}") from None
    if check != "ok":
        raise BackupFailed(f"the copy of {database} fails SQLite's check: {check}")
    return int(jobs), int(schema)


def _place(temporary: Path, target: Path, force: bool) -> None:
    """Give the copy its name: replacing FILE with `force`, else only while no FILE exists (a
    hard link fails rather than replace one made meanwhile)."""
    if force:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise BackupRefused(f"{target} exists; nothing written (--force replaces it)") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP):
            raise
        # A file system without hard links (vfat, some network shares): check, then rename.
        if target.exists():
            raise BackupRefused(f"{target} exists; nothing written (--force replaces it)") from None
        os.rename(temporary, target)
        return
    temporary.unlink()


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(result: BackupResult, database: Path) -> str:
    """The line `asyncpdf backup` prints."""
    return (
        f"{result.path}: {_size(result.size)}, {result.jobs} jobs, schema {result.schema} "
        f"(online backup of {database})"
    )


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / 1024 / 1024:.1f} MiB ({size:,} bytes)"
