"""A real FTP(S) server for tests: pyftpdlib in a thread on 127.0.0.1, with faults to order.

Two users share the password `PASSWORD`: `USER` may do anything in the server's folder,
`READER` may only list and read it. Passive data ports come from the OS; active mode needs no
setting on loopback, since the client's PORT names the address it connects from (pyftpdlib's
`permit_foreign_addresses`) and an ephemeral port (`permit_privileged_ports`).

Certificates are made at test time with `cryptography` (`make_certs`), never kept.
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler, TLS_FTPHandler
from pyftpdlib.handlers.ftps.data import TLS_DTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.log import logger as server_log
from pyftpdlib.servers import FTPServer

USER = "ctp"
READER = "reader"
PASSWORD = "s3cr3t-Pa55-XYZ"


@dataclass(frozen=True)
class Certs:
    """`ca` is the PEM a client trusts; `server` holds the server's key and certificate."""

    ca: Path
    server: Path


def make_certs(folder: Path, name: str = "Test") -> Certs:
    """A CA and a server certificate it signed, for 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    certs = Certs(ca=folder / f"{name}-ca.pem", server=folder / f"{name}-server.pem")
    certs.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs.server.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return certs


class _SlowSize(FTPHandler):
    """Holds SIZE replies back `slow_size` seconds, serving other sessions meanwhile."""

    slow_size = 0.0

    def ftp_SIZE(self, path: str) -> None:
        self.ioloop.call_later(self.slow_size, super().ftp_SIZE, path)


class FtpServer:
    """pyftpdlib serving `root` on 127.0.0.1:`port` (0: any free port, known after start()).

    With `certs` it is FTPS and insists on TLS for logins and data. Faults: `cut_after`
    bytes into the next upload the data connection is closed (once); `read_limit` bytes per
    second is as fast as uploads may go; `echo_password` refuses every login quoting the
    password, as careless servers do. `received` names each file uploaded in full, in order;
    `peak` is the most sessions that were open at once. `stored` names every file a STOR
    opened (complete or not), `incomplete` each upload that broke off, `renamed` each
    (from, to) rename: together they show whether a name ever held a partial file.
    `slow_size` seconds every SIZE reply is held back (the server serves others meanwhile),
    so that deliveries looking for a free name look at the same moment."""

    def __init__(
        self,
        root: Path,
        *,
        port: int = 0,
        certs: Certs | None = None,
        cut_after: int | None = None,
        read_limit: int = 0,
        echo_password: bool = False,
        slow_size: float = 0.0,
    ) -> None:
        self.root = root
        self.port = port
        self.certs = certs
        self.cut_after = cut_after
        self.read_limit = read_limit
        self.echo_password = echo_password
        self.slow_size = slow_size
        self.received: list[str] = []
        self.stored: list[str] = []
        self.incomplete: list[str] = []
        self.renamed: list[tuple[str, str]] = []
        self.peak = 0
        self._open = 0
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def url(
        self, path: str = "", *, user: str = USER, password: str | None = PASSWORD, **options: str
    ) -> str:
        scheme = "ftps" if self.certs else "ftp"
        login = quote(user) if password is None else f"{quote(user)}:{quote(password)}"
        query = f"?{urlencode(options)}" if options else ""
        return f"{scheme}://{login}@127.0.0.1:{self.port}/{quote(path)}{query}"

    def relative(self, path: str) -> str:
        """A path the handler gives (absolute, on the server's disk) as one below `root`."""
        return Path(path).relative_to(self.root).as_posix()

    def start(self) -> FtpServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = FTPServer(("127.0.0.1", self.port), self._handler(), ioloop=IOLoop())
        self.port = self._server.address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="ftp-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(10)
            self._thread = None

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            self._server.ioloop.loop(0.02, blocking=False)
        self._server.close_all()

    def _handler(self) -> type[FTPHandler]:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(self.root), perm="elradfmwMT")
        authorizer.add_user(READER, PASSWORD, str(self.root), perm="elr")
        server = self
        base: type[FTPHandler] = TLS_FTPHandler if self.certs else FTPHandler

        class Handler(_SlowSize, base):
            dtp_handler = self._data()
            slow_size = server.slow_size

            def on_connect(self) -> None:
                server._open += 1
                server.peak = max(server.peak, server._open)

            def on_disconnect(self) -> None:
                server._open -= 1

            def on_file_received(self, file: str) -> None:
                server.received.append(server.relative(file))

            def on_incomplete_file_received(self, file: str) -> None:
                server.incomplete.append(server.relative(file))

            def ftp_STOR(self, file: str, mode: str = "w") -> str | None:
                opened: str | None = super().ftp_STOR(file, mode)
                if opened is not None:
                    server.stored.append(server.relative(opened))
                return opened

            def ftp_RNTO(self, path: str) -> tuple[str, str] | None:
                done: tuple[str, str] | None = super().ftp_RNTO(path)
                if done is not None:
                    server.renamed.append((server.relative(done[0]), server.relative(done[1])))
                return done

            def ftp_PASS(self, line: str) -> None:
                if server.echo_password:
                    # Pushed, not respond()ed: the server's own log would show it.
                    self.push(f"530 Password {line} is not right.\r\n")
                else:
                    super().ftp_PASS(line)

        Handler.authorizer = authorizer
        Handler.auth_failed_timeout = 0.1  # pyftpdlib waits 3 s after a refused login
        if self.certs is not None:
            Handler.certfile = str(self.certs.server)
            Handler.tls_control_required = Handler.tls_data_required = True
        return Handler

    def _data(self) -> type:
        server = self
        base: type = TLS_DTPHandler if self.certs else ThrottledDTPHandler

        class Data(base):
            read_limit = server.read_limit

            def handle_read(self) -> None:
                super().handle_read()
                cut = server.cut_after
                if cut is not None and self.receive and self.tot_bytes_received >= cut:
                    server.cut_after = None
                    self._resp = ("426 Test fault: data connection cut.", server_log.info)
                    self.close()

            handle_read_event = handle_read  # the base class aliases its own handle_read

        return Data
