"""systemd's notify protocol as `asyncpdf.systemd` speaks it: where the datagrams go, what
they say, when the watchdog runs, and that a supervisor not listening never raises."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from asyncpdf.systemd import SystemdNotifier, message, notify_address, watchdog_interval_s
from tests.support import wait_for


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, str]]:
    """A listening datagram socket in the abstract namespace, and its `@name`."""
    name = f"asyncpdf-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    yield sock, "@" + name
    sock.close()


def queued(sock: socket.socket) -> list[bytes]:
    """The datagrams waiting on `sock`, without waiting for more."""
    sock.setblocking(False)
    found = []
    while True:
        try:
            found.append(sock.recv(4096))
        except BlockingIOError:
            return found


def test_a_message_is_key_value_lines_each_value_one_line() -> None:
    assert message(READY="1", STATUS="listening on http://127.0.0.1:8800") == (
        b"READY=1\nSTATUS=listening on http://127.0.0.1:8800"
    )
    assert message(STATUS="cannot start:\nport taken\r\n") == b"STATUS=cannot start: port taken"
    assert message(STATUS="Готово") == "STATUS=Готово".encode()


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("/run/systemd/notify", "/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/123", "\0/org/freedesktop/systemd1/notify/123"),
        ("", None),
    ],
)
def test_the_address_is_a_path_or_an_abstract_name(value: str, address: str | None) -> None:
    assert notify_address({"NOTIFY_SOCKET": value}) == address


def test_no_address_without_notify_socket_or_with_one_it_cannot_use(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert notify_address({}) is None
    with caplog.at_level(logging.WARNING, "asyncpdf"):
        assert notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
    assert "NOTIFY_SOCKET 'vsock:2:1234' is neither a path nor @name" in caplog.text


@pytest.mark.parametrize(
    ("environ", "interval_s"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "4242"}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_the_watchdog_runs_at_half_its_timeout_for_this_process_only(
    environ: dict[str, str], interval_s: float | None
) -> None:
    assert watchdog_interval_s(environ, 4242) == interval_s


def test_without_notify_socket_nothing_is_sent_and_no_watchdog_runs() -> None:
    notifier = SystemdNotifier.from_environment({"WATCHDOG_USEC": "2000000"})
    assert notifier.watchdog_s is None
    assert notifier.ready("listening") is False
    assert notifier.stopping() is False


async def test_ready_watchdog_and_stopping_reach_the_socket(
    abstract_socket: tuple[socket.socket, str],
) -> None:
    sock, name = abstract_socket
    notifier = SystemdNotifier.from_environment(
        {"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
    )
    assert notifier.watchdog_s == 0.05
    received: list[bytes] = []

    async def pinged_twice() -> bool:
        received.extend(queued(sock))
        return received.count(b"WATCHDOG=1") >= 2

    notifier.start_watchdog()
    await wait_for(pinged_twice, 30, "two watchdog pings", interval_s=0.01)
    assert notifier.ready("listening on http://127.0.0.1:8800")
    assert notifier.stopping()
    await notifier.close()
    await notifier.close()  # twice is fine
    received.extend(queued(sock))  # a datagram is queued by the time sendto() returns
    assert received[-2:] == [
        b"READY=1\nSTATUS=listening on http://127.0.0.1:8800",
        b"STOPPING=1\nSTATUS=stopping",
    ]


async def test_a_supervisor_not_listening_is_logged_once_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = SystemdNotifier(f"\0asyncpdf-nobody-{uuid.uuid4().hex}")
    with caplog.at_level(logging.WARNING, "asyncpdf"):
        assert notifier.send(WATCHDOG="1") is False
        assert notifier.send(WATCHDOG="1") is False
    await notifier.close()
    assert len(caplog.records) == 1
    assert "cannot notify systemd at @asyncpdf-nobody-" in caplog.text
