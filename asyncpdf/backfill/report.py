"""What an import shows: a progress line while it runs, a summary at the end."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from asyncpdf.backfill.files import Found
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.journal import printable

# Counted as (the summary's and the progress bar's words):
DONE, DUPLICATE, FAILED, SKIPPED = "done", "duplicate", "failed", "skipped"
_COUNTED = (DONE, DUPLICATE, FAILED, SKIPPED)


class Progress:
    """Progress on a stream: on a terminal one line redrawn in place, otherwise a line every
    `step_percent` percent."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        tty: bool | None = None,
        step_percent: int = 5,
        width: int = 20,
    ) -> None:
        self.total = total
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._step = step_percent
        self._width = width
        self._next_percent = 0
        self._shown = False
        self._drawn_at = 0.0
        self._last = ""

    def line(self, finished: int, detail: str) -> str:
        filled = self._width * finished // self.total if self.total else self._width
        bar = "#" * filled + "." * (self._width - filled)
        return f"import: {finished}/{self.total} [{bar}] {detail}"

    def update(self, finished: int, detail: str) -> None:
        self._last = self.line(finished, detail)
        if self._tty:
            # A terminal gets at most ten redraws a second; the last one always.
            now = time.monotonic()
            if now - self._drawn_at >= 0.1 or finished >= self.total:
                self._draw()
                self._drawn_at = now
            return
        percent = 100 * finished // self.total if self.total else 100
        if percent >= self._next_percent:
            self._stream.write(self._last + "\n")
            self._stream.flush()
            self._next_percent = (percent // self._step + 1) * self._step

    def _draw(self) -> None:
        self._stream.write("\r" + self._last + "\x1b[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Take the line away (a log line is about to be written); the next update redraws."""
        if self._tty and self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False

    def finish(self) -> None:
        if self._tty and self._last:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()


class _ClearProgress(logging.Filter):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self._progress.clear()
        return True


@contextlib.contextmanager
def quiet_logs(progress: Progress) -> Iterator[None]:
    """Each job's log lines are in the database (and the summary); on the console they would
    bury the progress. Warnings still show, with the progress line out of their way."""
    jobs = logging.getLogger("asyncpdf.jobs")
    level = jobs.level
    jobs.setLevel(logging.WARNING)
    handlers = list(logging.getLogger().handlers)
    clearing = _ClearProgress(progress)
    for handler in handlers:
        handler.addFilter(clearing)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(clearing)
        jobs.setLevel(level)


@dataclass(frozen=True)
class Outcome:
    path: Path
    #: done | duplicate | failed | rejected | skipped
    result: str
    reason: str | None = None
    job_id: int | None = None

    @property
    def counted_as(self) -> str:
        return FAILED if self.result == JobState.REJECTED.value else self.result


class Report:
    def __init__(self, folder: Path, found: Found) -> None:
        self.folder = folder
        self.total = found.total
        self.outcomes: list[Outcome] = [
            Outcome(path, SKIPPED, reason) for path, reason in found.skipped
        ]
        self.counts: Counter[str] = Counter(SKIPPED for _ in found.skipped)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.counts[outcome.counted_as] += 1

    @property
    def finished(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> bool:
        return self.counts[FAILED] > 0

    def counted(self) -> str:
        return ", ".join(f"{word} {self.counts[word]}" for word in _COUNTED)

    def shown(self, path: Path) -> str:
        """The path below DIR, as text that cannot garble the terminal."""
        relative = path.relative_to(self.folder) if path.is_relative_to(self.folder) else path
        return printable(os.fsencode(relative).decode("utf-8", "replace"))

    def summary(self, interrupted: str | None = None) -> list[str]:
        where = printable(os.fsencode(self.folder).decode("utf-8", "replace"))
        lines = [f"import of {where}: {self.total} file(s): {self.counted()}"]
        for outcome in sorted(self.outcomes, key=lambda o: o.path):
            if outcome.result == DONE:
                continue
            job = f" (job {outcome.job_id})" if outcome.job_id is not None else ""
            reason = printable(outcome.reason or "no reason recorded")
            lines.append(f"{outcome.result:<9} {self.shown(outcome.path)}{job}: {reason}")
        if interrupted is not None:
            lines.append(
                f"interrupted by {interrupted}: {self.total - self.finished} of {self.total} "
                "file(s) not finished; run the same command again to continue (files already "
                "imported are skipped, jobs under way resume)"
            )
        return lines
