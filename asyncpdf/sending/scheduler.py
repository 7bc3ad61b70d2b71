"""The delivery scheduler: one task that sends every due delivery, bureau copies first, a
bounded number at a time. A failed attempt waits in the database (`waiting`, with its
`next_attempt_at`: exponential backoff with jitter) instead of in a job task, so an FTP outage
ties up nothing; after the last attempt the delivery is `failed`. Waiting deliveries are picked
up again after a restart like any other. Each target takes at most its own `connections` at
once and a failing one is backed off as a whole (`gates.py`): its rows wait in the database,
holding no shared slot.

A delivery planned while its target and a slot are free is not left for the loop's next turn:
`start_now` marks it as being sent in the transaction that plans it, and it goes once that has
committed, with its plan in hand (a burst's bureau copies go as they are routed).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from asyncpdf.delivery import Delivered, deliver
from asyncpdf.domain.lifecycle import DeliveryState, RetryPolicy, in_seconds
from asyncpdf.domain.records import Delivery
from asyncpdf.errors import AsyncPdfError, DeliveryError, IllegalTransition
from asyncpdf.health import Health
from asyncpdf.journal import Change, Journal, Write
from asyncpdf.pipeline import steps
from asyncpdf.pipeline.held import Held
from asyncpdf.sending.due import DueWork
from asyncpdf.sending.gates import Gates
from asyncpdf.sending.targets import Targets
from asyncpdf.store import Store
from asyncpdf.store.log import DETAIL
from asyncpdf.times import iso

log = logging.getLogger(__name__)

#: Progress of a transfer that has taken longer than this is shown in the live log too.
PROGRESS_LIVE_AFTER_S = 2.0
PlanFor = Callable[[Delivery], Awaitable[steps.Plan]]


class DeliveryScheduler(DueWork[Delivery]):
    def __init__(
        self,
        ctx: steps.Context,
        store: Store,
        journal: Journal,
        plan_for: PlanFor,
        settled: Callable[[int], Awaitable[None]],
        targets: Targets,
        held: Held | None = None,
    ) -> None:
        super().__init__("delivery-scheduler", ctx.settings.delivery.parallel)
        self._settings = ctx.settings.delivery
        self._ctx = ctx
        self._retries = RetryPolicy(
            self._settings.attempts, self._settings.backoff_s, self._settings.max_delay_s
        )
        self._store = store
        self._journal = journal
        self._plan_for = plan_for
        self._settled = settled
        self.targets = targets
        self.gates = Gates(
            self._settings.backoff_s, self._settings.max_delay_s, self._settings.parallel
        )
        self._held = held
        #: Deliveries handed to a task that has not yet marked them as being sent.
        self._starting: set[tuple[int, str]] = set()
        #: Bureau copies handed to a task and not yet sent (or failed).
        self._bureau_in_work = 0
        #: Why a task could not mark its delivery (the database refused): raised by the loop.
        self._refused: sqlite3.Error | None = None

    def health(self) -> Health:
        running = super().health()
        if not running.ok:
            return running
        detail = running.detail
        if failing := self.targets.failing():
            detail += f"; failing: {', '.join(failing)}"
        # A target that is down is not the service failing: it is named, and it waits.
        return Health(True, detail, {"targets": self.target_records()})

    def target_records(self) -> dict[str, dict[str, object]]:
        """Each target's record with its gate (connections, backoff, failing since)."""
        targets = self.targets.as_json()
        for record in targets.values():
            record.update(self.gates.as_json(str(record["url"])))
        return targets

    async def _due(self, now: float, limit: int) -> list[Delivery]:
        if self._refused is not None:
            # A task could not mark its delivery as being sent: the loop stops, as it would
            # have had it written the mark itself, and the supervisor starts it again later.
            refused, self._refused = self._refused, None
            raise refused
        # Rows of targets that may take nothing now stay in the database, holding no slot.
        rows = await self._store.deliveries.due(
            now, limit + len(self._starting), self.gates.closed(now)
        )
        rows = [row for row in rows if (row.job_id, row.kind) not in self._starting]
        return self.gates.admit(rows, now, limit)

    async def bureau_busy(self) -> bool:
        """Whether a bureau copy is being sent, or is due to a target that is not failing (a
        failing bureau's copies wait for their target, and hold nothing else up)."""
        if self._bureau_in_work:
            return True
        now = time.time()
        skip = self.gates.closed(now) | self.gates.failing()
        return await self._store.deliveries.due_of_kind(steps.BUREAU, now, skip)

    async def _next_due_at(self) -> float | None:
        now = time.time()
        due_at = await self._store.deliveries.next_due_at(self.gates.closed(now))
        probe_at = self.gates.next_probe_at(now)
        return min((t for t in (due_at, probe_at) if t is not None), default=None)

    async def start_now(
        self, change: Change, planned: Sequence[tuple[Delivery, steps.Plan]]
    ) -> None:
        """Of deliveries just added in `change`, mark those that their target and a slot can
        take now as being sent, in the same transaction, and send each once it has committed;
        the others wait in the database for the loop."""
        now = time.time()
        plans = {(d.job_id, d.kind): plan for d, plan in planned}
        taken: list[Delivery] = []
        for delivery in self.gates.admit([d for d, _ in planned], now, len(planned)):
            if not self._reserve():
                break
            self._enter(delivery)
            taken.append(delivery)
        if not taken:
            return

        def give_back() -> None:
            for delivery in taken:
                self._leave(delivery)
                self._give_back()

        change.on_rollback(give_back)
        sending = await change.store.deliveries.start_all(taken)
        for delivery in sending:
            await change.log(delivery.job_id, self._sending_line(delivery))

        def launch() -> None:
            for delivery in sending:
                plan = plans[delivery.job_id, delivery.kind]
                self._launch(self._gated(delivery, plan))

        change.after_commit(launch)

    def _enter(self, delivery: Delivery) -> None:
        self.gates.enter(delivery.target)
        if delivery.kind == steps.BUREAU:
            self._bureau_in_work += 1

    def _leave(self, delivery: Delivery) -> None:
        self.gates.leave(delivery.target)
        if delivery.kind == steps.BUREAU:
            self._bureau_in_work -= 1

    def _sending_line(self, delivery: Delivery) -> str:
        return (
            f"{delivery.kind}: sending “{delivery.remote_name}” to {delivery.target} "
            f"(attempt {delivery.attempts} of {self._settings.attempts})"
        )

    async def _begin(self, delivery: Delivery) -> Coroutine[Any, Any, None]:
        [work] = await self._begin_all([delivery])
        return work

    async def _begin_all(self, due: list[Delivery]) -> list[Coroutine[Any, Any, None]]:
        """Each due delivery to a task of its own, which marks it as being sent before it
        sends it: the marks of deliveries started together share a transaction, and this loop
        never waits for the database's one writer, busy with a burst's analyses."""
        for delivery in due:
            self._enter(delivery)
            self._starting.add((delivery.job_id, delivery.kind))
        return [self._gated(delivery) for delivery in due]

    async def _mark_sending(self, delivery: Delivery) -> Delivery | None:
        """The delivery as marked being sent; None when it changed meanwhile (retried by
        hand, its job deleted) or the database refused the mark (the row stays due)."""
        marked: list[Delivery] = []

        async def begin(change: Change) -> None:
            marked[:] = [
                await change.store.deliveries.move(
                    delivery, DeliveryState.SENDING, attempts=delivery.attempts + 1
                )
            ]
            await change.log(delivery.job_id, self._sending_line(marked[0]))

        try:
            await self._journal.grouped(begin)
        except IllegalTransition as exc:
            log.info("job %d: %s: not sent: %s", delivery.job_id, delivery.kind, exc)
            return None
        except sqlite3.Error as exc:
            self._refused = exc
            return None
        finally:
            self._starting.discard((delivery.job_id, delivery.kind))
        return marked[0]

    async def _gated(self, delivery: Delivery, plan: steps.Plan | None = None) -> None:
        """Send a due delivery, marked as being sent here; or, with its `plan`, one that was
        marked as it was planned (`start_now`)."""
        write: Write | None = None
        try:
            sending = delivery if plan is not None else await self._mark_sending(delivery)
            if sending is not None:
                write = await self._attempt(sending, plan)
        finally:
            # The target's connection and the slot are free once the transfer is over: the
            # next delivery need not wait for this one's receipt to be written.
            self._leave(delivery)
            self._free_slot()
        if write is not None:
            await self._record(delivery, write)

    async def _attempt(self, delivery: Delivery, plan: steps.Plan | None = None) -> Write:
        """Send the delivery once (by `plan`, else as its row says); what to write of how it
        went."""
        job_id, kind = delivery.job_id, delivery.kind
        try:
            plan = plan or await self._plan_for(delivery)
            self.targets.seen(plan.target, plan.shown_target)
            if plan.shown_target != delivery.target:
                delivery = await self._retarget(delivery, plan.shown_target)
            started = time.monotonic()

            async def progress(percent: int) -> None:
                # A quick transfer's progress is for the job's log only, not the live log.
                slow = time.monotonic() - started > PROGRESS_LIVE_AFTER_S
                await self._journal.log(
                    job_id, f"{kind}: {percent} % sent", "info" if slow else DETAIL
                )

            async with self._ctx.stage("delivery"):
                sent = await deliver(
                    plan.url,
                    plan.source,
                    plan.remote_name,
                    self._settings.existing,
                    progress=progress,
                )
        except DeliveryError as exc:
            if plan is not None:
                self.targets.failed(plan.target, str(exc))
            if exc.permanent:
                write = self._failed(delivery, str(exc))
            else:
                probe_at = await self._back_off(delivery.target, str(exc))
                write = self._retry_or_fail(delivery, str(exc), probe_at)
        except AsyncPdfError as exc:
            write = self._failed(delivery, str(exc))
        except Exception as exc:
            log.exception("job %d: %s: internal error", job_id, kind)
            write = self._failed(delivery, f"internal error: {exc!r}")
        else:
            self.targets.sent(plan.target, sent.bytes)
            self.gates.sent(delivery.target)
            write = self._receipt(delivery, sent)
        return write

    async def _record(self, delivery: Delivery, write: Write) -> None:
        """Write what came of the attempt, then let the job end if it was its last; should
        the database refuse, it is held and written once the database takes writes again."""

        async def record() -> None:
            await self._journal.grouped(write)
            await self._settled(delivery.job_id)

        try:
            await record()
        except sqlite3.Error as exc:
            if self._held is None:
                raise
            self._held.hold(f"job {delivery.job_id}: {delivery.kind}", record, exc)
        except Exception:
            log.exception("job %d: %s: could not be recorded", delivery.job_id, delivery.kind)

    def _receipt(self, delivery: Delivery, sent: Delivered) -> Write:
        job_id, kind = delivery.job_id, delivery.kind

        async def receipt(change: Change) -> None:
            await change.store.deliveries.move(
                delivery,
                DeliveryState.SENT,
                error=None,
                bytes=sent.bytes,
                seconds=sent.seconds,
                remote_name=sent.remote_name,
            )
            change.touched(job_id)
            await change.log(
                job_id, f"{kind}: delivered {sent.bytes} bytes in {sent.seconds:.2f} s"
            )
            if sent.remote_name != delivery.remote_name:
                await change.log(
                    job_id,
                    f"{kind}: another file is called {delivery.remote_name!r} at the "
                    f"target; delivered as {sent.remote_name!r}",
                    "warning",
                )

        return receipt

    async def _retarget(self, delivery: Delivery, target: str) -> Delivery:
        """The config names another target than the row: the row and the log say so."""
        async with self._journal.change() as change:
            moved = await change.store.deliveries.retarget(delivery, target)
            change.touched(delivery.job_id)
            await change.log(
                delivery.job_id,
                f"{delivery.kind}: the target changed in the config, from {delivery.target} "
                f"to {target}",
                "warning",
            )
        return moved

    async def _back_off(self, target: str, reason: str) -> float:
        """The whole target waits until the returned time; every delivery held for it says
        why on its job's page."""
        was_failing = self.gates.is_failing(target)
        probe_at = self.gates.failed(target, reason)
        note = f"waiting: {target} is failing ({reason}); next try at {iso(probe_at)}"
        async with self._journal.change() as change:
            held = await change.store.deliveries.note_held(target, note)
            # Pages are told when the target starts failing, not at every probe after.
            for job_id in () if was_failing else held:
                change.touched(job_id)
        return probe_at

    def _retry_or_fail(self, delivery: Delivery, reason: str, probe_at: float) -> Write:
        # Not before its target may be tried again: the log says when it really goes.
        delay = self._retries.next_in(delivery.attempts, at_least_s=probe_at - time.time())
        if delay is None:
            return self._failed(delivery, f"{reason} (gave up after {delivery.attempts} attempts)")

        async def waiting(change: Change) -> None:
            await change.store.deliveries.move(
                delivery,
                DeliveryState.WAITING,
                error=reason,
                next_attempt_at=time.time() + delay,
            )
            change.touched(delivery.job_id)
            await change.log(
                delivery.job_id,
                f"{delivery.kind}: {reason}; next attempt in {in_seconds(delay)}",
                "warning",
            )

        return waiting

    def _failed(self, delivery: Delivery, reason: str) -> Write:
        async def failed(change: Change) -> None:
            await change.store.deliveries.move(delivery, DeliveryState.FAILED, error=reason)
            change.touched(delivery.job_id)
            await change.log(delivery.job_id, f"{delivery.kind}: failed: {reason}", "error")

        return failed
