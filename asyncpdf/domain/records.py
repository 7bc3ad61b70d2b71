"""The records the store hands out: a job (its header, or with its analysis and artefacts),
one of its deliveries, one of its log lines."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from asyncpdf.domain.lifecycle import DeliveryState, JobState, NoticeState
from asyncpdf.pdf.model import Analysis, Artefacts
from asyncpdf.times import iso


@dataclass(frozen=True)
class JobHeader:
    """What lists, events and the spool need; cheap to read (no analysis to parse)."""

    id: int
    name: str
    state: JobState
    sha256: str | None
    size: int | None
    created_at: float
    updated_at: float
    finished_at: float | None
    error: str | None
    #: The file's own name, kept for it in done/ and error/: `name`, unless that had bytes
    #: which are not UTF-8 (then `name`, also its name in the spool, shows them as U+FFFD).
    file_name: str
    #: Warning lines in the job's log (fallbacks taken, retries, notifications not sent).
    warnings: int
    #: Made in import mode: recorded, nothing uploaded, only admins notified.
    imported: bool
    #: The job that delivered the same file first, when this one ended `duplicate`.
    duplicate_of: int | None
    #: The job this one runs again (after a config fix), when it is a rerun.
    rerun_of: int | None
    #: From the analysis, once made (None before): what the history grid shows and filters by.
    order: str | None
    bureau: str | None
    presses: tuple[str, ...]
    complects: int | None
    plates: int | None
    inks: tuple[str, ...]
    #: The hotfolder's sub-folder the file was saved in (`watch.recursive`), if any.
    subfolder: str | None
    #: When retention removed the original from done/ (`retention.done_days`).
    original_removed_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state.value,
            "sha256": self.sha256,
            "size": self.size,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "finished_at": iso(self.finished_at),
            "error": self.error,
            "warnings": self.warnings,
            "imported": self.imported,
            "duplicate_of": self.duplicate_of,
            "rerun_of": self.rerun_of,
            "order": self.order,
            "bureau": self.bureau,
            "presses": list(self.presses),
            "complects": self.complects,
            "plates": self.plates,
            "inks": list(self.inks),
            "subfolder": self.subfolder,
            "original_removed_at": iso(self.original_removed_at),
        }


@dataclass(frozen=True)
class Job(JobHeader):
    analysis: Analysis | None
    artefacts: Artefacts | None


@dataclass(frozen=True)
class Delivery:
    """One file to one target, and its receipt: where it went, how much, how long, how often."""

    job_id: int
    kind: str
    target: str
    state: DeliveryState
    attempts: int
    next_attempt_at: float | None
    error: str | None
    bytes: int | None
    seconds: float | None
    remote_name: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "state": self.state.value,
            "next_attempt_at": iso(self.next_attempt_at),
        }


@dataclass(frozen=True)
class Notification:
    """One notice of a job's end to one recipient, from the outbox: sent, waiting for its
    next attempt, or failed (a warning on the job, never a change of its result)."""

    id: int
    job_id: int
    channel: str
    address: str
    state: NoticeState
    attempts: int
    next_attempt_at: float | None
    error: str | None
    sent_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "next_attempt_at": iso(self.next_attempt_at),
            "sent_at": iso(self.sent_at),
        }


@dataclass(frozen=True)
class LogLine:
    job_id: int
    ts: float
    level: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ts": iso(self.ts)}


@dataclass(frozen=True)
class JobRow:
    """A job as the history grid and the live page show it: its header, its deliveries in
    brief, and links to its page and previews."""

    header: JobHeader
    has_previews: bool
    #: {"kind", "state", "attempts", "error"} per delivery, the bureau's first.
    deliveries: tuple[dict[str, Any], ...]
    #: The rerun that is done, when this job failed and was run again.
    fixed_by: int | None = None
    #: When the job a duplicate names was received.
    first_sent_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        job_id = self.header.id
        api = f"/api/jobs/{job_id}"
        return {
            **self.header.as_json(),
            "deliveries": list(self.deliveries),
            "fixed_by": self.fixed_by,
            "duplicate_of_at": iso(self.first_sent_at),
            "links": {
                "page": f"/jobs/{job_id}",
                "thumb": f"{api}/thumb.jpg" if self.has_previews else None,
                "proof": f"{api}/proof.jpg" if self.has_previews else None,
            },
        }
