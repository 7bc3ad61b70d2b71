"""How many connections the web side may hold: bounded by the config and by a share of the
open-files limit, so idle clients can never take the descriptors the jobs need, and per client
address, so one client cannot take them all; how long a connection may take to send its
request head, and stay idle; and the listening site that keeps to all of it."""

from __future__ import annotations

import asyncio
import resource
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from asyncpdf.config import Web

#: Connections (websockets included) may take this share of the open-files limit, websockets
#: this share of it: the rest is the jobs', the database's, the pool's and Ghostscript's.
CONNECTIONS_SHARE = 0.625
WEBSOCKETS_SHARE = 0.375
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_HEAD_END = b"\r\n\r\n"


def within_open_files(configured: int, share: float) -> int:
    """`configured`, but at most `share` of the (soft) open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return min(configured, int(soft * share))


def _refuse(transport: asyncio.WriteTransport) -> None:
    """One connection too many: a 503 and closed at once, its descriptor given back."""
    transport.write(_BUSY)
    transport.close()


@dataclass(frozen=True)
class ConnectionLimits:
    """What one listening site holds: `total` connections at once, `per_address` of them from
    one client address; a new connection's first request head must arrive within
    `header_timeout_s`, and an idle keep-alive connection is closed after `idle_timeout_s`
    (aiohttp's keep-alive timer, which `runner_options` sets)."""

    total: int
    per_address: int
    header_timeout_s: float
    idle_timeout_s: float

    @classmethod
    def of(cls, settings: Web) -> ConnectionLimits:
        total = within_open_files(settings.max_connections, CONNECTIONS_SHARE)
        return cls(
            total=total,
            per_address=min(settings.max_connections_per_address, total),
            header_timeout_s=settings.header_timeout_s,
            idle_timeout_s=settings.idle_timeout_s,
        )

    def runner_options(self) -> dict[str, Any]:
        # Not handler_cancellation: a view sees its client go and ends as it sees fit.
        return {"keepalive_timeout": self.idle_timeout_s}


class _Guarded(asyncio.Protocol):
    """Stands before aiohttp's handler of one connection: refuses it when the site or its
    address holds too many (503, closed at once), and closes it with a 408 when its first
    request head has not arrived in time. Everything else goes to the handler as it comes."""

    def __init__(self, site: BoundedSite) -> None:
        self._site = site
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        site = self._site
        # Counted here, not when the protocol is made: asyncio accepts a burst of connections
        # before any of them is made.
        if site.open() >= site.limits.total:
            site.refused()
            _refuse(transport)
            return
        if site.per_address[address] >= site.limits.per_address:
            site.dropped("per_address")
            _refuse(transport)
            return
        site.per_address[address] += 1
        self._address = address
        self._transport = transport
        self._deadline = asyncio.get_running_loop().call_later(
            site.limits.header_timeout_s, self._too_slow
        )
        self._inner = site.handler()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:
            seen = self._tail + data
            if _HEAD_END in seen:
                self._deadline.cancel()
                self._deadline = None
            self._tail = seen[-(len(_HEAD_END) - 1) :]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._address is not None:
            counts = self._site.per_address
            counts[self._address] -= 1
            if counts[self._address] <= 0:
                del counts[self._address]
            self._address = None
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def _too_slow(self) -> None:
        self._deadline = None
        if self._transport is not None and not self._transport.is_closing():
            self._site.dropped("headers")
            self._transport.write(_TIMEOUT)
            self._transport.close()


class BoundedSite(web.SockSite):
    """A listening socket that keeps to `limits`; `refused` is called for each connection
    closed at once because `limits.total` were open, `dropped` (with the reason) for each
    refused for its address or closed for a request head that did not come."""

    def __init__(
        self,
        runner: web.AppRunner,
        sock: socket.socket,
        limits: ConnectionLimits,
        refused: Callable[[], None],
        dropped: Callable[[str], None],
    ) -> None:
        super().__init__(runner, sock)
        self.limits = limits
        self.per_address: Counter[str] = Counter()
        self.dropped = dropped
        self._refused = refused

    def handler(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None
        return server()

    def open(self) -> int:
        server = self._runner.server
        assert server is not None
        return len(server.connections)

    def refused(self) -> None:
        self._refused()

    async def start(self) -> None:
        await web.BaseSite.start(self)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(self), sock=self._sock, backlog=self._backlog
        )
