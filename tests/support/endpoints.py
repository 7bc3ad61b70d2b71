"""Stand-ins on 127.0.0.1 for where notices go: the Telegram Bot API (`/bot<token>/sendMessage`),
smsc's HTTP API (`/sys/send.php`) and webhook receivers (`/hook/<name>`), all in one aiohttp
server. Every request is recorded as a `Hit`; what it gets back is scripted per recipient (a
chat id, a phone number, a webhook's name), so one server plays a good chat beside a broken one.

A recipient's answers are its script's replies in order, then its `then` reply for good; one
nobody scripted gets `OK`. Each answer comes after `latency_s`, as a real API's would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

TELEGRAM = "telegram"
SMS = "sms"
WEBHOOK = "webhook"
_PLAIN_HEADERS = {
    "host",
    "accept",
    "accept-encoding",
    "user-agent",
    "content-length",
    "content-type",
}
#: A hung request ends at the latest after this long, even if nobody releases it.
HANG_CAP_S = 60.0


@dataclass(frozen=True)
class Reply:
    """One answer: `status` (200 is the channel's success); with `hang`, only once `release()`
    is called (a client with a shorter timeout gives up first); with `echo`, a body quoting the
    whole request, headers and body included, as careless servers and error pages do."""

    status: int = 200
    hang: bool = False
    echo: bool = False


OK = Reply()
ERROR = Reply(500)
HANG = Reply(hang=True)
#: Telegram's answer to a chat id it does not know: permanent, retrying cannot help.
WRONG_CHAT = Reply(400)
ECHO = Reply(500, echo=True)


@dataclass(frozen=True)
class Hit:
    channel: str
    address: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    #: time.monotonic() when the request arrived.
    at: float

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class _Script:
    replies: list[Reply] = field(default_factory=list)
    then: Reply = OK


class Endpoints:
    """`async with Endpoints() as fake:` then point `api_url`/`url` settings at `fake.url`."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.hits: list[Hit] = []
        self._scripts: dict[tuple[str, str], _Script] = {}
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._telegram)
        app.router.add_post("/sys/send.php", self._sms)
        app.router.add_post("/hook/{name}", self._webhook)
        self._server = TestServer(app, host="127.0.0.1", port=0)

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hook/{name}"

    def script(self, channel: str, address: str, *replies: Reply, then: Reply = OK) -> None:
        self._scripts[(channel, address)] = _Script(list(replies), then)

    def release(self) -> None:
        """Hung requests are answered now, and no later one hangs."""
        self._released.set()

    def of(self, channel: str, address: str | None = None) -> list[Hit]:
        return [
            hit
            for hit in self.hits
            if hit.channel == channel and (address is None or hit.address == address)
        ]

    async def __aenter__(self) -> Endpoints:
        await self._server.start_server()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
        await self._server.close()

    async def _record(self, request: web.Request, channel: str, address: str) -> Reply:
        body = await request.read()
        self.hits.append(
            Hit(channel, address, request.path, dict(request.headers), body, time.monotonic())
        )
        script = self._scripts.setdefault((channel, address), _Script())
        reply = script.replies.pop(0) if script.replies else script.then
        await asyncio.sleep(self.latency_s)
        if reply.hang and not self._released.is_set():
            # The client's timeout decides; the cap only keeps a forgotten hang from lingering.
            async with asyncio.timeout(HANG_CAP_S):
                await self._released.wait()
        return reply

    @staticmethod
    def _echo(request: web.Request, body: bytes) -> str:
        # What could carry a secret first, before any cut the reader makes: the path (a bot
        # token), the headers a client chose (auth, signature), the body (a password).
        chosen = {k: v for k, v in request.headers.items() if k.lower() not in _PLAIN_HEADERS}
        return f"cannot take {request.path_qs} {chosen} {body.decode()}"

    async def _telegram(self, request: web.Request) -> web.Response:
        body = await request.read()
        chat = str(json.loads(body).get("chat_id"))
        reply = await self._record(request, TELEGRAM, chat)
        if reply.status == 200:
            answer: dict[str, Any] = {"ok": True, "result": {"message_id": len(self.hits)}}
        elif reply.status == 400:
            answer = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        else:
            answer = {"ok": False, "error_code": reply.status, "description": "Internal Error"}
        if reply.echo:
            answer["description"] = self._echo(request, body)
        return web.json_response(answer, status=reply.status)

    async def _sms(self, request: web.Request) -> web.Response:
        body = await request.read()
        phone = dict(parse_qsl(body.decode())).get("phones", "")
        reply = await self._record(request, SMS, phone)
        if reply.status == 200:
            return web.json_response({"id": len(self.hits), "cnt": 1})
        text = self._echo(request, body) if reply.echo else "Internal Server Error"
        return web.Response(status=reply.status, text=text)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        reply = await self._record(request, WEBHOOK, request.match_info["name"])
        text = self._echo(request, body) if reply.echo else "thanks"
        return web.Response(status=reply.status, text=text)
