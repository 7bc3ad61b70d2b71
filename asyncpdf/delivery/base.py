"""What every uploader is: one object per URL scheme that streams a file to a target."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class Existing(StrEnum):
    """What to do when the target already has a file of the delivered name (not one with the
    same content, which counts as delivered): give the new one a distinct name, fail the
    delivery with the reason, or replace it (the job log says so)."""

    RENAME = "rename"
    FAIL = "fail"
    REPLACE = "replace"


@dataclass(frozen=True)
class Delivered:
    """The receipt of one upload."""

    remote_name: str
    bytes: int
    seconds: float


class Uploader(Protocol):
    """Streams `source` from disk to the folder of `url` as `remote_name`, under a temporary
    name renamed when complete, minding `existing`; raises DeliveryError with a reason a
    person can act on. The receipt names the file as it was finally called."""

    async def upload(
        self, url: str, source: Path, remote_name: str, existing: Existing
    ) -> Delivered: ...
