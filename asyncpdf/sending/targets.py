"""Each delivery target's record since the start: files and bytes sent, when it last took a
file, how many attempts in a row it has failed and why. Shown by /readyz and /metrics, so a
bureau's FTP that stopped taking files is seen before anyone phones."""

from __future__ import annotations

import time
from dataclasses import dataclass

from asyncpdf.metrics import Metrics
from asyncpdf.times import iso


@dataclass
class TargetRecord:
    #: The target's URL as shown (no password), as the last attempt read it from the config.
    url: str = ""
    files: int = 0
    bytes: int = 0
    last_sent_at: float | None = None
    failures_in_a_row: int = 0
    last_error: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "files_sent": self.files,
            "bytes_sent": self.bytes,
            "last_sent_at": iso(self.last_sent_at),
            "failures_in_a_row": self.failures_in_a_row,
            "last_error": self.last_error,
        }


class Targets:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._records: dict[str, TargetRecord] = {}

    def _record(self, target: str) -> TargetRecord:
        return self._records.setdefault(target, TargetRecord())

    def seen(self, target: str, url: str) -> None:
        """An attempt goes to `target` at `url`: its series exist, at zero until it takes a
        file, so a target that never succeeded is seen too."""
        self._record(target).url = url
        self._metrics.target_files.labels(target=target).inc(0)
        self._metrics.target_bytes.labels(target=target).inc(0)

    def sent(self, target: str, size: int) -> None:
        record = self._record(target)
        record.files += 1
        record.bytes += size
        record.last_sent_at = time.time()
        record.failures_in_a_row = 0
        record.last_error = None
        self._metrics.target_files.labels(target=target).inc()
        self._metrics.target_bytes.labels(target=target).inc(size)
        self._metrics.target_last_sent.labels(target=target).set(record.last_sent_at)
        self._metrics.target_failures.labels(target=target).set(0)

    def failed(self, target: str, reason: str) -> None:
        record = self._record(target)
        record.failures_in_a_row += 1
        record.last_error = reason
        self._metrics.target_failures.labels(target=target).set(record.failures_in_a_row)

    def failing(self) -> list[str]:
        return sorted(name for name, record in self._records.items() if record.failures_in_a_row)

    def as_json(self) -> dict[str, dict[str, object]]:
        return {name: record.as_json() for name, record in sorted(self._records.items())}
