"""FTP data connections opened the way Debian's FTP servers expect them, beside aioftp.

aioftp (0.28) keeps the control connection here: commands, replies, AUTH TLS, login. Its data
connections cannot be used for FTPS: it starts a passive connection's TLS handshake as soon
as the socket connects, before it sends LIST/STOR/RETR, while vsftpd and pure-ftpd start
theirs only after the command's preliminary (1xx) reply; each side then waits for the other
until the time-out. So every data connection is opened here, in passive and active mode:

1. the socket is connected (passive: to the control connection's peer at the port of EPSV,
   or of PASV, whose address is ignored as curl does, since servers behind NAT give their
   inside one) or accepted (active: PORT/EPRT to a listener on the control connection's
   address);
2. the command is sent and its 1xx reply read;
3. only then, under PROT P, TLS is started on the connected socket, resuming the control
   connection's TLS session (vsftpd's `require_ssl_reuse=YES` and proftpd refuse a data
   connection that does not).

Why `asyncio.open_connection(sock=..., ssl=...)` over the already connected socket, and not
`StreamWriter.start_tls`: asyncio has no argument for a TLS session, and `start_tls` accepts
only an `ssl.SSLContext`, whereas a new connection takes any context whose `wrap_bio`
makes the SSLObject. aioftp's `SSLSessionBoundContext` is such a context: its `wrap_bio`
passes `session=` to the real one, so the handshake runs on asyncio's memory BIOs, resumed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl

import aioftp

_EPSV = re.compile(r"\((.)\1\1(\d+)\1\)")
_PASV = re.compile(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")


async def open_data(
    client: aioftp.Client, command: str, *, passive: bool, timeout_s: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A data connection for `command` (STOR, RETR), once the server has answered it 1xx."""
    if passive:
        sock = await _passive(client, timeout_s)
        try:
            await client.command(command, "1xx")
        except BaseException:
            sock.close()
            raise
    else:
        sock = await _active(client, command, timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            return await _streams(client, sock)
    except BaseException:
        sock.close()
        raise


async def _passive(client: aioftp.Client, timeout_s: float) -> socket.socket:
    host, *_ = client.stream.writer.get_extra_info("peername")
    try:
        code, info = await client.command("EPSV", "229")
        found = _EPSV.search(info[-1])
        port = int(found.group(2)) if found else None
    except aioftp.StatusCodeError as exc:
        if not exc.received_codes[-1].matches("50x"):
            raise
        code, info = await client.command("PASV", "227")
        numbers = _PASV.search(info[-1])
        port = int(numbers.group(5)) * 256 + int(numbers.group(6)) if numbers else None
    if port is None:
        # Shown as "the server answered 229 ...": a reply that names no port.
        raise aioftp.StatusCodeError(code, code, info)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def _active(client: aioftp.Client, command: str, timeout_s: float) -> socket.socket:
    """Listen on the address the control connection comes from, name it with PORT (EPRT for
    IPv6), send `command` and take the server's connection (servers connect after PORT or
    after the command; it waits in the backlog either way)."""
    host = client.stream.writer.get_extra_info("sockname")[0]
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as listener:
        listener.setblocking(False)
        listener.bind((host, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        if listener.family == socket.AF_INET:
            await client.command(f"PORT {host.replace('.', ',')},{port >> 8},{port & 255}", "200")
        else:
            await client.command(f"EPRT |2|{host}|{port}|", "200")
        await client.command(command, "1xx")
        async with asyncio.timeout(timeout_s):
            sock, _ = await asyncio.get_running_loop().sock_accept(listener)
    return sock


async def _streams(
    client: aioftp.Client, sock: socket.socket
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Streams over the connected `sock`: TLS resuming the control connection's session
    when the control connection is TLS (PROT P is sent with AUTH TLS), plain otherwise."""
    control: ssl.SSLObject | None = client.stream.writer.get_extra_info("ssl_object")
    if control is None:
        return await asyncio.open_connection(sock=sock)
    tls: ssl.SSLContext = control.context
    if control.session is not None:
        tls = aioftp.SSLSessionBoundContext(
            ssl.PROTOCOL_TLS_CLIENT, context=control.context, session=control.session
        )
    return await asyncio.open_connection(sock=sock, ssl=tls, server_hostname=client.server_host)
