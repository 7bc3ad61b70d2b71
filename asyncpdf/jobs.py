"""Job states and the records the store hands out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    ANALYSING = "analysing"
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({State.DONE, State.FAILED, State.REJECTED})
UNFINISHED = tuple(s for s in State if s not in TERMINAL)


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    state: State
    sha256: str | None
    size: int | None
    created_at: float
    updated_at: float
    finished_at: float | None
    analysis: dict[str, Any] | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state.value,
            "sha256": self.sha256,
            "size": self.size,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass(frozen=True)
class Delivery:
    kind: str
    target: str
    status: str
    attempts: int
    error: str | None
    bytes: int | None
    seconds: float | None
    remote_name: str | None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LogLine:
    job_id: int
    ts: float
    level: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
