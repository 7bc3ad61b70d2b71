"""What every uploader is: one object per URL scheme that streams a file to a target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Delivered:
    """The receipt of one upload."""

    remote_name: str
    bytes: int
    seconds: float


class Uploader(Protocol):
    """Streams `source` from disk to the folder of `url` as `remote_name`, under a temporary
    name renamed when complete; raises DeliveryError with a reason a person can act on."""

    async def upload(self, url: str, source: Path, remote_name: str) -> Delivered: ...
