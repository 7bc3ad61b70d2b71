"""The one bus events go out through: numbered job log lines and job changes, to websocket
clients, as the journal commits them.

The newest events are kept in memory, so a client that reconnects soon gets what it missed
without a query. Each subscriber has its own bounded queue; one that falls so far behind that
its queue is full is dropped (told by `dropped`), never waited for, so a slow or stuck client
cannot slow the service or the others. It reconnects and catches up from its last number.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

Event = dict[str, Any]
#: Events kept in memory for clients catching up.
RECENT = 2000


class Subscription:
    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.dropped = asyncio.Event()


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._recent: deque[Event] = deque(maxlen=RECENT)
        #: The number of the last event published (or stored before a restart).
        self.last_seq = 0

    def start_at(self, seq: int) -> None:
        """Continue the numbering where the stored events end."""
        self.last_seq = max(self.last_seq, seq)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        self.last_seq = event["seq"]
        self._recent.append(event)
        for subscription in list(self._subscribers):
            if subscription.queue.full():
                self._subscribers.discard(subscription)
                subscription.dropped.set()
            else:
                subscription.queue.put_nowait(event)

    def recent_after(self, seq: int) -> list[Event] | None:
        """The events after `seq` from memory; None when memory no longer holds them all."""
        if seq >= self.last_seq:
            return []
        if not self._recent or self._recent[0]["seq"] > seq + 1:
            return None
        return [event for event in self._recent if event["seq"] > seq]
