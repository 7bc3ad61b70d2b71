"""Staging folders in the spool: a file that does not come through the hotfolder (imported,
uploaded, run again) is copied into one, then claimed from it as a dropped file is. Hidden
(the spool's job folders are numbers), one per file, because a claim removes the folder it
took its file from; any left by a stop are removed at the next start."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from pathlib import Path

STAGING_PREFIX = ".staging-"
_CHUNK = 1 << 20


def new_staging(spool: Path) -> Path:
    """A name for a new staging folder (not made yet)."""
    return spool / f"{STAGING_PREFIX}{secrets.token_hex(8)}"


def copy_to_staging(source: Path, staging: Path, name: str | None = None) -> tuple[Path, str]:
    """Copy the plain file `source` into the new folder `staging` as `name` (by default its
    own), keeping its mtime (an imported job is dated by it); return the copy and the
    checksum of what was copied. The source is opened without following a link and never
    written."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as reader:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise OSError(f"{source.name}: not a plain file")
        staging.mkdir()
        target = staging / (name or source.name)
        digest = hashlib.sha256()
        with target.open("xb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            # The job's file (later kept in done/) must be on disk before the job says done.
            os.fsync(writer.fileno())
    os.utime(target, ns=(found.st_atime_ns, found.st_mtime_ns))
    return target, digest.hexdigest()


def remove_staging(spool: Path, only: Path | None = None) -> int:
    """Remove the staging folder `only`, or every one (left by an interrupted run: nothing in
    them was claimed, the claim takes a file out). Return how many were removed."""
    folders = [only] if only is not None else list(spool.glob(f"{STAGING_PREFIX}*"))
    removed = 0
    for folder in folders:
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
