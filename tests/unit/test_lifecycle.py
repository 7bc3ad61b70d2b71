"""The lifecycle's tables and decisions, as pure functions."""

from __future__ import annotations

import random

import pytest

from asyncpdf.domain.lifecycle import (
    DELIVERY_TRANSITIONS,
    JOB_TRANSITIONS,
    TERMINAL,
    DeliveryState,
    JobState,
    NoticeState,
    RetryPolicy,
    check_delivery,
    check_job,
    check_notice,
    job_outcome,
    retry_delay,
    still_to_send,
)
from asyncpdf.errors import IllegalTransition

D = DeliveryState


def test_every_state_has_a_row_and_terminal_states_lead_only_to_a_retry() -> None:
    assert set(JOB_TRANSITIONS) == set(JobState)
    assert set(DELIVERY_TRANSITIONS) == set(DeliveryState)
    retried = {JobState.DONE, JobState.FAILED}
    for state in TERMINAL:
        expected = {JobState.DELIVERING} if state in retried else set()
        assert JOB_TRANSITIONS[state] == expected
    assert DELIVERY_TRANSITIONS[D.SENT] == frozenset()
    assert DELIVERY_TRANSITIONS[D.FAILED] == {D.PENDING}


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (JobState.RECEIVED, JobState.DONE),
        (JobState.QUEUED, JobState.DELIVERING),
        (JobState.DELIVERING, JobState.REJECTED),
        (JobState.DONE, JobState.FAILED),
        (JobState.FAILED, JobState.QUEUED),
        # A duplicate is known once analysed, before anything is sent, and never goes on.
        (JobState.DELIVERING, JobState.DUPLICATE),
        (JobState.DUPLICATE, JobState.DELIVERING),
    ],
)
def test_illegal_job_transitions_raise(current: JobState, new: JobState) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current.value} to {new.value}"):
        check_job(current, new)


def test_the_happy_paths_are_allowed() -> None:
    path = [JobState.RECEIVED, JobState.QUEUED, JobState.ANALYSING, JobState.DELIVERING]
    for current, new in zip(path, [*path[1:], JobState.DONE], strict=True):
        check_job(current, new)
    check_job(JobState.ANALYSING, JobState.DUPLICATE)
    assert JobState.DUPLICATE.terminal
    for current, new in [(D.PENDING, D.SENDING), (D.SENDING, D.WAITING), (D.WAITING, D.SENDING)]:
        check_delivery(current, new)
    with pytest.raises(IllegalTransition):
        check_delivery(D.SENT, D.SENDING)
    with pytest.raises(IllegalTransition):
        check_delivery(D.WAITING, D.SENT)


def test_what_was_planned_once_is_never_planned_again() -> None:
    existing = {"bureau": D.SENT, "press Planeta": D.FAILED}
    planned = ["bureau", "press Planeta", "press Dominant"]
    assert still_to_send(planned, existing) == ["press Dominant"]
    assert still_to_send(planned, {}) == planned


def test_retry_delay_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (7, 300), (20, 300)]:
        delays = [retry_delay(attempt, 5, 300, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4, "no jitter"


@pytest.mark.parametrize(
    ("states", "previews", "outcome"),
    [
        ([D.SENT], True, (JobState.DONE, 0)),
        ([D.SENT, D.SENT], True, (JobState.DONE, 0)),
        ([D.SENT], False, None),
        ([D.SENT, D.WAITING], True, None),
        ([D.SENDING], True, None),
        ([D.FAILED, D.PENDING], True, None),
        ([D.FAILED, D.SENT], True, (JobState.FAILED, 1)),
        ([D.FAILED, D.FAILED], True, (JobState.FAILED, 2)),
    ],
)
def test_a_job_ends_only_when_nothing_is_left_to_do(
    states: list[DeliveryState], previews: bool, outcome: tuple[JobState, int] | None
) -> None:
    assert job_outcome(states, previews) == outcome


def test_notice_transitions_are_checked() -> None:
    check_notice(NoticeState.PENDING, NoticeState.SENDING)
    check_notice(NoticeState.SENDING, NoticeState.PENDING)  # its next attempt
    check_notice(NoticeState.FAILED, NoticeState.PENDING)  # the job ended again
    with pytest.raises(IllegalTransition, match="notice cannot go from sent to sending"):
        check_notice(NoticeState.SENT, NoticeState.SENDING)
    with pytest.raises(IllegalTransition):
        check_notice(NoticeState.PENDING, NoticeState.SENT)


def test_one_retry_policy_counts_attempts_made() -> None:
    """Deliveries and notices alike: after attempt n of N, a wait (none after the last), none
    at all for a permanent failure, never shorter than the other side asked for."""
    policy = RetryPolicy(attempts=3, backoff_s=10, max_delay_s=600)
    rng = random.Random(1)
    first = policy.next_in(1, rand=rng)
    second = policy.next_in(2, rand=rng)
    assert first is not None and 5 <= first <= 10
    assert second is not None and 10 <= second <= 20
    assert policy.next_in(3) is None
    assert policy.next_in(1, permanent=True) is None
    assert policy.next_in(1, at_least_s=120) == 120
