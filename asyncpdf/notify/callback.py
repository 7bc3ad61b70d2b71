"""API callbacks: the job's row (as `GET /api/jobs` gives it) POSTed as JSON to the URL its
uploader gave, once the job has ended. Sent from the outbox like every notice, so it is
retried, and a failed callback never changes the job's result.

Anyone who may upload names the URL, so it is checked when the job is submitted: it must not
reach this machine (loopback, link-local, unspecified or one of its own addresses; the config's
`notify.callback_allow` lets named addresses through) and never the service itself. A failed
callback is recorded by its status line, never by what the other end answered."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Collection
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from asyncpdf.errors import BadRequest
from asyncpdf.notify.transport import failure, post

CALLBACK = "callback"
MAX_URL = 2000
RESOLVE_S = 5.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ALLOW_HINT = "notify.callback_allow"


def check_callback_url(url: str) -> str:
    """The URL as given, if it is one that can be called back; else BadRequest saying why.
    Where it points is `CallbackPolicy`'s to judge."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises ValueError)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("callback_url must be an http:// or https:// URL with a host")
    if len(url) > MAX_URL or not url.isprintable():
        raise BadRequest(f"callback_url must be printable and at most {MAX_URL} characters")
    return url


class CallbackPolicy:
    """Where callbacks may go: not to this machine, unless `allow` (addresses or networks)
    names the address; never to the service's own port on it (`own_ports`)."""

    def __init__(self, allow: Collection[str], own_ports: Collection[int]) -> None:
        self._allow: list[Network] = [ipaddress.ip_network(a, strict=False) for a in allow]
        self._own_ports = frozenset(own_ports)

    async def check(self, url: str) -> str:
        """The URL as given, if it may be called back; else BadRequest saying why."""
        parts = urlsplit(check_callback_url(url))
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for address in await _addresses(host, port):
            reason = await asyncio.to_thread(self._refusal, address, port)
            if reason is not None:
                raise BadRequest(f"callback_url {shown_url(url)} is refused: {reason}")
        return url

    def _refusal(self, address: Address, port: int) -> str | None:
        mapped = getattr(address, "ipv4_mapped", None) or address
        local = mapped.is_loopback or mapped.is_link_local or mapped.is_unspecified
        local = local or _is_this_machines(mapped)
        if local and port in self._own_ports:
            return f"{mapped} port {port} is this service itself"
        if local and not any(mapped in network for network in self._allow):
            return (
                f"{mapped} is this machine's own (loopback, link-local or local) address; "
                f"list it in {ALLOW_HINT} to allow it"
            )
        return None


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_S):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise BadRequest(f"callback_url's host {host!r} cannot be resolved") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


def _is_this_machines(address: Address) -> bool:
    """Whether `address` is one of this machine's: only those can be bound to."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def shown_url(url: str) -> str:
    """The URL without its query, fragment and user part, which may hold a token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def call_back(
    session: aiohttp.ClientSession, url: str, job: dict[str, Any], timeout_s: float
) -> None:
    what = f"callback {shown_url(url)}"
    body = json.dumps({"job": job}, ensure_ascii=False).encode()
    answer = await post(
        session,
        url,
        body,
        what=what,
        timeout_s=timeout_s,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    if not answer.ok:
        # The status line only: what the other end answered is not ours to show.
        raise failure(
            what, answer.status, _phrase(answer.status), retry_after_s=answer.retry_after_s
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
