"""systemd's notify protocol without libsystemd: datagrams to `$NOTIFY_SOCKET`.

Under `Type=notify` the unit is started once `READY=1` arrives (sent when the port listens and
the service has opened), kept alive by `WATCHDOG=1` every half `$WATCHDOG_USEC` from a task of
the event loop (so a loop stuck for longer than `WatchdogSec=` gets the service restarted), and
told of the stop by `STOPPING=1`. Where `$NOTIFY_SOCKET` is unset (a terminal, the tests)
nothing is sent. A message that cannot be sent is logged, never raised: the service runs on
whether or not its supervisor listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("asyncpdf")


def notify_address(environ: Mapping[str, str]) -> str | None:
    """Where to send: the socket's path, or an abstract name with its leading NUL byte (systemd
    writes it with `@`); None when unset or not a unix socket this module speaks to."""
    address = environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        return "\0" + address[1:]
    if address.startswith("/"):
        return address
    if address:
        log.warning(
            "NOTIFY_SOCKET %r is neither a path nor @name: systemd is not notified", address
        )
    return None


def watchdog_interval_s(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between two `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    advises; None when no watchdog is asked of this process (unset, unparsable, zero, or
    `$WATCHDOG_PID` names another)."""
    watchdog_pid = environ.get("WATCHDOG_PID")
    if watchdog_pid is not None and watchdog_pid != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None


def message(**fields: str) -> bytes:
    """One datagram: `KEY=value` lines. A value is one line, so a newline in it (a status
    quoting an error) becomes a space."""
    return "\n".join(
        f"{key}={' '.join(value.splitlines())}" for key, value in fields.items()
    ).encode()


class SystemdNotifier:
    """Tells systemd how the service is: ready, alive, stopping. Does nothing without
    `$NOTIFY_SOCKET`."""

    def __init__(self, address: str | None, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s if address is not None else None
        self._sock: socket.socket | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._failing = False
        if address is not None:
            # Non-blocking: a full socket buffer drops one message, never stalls the loop.
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> SystemdNotifier:
        return cls(notify_address(environ), watchdog_interval_s(environ, os.getpid()))

    def send(self, **fields: str) -> bool:
        """Send one message; whether it went (False without a socket, or when it failed)."""
        if self._sock is None or self.address is None:
            return False
        try:
            self._sock.sendto(message(**fields), self.address)
        except OSError as exc:
            if not self._failing:  # once, not at each watchdog tick
                shown = "@" + self.address[1:] if self.address.startswith("\0") else self.address
                log.warning("cannot notify systemd at %s: %s", shown, exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def start_watchdog(self) -> None:
        """`WATCHDOG=1` now and every `watchdog_s` while the event loop runs, if asked for."""
        if self.watchdog_s is not None and self._watchdog is None:
            self._watchdog = asyncio.create_task(self._keep_alive(self.watchdog_s), name="watchdog")

    async def _keep_alive(self, interval_s: float) -> None:
        while True:
            self.send(WATCHDOG="1")
            await asyncio.sleep(interval_s)

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def stopping(self, status: str = "stopping") -> bool:
        return self.send(STOPPING="1", STATUS=status)

    async def close(self) -> None:
        """Stop the watchdog and close the socket; safe to call twice."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
