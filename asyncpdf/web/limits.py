"""How many connections the web side may hold: bounded by the config and by a share of the
open-files limit, so idle clients can never take the descriptors the jobs need; and the
listening site that keeps to it."""

from __future__ import annotations

import asyncio
import resource
import socket
from collections.abc import Callable

from aiohttp import web

#: Connections (websockets included) may take this share of the open-files limit, websockets
#: this share of it: the rest is the jobs', the database's, the pool's and Ghostscript's.
CONNECTIONS_SHARE = 0.625
WEBSOCKETS_SHARE = 0.375
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def within_open_files(configured: int, share: float) -> int:
    """`configured`, but at most `share` of the (soft) open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return min(configured, int(soft * share))


class _Refuse(asyncio.Protocol):
    """One connection too many: a 503 and closed at once, its descriptor given back."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class BoundedSite(web.SockSite):
    """A listening socket that holds at most `limit` connections; `refused` is called for
    each one closed because of it."""

    def __init__(
        self,
        runner: web.AppRunner,
        sock: socket.socket,
        limit: int,
        refused: Callable[[], None],
    ) -> None:
        super().__init__(runner, sock)
        self.limit = limit
        self._refused = refused

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None

        def protocol() -> asyncio.BaseProtocol:
            if len(server.connections) >= self.limit:
                self._refused()
                return _Refuse()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            protocol, sock=self._sock, backlog=self._backlog
        )
