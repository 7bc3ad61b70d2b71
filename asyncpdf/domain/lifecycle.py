"""The lifecycle of jobs, deliveries and notices: their states, the transitions allowed
between them, and the decisions that follow from them (what is still to send, when to try
again, when a job is finished). Pure: the store checks every state change here before its
guarded update.

    job:       received → queued → analysing → delivering → done
                  │          │         │    ↘ rejected        ↘ failed
                  │          │         │    ↘ duplicate (of a job delivered before)
                  ├──────────┴─────────┴──→ failed
                  └─→ rejected (not a plain file)
               done, failed → delivering: its failed deliveries retried on request
    delivery:  pending → sending → sent
                  ↑         ↓  ↑ ↘ failed
                  │       waiting    │
                  └──────────────────┘ (retried on request)
    notice:    pending → sending → sent
                  ↑         ↓    ↘ failed
                  └─────────┘ (its next attempt, or cut off by a stop)
               sent, failed → pending: the job ended again (its deliveries retried)
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from asyncpdf.errors import IllegalTransition

_RANDOM = random.Random()


class JobState(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    ANALYSING = "analysing"
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    WAITING = "waiting"
    SENT = "sent"
    FAILED = "failed"

    @property
    def settled(self) -> bool:
        return self in (DeliveryState.SENT, DeliveryState.FAILED)


class NoticeState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


TERMINAL = frozenset({JobState.DONE, JobState.FAILED, JobState.REJECTED, JobState.DUPLICATE})
UNFINISHED = tuple(s for s in JobState if s not in TERMINAL)

JOB_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    # RECEIVED → REJECTED: what the claim brought in is not a plain file.
    JobState.RECEIVED: frozenset({JobState.QUEUED, JobState.FAILED, JobState.REJECTED}),
    # An interrupted analysis is queued again at start-up.
    JobState.QUEUED: frozenset({JobState.ANALYSING, JobState.FAILED}),
    JobState.ANALYSING: frozenset(
        {
            JobState.QUEUED,
            JobState.DELIVERING,
            JobState.FAILED,
            JobState.REJECTED,
            JobState.DUPLICATE,
        }
    ),
    JobState.DELIVERING: frozenset({JobState.DONE, JobState.FAILED}),
    JobState.DONE: frozenset({JobState.DELIVERING}),
    JobState.FAILED: frozenset({JobState.DELIVERING}),
    JobState.REJECTED: frozenset(),
    JobState.DUPLICATE: frozenset(),
}

DELIVERY_TRANSITIONS: Mapping[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.SENDING, DeliveryState.FAILED}),
    # SENDING → PENDING: interrupted by a restart, the file goes again in full.
    DeliveryState.SENDING: frozenset(
        {DeliveryState.SENT, DeliveryState.WAITING, DeliveryState.FAILED, DeliveryState.PENDING}
    ),
    DeliveryState.WAITING: frozenset({DeliveryState.SENDING, DeliveryState.FAILED}),
    DeliveryState.SENT: frozenset(),
    DeliveryState.FAILED: frozenset({DeliveryState.PENDING}),
}


NOTICE_TRANSITIONS: Mapping[NoticeState, frozenset[NoticeState]] = {
    NoticeState.PENDING: frozenset({NoticeState.SENDING, NoticeState.PENDING}),
    NoticeState.SENDING: frozenset({NoticeState.SENT, NoticeState.PENDING, NoticeState.FAILED}),
    NoticeState.SENT: frozenset({NoticeState.PENDING}),
    NoticeState.FAILED: frozenset({NoticeState.PENDING}),
}


def check_job(current: JobState, new: JobState) -> None:
    if new not in JOB_TRANSITIONS[current]:
        raise IllegalTransition(f"a job cannot go from {current.value} to {new.value}")


def check_delivery(current: DeliveryState, new: DeliveryState) -> None:
    if new not in DELIVERY_TRANSITIONS[current]:
        raise IllegalTransition(f"a delivery cannot go from {current.value} to {new.value}")


def check_notice(current: NoticeState, new: NoticeState) -> None:
    if new not in NOTICE_TRANSITIONS[current]:
        raise IllegalTransition(f"a notice cannot go from {current.value} to {new.value}")


def still_to_send(planned: Iterable[str], existing: Mapping[str, DeliveryState]) -> list[str]:
    """The planned deliveries (by kind) that have no row yet: one already made, whatever its
    state, is never planned again, so nothing is sent twice when a job resumes."""
    return [kind for kind in planned if kind not in existing]


def retry_delay(
    attempt: int, base_s: float, max_s: float, rand: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential, capped at
    `max_s`, with jitter so that deliveries failing together do not retry together."""
    ceiling = min(max_s, base_s * 2.0 ** (attempt - 1))
    jitter = (rand or _RANDOM).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


@dataclass(frozen=True)
class RetryPolicy:
    """When a delivery or a notice is tried again: after each failed attempt but the last,
    `retry_delay` (doubled from `backoff_s`, capped at `max_delay_s`, with jitter)."""

    attempts: int
    backoff_s: float
    max_delay_s: float

    def next_in(
        self,
        made: int,
        *,
        permanent: bool = False,
        at_least_s: float = 0.0,
        rand: random.Random | None = None,
    ) -> float | None:
        """Seconds until the next attempt, after `made` attempts (the failed one included),
        or None when there is to be none: the failure is `permanent` or the attempts are
        spent. `at_least_s`: what the other side asked to be left alone for."""
        if permanent or made >= self.attempts:
            return None
        return max(at_least_s, retry_delay(made, self.backoff_s, self.max_delay_s, rand))


def in_seconds(delay: float) -> str:
    """A wait as a person reads it: "0.4 s", "12 s"."""
    return f"{delay:.1f} s" if delay < 10 else f"{delay:.0f} s"


def job_outcome(
    deliveries: Iterable[DeliveryState], previews_done: bool
) -> tuple[JobState, int] | None:
    """A delivering job's final state once nothing is left to do for it, with the number of
    deliveries that finally failed; None while previews are being made or a delivery is still
    pending, sending or waiting."""
    states = list(deliveries)
    if not previews_done or not all(state.settled for state in states):
        return None
    failed = sum(state is DeliveryState.FAILED for state in states)
    return (JobState.FAILED if failed else JobState.DONE), failed
