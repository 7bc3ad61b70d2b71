"""The live log under load, on the real service: 200 websocket clients, one of which never
reads, while 70 files go through. Every reading client gets every event once and in order,
the same as every other, and none is dropped; the stuck one is dropped when its queue is full;
all 70 jobs end done; and the service's memory, once the clients have gone, is within a little
of where it was before they came.

Making the stuck client overflow its queue takes some arranging, all of it on the client's side
(the server is as it ships: `EventBus(queue_size=1000)`):

- it must fall 1000 events behind *after* its socket buffers are full. Those buffers are large
  on loopback: Linux sizes a connection's send buffer from its segment size, and loopback's
  64 KiB segments give some 3.9 MB (about 4000 events). The stuck socket asks for an Ethernet
  segment size (TCP_MAXSEG 1460) and a small receive buffer before it connects, as a LAN
  client would have, which leaves the server's kernel some 30 KB and aiohttp's buffers some
  200 KB for it;
- it fills those buffers at once from the backlog it asks for (`?after=0`) of a first batch of
  files processed before it connects, so the 70 files' events (16 each with the presses'
  previews delivered, files under 1 MB having no progress lines: 1120, enough to fill 1000
  places) all go to its queue;
- long Cyrillic file names make the events as big as a real shop's can be;
- it sends an unsolicited pong (RFC 6455 §5.5.3) every few seconds, as a client whose reading
  is stuck but whose connection is alive would: without them aiohttp's heartbeat
  (`heartbeat=30`) cuts a silent client 45 s after it connects, which would race the queue.

The readers ask for no compression: with permessage-deflate (a browser's default) the run
takes about a third longer for the same figures, too close to the time limit.

The memory is measured after the first batch (warm: pool started, caches filled) and allowed
some slack above it afterwards: CPython and malloc keep what was freed (the resident size does
not go down, it stops going up), and the events kept for catching up (2000) are still filling;
the same files with no client at all leave it some 4 MB higher.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import shutil
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncpdf.testing.samples import make_samples
from asyncpdf.web.limits import WEBSOCKETS_SHARE
from tests.support import PRESSES, TERMINAL, Service, wait_finished

#: Websocket clients in all: the readers and one stuck client.
CLIENTS = 200
#: Files processed while they are connected.
FILES = 70
#: Bounds on waiting, for a busy machine: the readers to see every job end, and the service to
#: let go of what they held once they have gone.
READERS_S = 420
CLOSED_S = 60
#: Files processed before, whose events the stuck client asks for to fill its buffers at once.
WARM_UP = 30
#: The stuck socket's segment size (Ethernet's) and receive buffer.
STUCK_MSS = 1460
STUCK_RCVBUF = 4096
#: How far above its level before the clients the service's memory may stay once they are gone.
MEMORY_SLACK_KB = 20 * 1024
NAME_BYTES = 220
CYRILLIC = "Каталог весенней коллекции для типографии на мелованной бумаге "


def long_name(sample: Path) -> str:
    """`12345_<long Cyrillic order name>_Bureau.pdf`, at most NAME_BYTES bytes in UTF-8."""
    order, rest = sample.stem.split("_", 1)
    bureau = rest.rsplit("_", 1)[1]
    middle = CYRILLIC * 4
    while len(f"{order}_{middle}_{bureau}.pdf".encode()) > NAME_BYTES:
        middle = middle[:-1]
    return f"{order}_{middle.strip()}_{bureau}.pdf"


def drop(service: Service, samples: list[Path]) -> list[str]:
    names = []
    for sample in samples:
        name = long_name(sample)
        part = service.hotfolder / f"{name}.part"
        shutil.copy(sample, part)
        part.rename(service.hotfolder / name)
        names.append(name)
    return names


def memory_kb(service: Service, field_name: str = "VmRSS") -> int:
    """A line of /proc/PID/status of the service's process (VmRSS, VmHWM), in kB."""
    assert service.process is not None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field_name} in /proc/{service.process.pid}/status")


async def metric(http: aiohttp.ClientSession, service: Service, name: str) -> float:
    async with http.get(f"{service.url}/metrics") as response:
        text = await response.text()
    (value,) = [row.rsplit(" ", 1)[1] for row in text.splitlines() if row.startswith(name + " ")]
    return float(value)


class StuckClient:
    """A websocket client by hand on a raw socket that, after the handshake, never reads."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connect(): the segment size is announced in the SYN, and the server's kernel
        # sizes its send buffer from it.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STUCK_RCVBUF)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, STUCK_MSS)
        self.sock.setblocking(False)
        self._ponging: asyncio.Task[None] | None = None
        #: How sending its pongs failed, once the server had cut the connection.
        self.send_error: OSError | None = None

    async def connect(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: not a byte of the frames after
            byte = await loop.sock_recv(self.sock, 1)
            assert byte, f"connection closed during the handshake: {head!r}"
            head += byte
        assert head.startswith(b"HTTP/1.1 101 "), head
        self._ponging = asyncio.create_task(self._pong())

    async def _pong(self) -> None:
        """An unsolicited, masked, empty pong now and then: alive, though not reading."""
        loop = asyncio.get_running_loop()
        while True:
            frame = struct.pack("!BB", 0x8A, 0x80) + os.urandom(4)
            try:
                await loop.sock_sendall(self.sock, frame)
            except OSError as exc:
                self.send_error = exc
                return
            await asyncio.sleep(5)

    async def end_of_stream(self, timeout_s: float) -> tuple[str, int]:
        """Read what the server left for it until the end: EOF or a reset, and how many
        bytes came before it. (A reset already met by a pong being sent reads as EOF.)"""
        if self._ponging is not None:
            self._ponging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ponging
        loop = asyncio.get_running_loop()
        received = 0
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    data = await loop.sock_recv(self.sock, 1 << 16)
                except ConnectionResetError:
                    return "reset", received
                if not data:
                    return "eof", received
                received += len(data)

    def close(self) -> None:
        if self._ponging is not None:
            self._ponging.cancel()
        self.sock.close()


@dataclass
class Reader:
    ws: aiohttp.ClientWebSocketResponse
    hello: int
    events: list[dict[str, Any]] = field(default_factory=list)
    ended: dict[str, str] = field(default_factory=dict)
    close_code: int | None = None


async def connect_reader(session: aiohttp.ClientSession, url: str) -> Reader:
    ws = await session.ws_connect(f"{url}/ws?tail=0", compress=0)
    hello = await ws.receive_json(timeout=30)
    assert hello["type"] == "hello", hello
    return Reader(ws=ws, hello=hello["seq"])


async def read_until_ended(reader: Reader, names: set[str]) -> None:
    """Collect events until every one of `names` has reached a final state, then close."""
    async for message in reader.ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        event = json.loads(message.data)
        reader.events.append(event)
        job = event.get("job") if event["type"] == "job" else None
        if job and job["name"] in names and job["state"] in TERMINAL:
            reader.ended[job["name"]] = job["state"]
            if len(reader.ended) == len(names):
                break
    reader.close_code = reader.ws.close_code
    await reader.ws.close()


@pytest.mark.timeout(600)
async def test_200_live_clients_one_stuck_while_70_files_go_through(
    make_service: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and int(hard * WEBSOCKETS_SHARE) < CLIENTS:
        pytest.skip(f"an open-files limit of {hard} allows the service too few websockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process holds 200 sockets
    try:
        await _run(make_service, http, tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _run(make_service: Any, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    previews = tmp_path / "press-previews"
    service: Service = make_service(
        web={"max_websockets": CLIENTS + 50},
        presses=[
            {**press, "preview_target": (previews / str(press["name"])).as_uri()}
            for press in PRESSES
        ],
    )
    await service.start()
    samples = make_samples(tmp_path / "samples", count=WARM_UP + FILES, seed=13)

    # A first batch, so the stuck client has a backlog and the memory is measured warm.
    drop(service, samples[:WARM_UP])
    await wait_finished(http, service, WARM_UP)
    await asyncio.sleep(1)
    before_kb = memory_kb(service)
    assert await metric(http, service, "asyncpdf_websocket_dropped_total") == 0

    stuck = StuckClient(service.port)
    try:
        await _with_clients(http, service, stuck, samples[WARM_UP:], before_kb)
    finally:
        stuck.close()


async def _with_clients(
    http: aiohttp.ClientSession,
    service: Service,
    stuck: StuckClient,
    samples: list[Path],
    before_kb: int,
) -> None:
    dropped_count = "asyncpdf_websocket_dropped_total"
    await stuck.connect("/ws?after=0")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(32)

        async def connect_one() -> Reader:
            async with gate:
                return await connect_reader(session, service.url)

        async with asyncio.timeout(180):
            readers = await asyncio.gather(*(connect_one() for _ in range(CLIENTS - 1)))
        assert await metric(http, service, "asyncpdf_websocket_clients") == CLIENTS

        # The files, while all are connected.
        started = time.monotonic()
        names = set(drop(service, samples))
        reading = [asyncio.create_task(read_until_ended(r, names)) for r in readers]
        peak_kb = memory_kb(service)
        dropped_after: float | None = None
        live_events_at_drop = 0
        while not all(task.done() for task in reading):
            peak_kb = max(peak_kb, memory_kb(service))
            if dropped_after is None and await metric(http, service, dropped_count) >= 1:
                dropped_after = time.monotonic() - started
                live_events_at_drop = len(readers[0].events)
            if time.monotonic() - started > READERS_S:
                raise AssertionError(
                    f"readers not done after {READERS_S} s; events per reader: "
                    f"{sorted({len(r.events) for r in readers})}"
                )
            await asyncio.sleep(0.25)
        await asyncio.gather(*reading)
        processing_s = time.monotonic() - started

    # Every reader: after hello, the events numbered on from it with no gap and no repeat,
    # up to every job's end, and no reader closed by the server.
    for number, reader in enumerate(readers):
        seqs = [event["seq"] for event in reader.events]
        assert len(reader.ended) == FILES, (number, reader.close_code, len(seqs))
        assert seqs == list(range(reader.hello + 1, reader.hello + 1 + len(seqs))), number
        assert all(event["type"] in {"log", "job"} for event in reader.events), number
    # ... and all of them the same events (those published before the last one connected).
    start = max(reader.hello for reader in readers)
    common = [event for event in readers[0].events if event["seq"] > start]
    for number, reader in enumerate(readers):
        assert [event for event in reader.events if event["seq"] > start] == common, number
    done_ids = {
        event["job"]["id"]
        for event in common
        if event["type"] == "job" and event["job"]["state"] == "done"
    }
    done_names = {
        event["job"]["name"]
        for event in common
        if event["type"] == "job" and event["job"]["state"] == "done"
    }
    assert len(done_ids) == FILES and done_names == names, readers[0].ended

    # The stuck client was dropped for its full queue (it alone), and its connection ended.
    assert await metric(http, service, dropped_count) == 1
    how, stuck_bytes = await stuck.end_of_stream(timeout_s=CLOSED_S)

    # All the jobs finished, done.
    jobs = await wait_finished(http, service, WARM_UP + FILES)
    by_name = {job["name"]: job for job in jobs}
    assert {by_name[name]["state"] for name in names} == {"done"}, [
        (name, by_name[name]["error"]) for name in names if by_name[name]["state"] != "done"
    ]

    # And the memory comes back down once the clients have gone.
    async def no_clients() -> bool:
        return await metric(http, service, "asyncpdf_websocket_clients") == 0

    deadline = time.monotonic() + CLOSED_S
    while not await no_clients():
        assert time.monotonic() < deadline, "websocket clients still counted after closing"
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)
    after_kb = memory_kb(service)
    while after_kb > before_kb + MEMORY_SLACK_KB and time.monotonic() < deadline + CLOSED_S:
        await asyncio.sleep(0.5)
        after_kb = memory_kb(service)
    high_water_kb = memory_kb(service, "VmHWM")
    hellos = sorted({reader.hello for reader in readers})
    dropped_at = "never" if dropped_after is None else f"{dropped_after:.1f} s"
    json_bytes = sum(len(json.dumps(e, ensure_ascii=False).encode()) for e in common)
    print(
        f"\n{len(readers)} readers (hello seq {hellos}), {len(common)} events each "
        f"({json_bytes} bytes of JSON); {FILES} files in {processing_s:.1f} s; "
        f"stuck client dropped after {dropped_at} (~{live_events_at_drop} live events), its "
        f"socket ended with {how} after {stuck_bytes} bytes (pong: {stuck.send_error!r}); "
        f"service RSS before {before_kb} kB, peak {peak_kb} kB (VmHWM {high_water_kb} kB), "
        f"after {after_kb} kB"
    )
    assert how in {"eof", "reset"}
    assert after_kb <= before_kb + MEMORY_SLACK_KB, (before_kb, peak_kb, after_kb)
