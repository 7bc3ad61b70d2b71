"""What the FTP and SFTP uploaders share: a URL's options parsed (a bad one fails for good,
naming the target without its password), then one transfer per upload, whose final name is
chosen one delivery at a time per folder (`Places`)."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, Protocol, TypeVar

from asyncpdf.delivery.base import Delivered, Existing, Progress, redact
from asyncpdf.delivery.places import Places
from asyncpdf.errors import DeliveryError


class Transfer(Protocol):
    async def prepare(self) -> None: ...

    async def run(self, remote_name: str, existing: Existing) -> Delivered: ...


class RemoteOptions(Protocol):
    @property
    def existing(self) -> Existing | None: ...


OptionsT = TypeVar("OptionsT", bound=RemoteOptions)


class RemoteUploader(Generic[OptionsT]):
    def __init__(self) -> None:
        self._places = Places()

    def _options(self, url: str) -> OptionsT:
        """The URL's options; ValueError naming the option it cannot take."""
        raise NotImplementedError

    def _transfer(
        self, options: OptionsT, shown: str, source: Path, progress: Progress | None, places: Places
    ) -> Transfer:
        raise NotImplementedError

    def check(self, url: str) -> None:
        self._options(url)

    async def upload(
        self,
        url: str,
        source: Path,
        remote_name: str,
        existing: Existing,
        *,
        progress: Progress | None = None,
    ) -> Delivered:
        shown = redact(url)
        try:
            options = self._options(url)
        except ValueError as exc:
            raise DeliveryError(f"{shown}: {exc}", permanent=True) from None
        transfer = self._transfer(options, shown, source, progress, self._places)
        await transfer.prepare()
        return await transfer.run(remote_name, options.existing or existing)
