"""Which target may take another delivery now: a target holds only its own deliveries.

Each target (a delivery row's target, as shown) sends at most its `connections=` at once
(default 2; a `file://` folder as many as `delivery.parallel`). A target whose attempt failed
(it refused, cut or never answered) is backed off as a whole: its deliveries stay in the
database until its next probe is due, then one goes, alone; the first that is sent opens the
target again. The scheduler asks before it takes a row, so a delivery whose target is full or
backed off never holds one of the shared slots, and a hung bureau cannot starve the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from asyncpdf.domain.lifecycle import retry_delay
from asyncpdf.times import iso

DEFAULT_CONNECTIONS = 2


class _Row(Protocol):
    @property
    def target(self) -> str: ...


R = TypeVar("R", bound=_Row)


def connections_of(target: str, parallel: int) -> int:
    """The target's `connections=` option (the config has checked it), else the default; a
    `file://` target (a folder, not a server with a limit of logins) takes as many as
    `delivery.parallel` allows."""
    parts = urlsplit(target)
    if parts.scheme == "file":
        return parallel
    given = parse_qs(parts.query).get("connections")
    return int(given[0]) if given and given[0].isdigit() else DEFAULT_CONNECTIONS


@dataclass
class Gate:
    connections: int
    sending: int = 0
    failures: int = 0
    #: While failing: when the next probe may go.
    retry_at: float = 0.0
    reason: str | None = None
    #: When the run of failures began (the page says "failing since").
    failing_since: float = 0.0

    def room(self, now: float) -> int:
        """How many more deliveries may start now."""
        if self.failures:
            return 1 if self.sending == 0 and now >= self.retry_at else 0
        return max(0, self.connections - self.sending)

    def as_json(self) -> dict[str, object]:
        state = "ok" if not self.failures else "failing"
        return {
            "state": state,
            "connections": self.connections,
            "sending": self.sending,
            "next_probe_at": iso(self.retry_at) if self.failures else None,
            "failing_since": iso(self.failing_since) if self.failures else None,
        }


class Gates:
    def __init__(self, backoff_s: float, max_delay_s: float, parallel: int) -> None:
        self._parallel = parallel
        self._backoff_s = backoff_s
        self._max_delay_s = max_delay_s
        self._gates: dict[str, Gate] = {}

    def _gate(self, target: str) -> Gate:
        gate = self._gates.get(target)
        if gate is None:
            gate = self._gates[target] = Gate(connections_of(target, self._parallel))
        return gate

    def closed(self, now: float) -> set[str]:
        """Targets that may start nothing now: their rows are not even read."""
        return {target for target, gate in self._gates.items() if not gate.room(now)}

    def next_probe_at(self, now: float) -> float | None:
        """The soonest a backed-off target, idle now, may be probed, if that is to come (once
        it has come, the target's rows are due by their own times)."""
        times = [
            g.retry_at
            for g in self._gates.values()
            if g.failures and not g.sending and g.retry_at > now
        ]
        return min(times, default=None)

    def admit(self, rows: Iterable[R], now: float, limit: int) -> list[R]:
        """Of `rows` (in the order they are due), those that may start now, at most `limit`."""
        room: dict[str, int] = {}
        taken: list[R] = []
        for row in rows:
            if len(taken) >= limit:
                break
            left = room.get(row.target)
            if left is None:
                left = self._gate(row.target).room(now)
            if left > 0:
                taken.append(row)
            room[row.target] = left - 1
        return taken

    def enter(self, target: str) -> None:
        self._gate(target).sending += 1

    def leave(self, target: str) -> None:
        self._gate(target).sending -= 1

    def sent(self, target: str) -> None:
        gate = self._gate(target)
        gate.failures, gate.retry_at, gate.reason, gate.failing_since = 0, 0.0, None, 0.0

    def failed(self, target: str, reason: str) -> float:
        """Back the target off after a failed attempt; returns when it may be probed."""
        gate = self._gate(target)
        if not gate.failures:
            gate.failing_since = time.time()
        gate.failures += 1
        gate.reason = reason
        gate.retry_at = time.time() + retry_delay(gate.failures, self._backoff_s, self._max_delay_s)
        return gate.retry_at

    def failing(self) -> set[str]:
        """Targets backed off after a failure."""
        return {target for target, gate in self._gates.items() if gate.failures}

    def is_failing(self, target: str) -> bool:
        gate = self._gates.get(target)
        return gate is not None and gate.failures > 0

    def as_json(self, target: str) -> dict[str, object]:
        return self._gate(target).as_json()
