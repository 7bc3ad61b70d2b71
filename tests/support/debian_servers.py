"""Debian's vsftpd, pure-ftpd, proftpd and OpenSSH's sshd for tests: the binaries that
`scripts/servers.sh` unpacked into `.servers/root` (never installed system-wide, never started
as services), each run in the foreground on 127.0.0.1 with its own config, folder and
certificate made by the test.

They run as root (the tests are root) and log one local user in, `USER` (made here with its
PAM service file, since vsftpd and proftpd ask PAM or the shadow file). Each server serves its
own `root` folder as the user's login folder. `tls=True` makes the server insist on TLS for
the login and the data, as bureaus that offer FTPS do.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

from tests.support import free_port
from tests.support.ftpserver import Certs, make_certs

SERVERS = Path(__file__).resolve().parents[2] / ".servers" / "root"
USER = "asyncpdf-ftp"
PASSWORD = "Pl4te-s3cr3t-QRS"
PAM_SERVICE = "asyncpdf-tests"
HOME = Path("/var/lib") / USER
_MISSING = "Debian's servers are not unpacked: run scripts/test (it calls scripts/servers.sh)"


def binary(name: str) -> Path:
    for folder in ("usr/sbin", "usr/lib/openssh"):
        path = SERVERS / folder / name
        if path.exists():
            return path
    raise RuntimeError(f"{name}: {_MISSING}")


def ensure_user() -> None:
    """The local user the FTP servers log in, with a password and a PAM service of its own."""
    if os.geteuid() != 0:
        raise RuntimeError("Debian's servers run in the tests as root: they add a local user")
    pam = Path("/etc/pam.d") / PAM_SERVICE
    if not pam.exists():
        pam.write_text(
            "auth required pam_unix.so\naccount required pam_unix.so\n"
            "session required pam_permit.so\n"
        )
    try:
        subprocess.run(["id", USER], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run(["useradd", "--home-dir", str(HOME), "--shell", "/bin/sh", USER], check=True)
    # vsftpd enters the home folder before the configured login folder.
    _owned(HOME)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)


def _ids() -> tuple[int, int]:
    record = pwd.getpwnam(USER)
    return record.pw_uid, record.pw_gid


def _owned(folder: Path) -> None:
    """`folder` made and handed to the user, so uploads may write in it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.chown(folder, USER, USER)


def _wait_listening(
    port: int, process: subprocess.Popen[bytes], log: Path, greeting: bytes
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(5)
            if s.recv(200).startswith(greeting):
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text()[-2000:]}")


class _Server:
    """One server process; subclasses write its config and its command line."""

    name = ""
    greeting = b"220"

    def __init__(self, work: Path, *, tls: bool = False, rate: int = 0) -> None:
        self.work = work / self.name
        self.port = free_port()
        # Below the user's home: the test's own folders are closed to other users.
        self.root = HOME / f"{self.name}-{self.port}"
        self.tls = tls
        #: Bytes per second one upload may go at (0: no limit), to make uploads overlap.
        self.rate = rate
        self.certs: Certs | None = None
        self.log = self.work / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "", *, password: str = PASSWORD, **options: str) -> str:
        scheme = "ftps" if self.tls else "ftp"
        query = f"?{urlencode(options)}" if options else ""
        login = f"{quote(USER)}:{quote(password)}"
        return f"{scheme}://{login}@127.0.0.1:{self.port}/{quote(path)}{query}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> _Server:
        ensure_user()
        self.work.mkdir(parents=True, exist_ok=True)
        _owned(self.root)
        self.certs = make_certs(self.work / "certs", self.name)
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.work
            )
        _wait_listening(self.port, self._process, self.log, self.greeting)
        return self

    def stop(self) -> None:
        """Stop the server, also one that never came up, and remove its folder."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self) -> dict[str, bytes]:
        """Every file under the served folder, by path relative to it, with its bytes."""
        return {
            path.relative_to(self.root).as_posix(): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
        }

    def key_and_cert(self) -> tuple[Path, Path]:
        """The server's key and certificate as separate PEM files (some servers want two)."""
        assert self.certs is not None
        pem = self.certs.server.read_text()
        cut = pem.index("-----BEGIN CERTIFICATE-----")
        key, cert = self.work / "certs" / "key.pem", self.work / "certs" / "cert.pem"
        key.write_text(pem[:cut])
        cert.write_text(pem[cut:])
        key.chmod(0o600)
        return key, cert


class Vsftpd(_Server):
    name = "vsftpd"

    def command(self) -> list[str]:
        key, cert = self.key_and_cert()
        empty = self.work / "empty"
        empty.mkdir(exist_ok=True)
        empty.chmod(0o755)
        settings = {
            "listen": "YES",
            "listen_address": "127.0.0.1",
            "listen_port": str(self.port),
            "background": "NO",
            "anonymous_enable": "NO",
            "local_enable": "YES",
            "write_enable": "YES",
            "local_umask": "022",
            "local_root": str(self.root),
            "chroot_local_user": "YES",
            "allow_writeable_chroot": "YES",
            "check_shell": "NO",
            "pam_service_name": PAM_SERVICE,
            "secure_chroot_dir": str(empty),
            # Containers refuse the namespaces and the seccomp filter vsftpd would set up.
            "isolate": "NO",
            "isolate_network": "NO",
            "seccomp_sandbox": "NO",
            "port_enable": "YES",
            "connect_from_port_20": "NO",
            "vsftpd_log_file": str(self.work / "xfer.log"),
            "local_max_rate": str(self.rate),
            "ssl_enable": "YES" if self.tls else "NO",
            "rsa_cert_file": str(cert),
            "rsa_private_key_file": str(key),
            "force_local_logins_ssl": "YES" if self.tls else "NO",
            "force_local_data_ssl": "YES" if self.tls else "NO",
            # vsftpd's default, named for the reader: the data connection must resume the
            # control connection's TLS session.
            "require_ssl_reuse": "YES",
        }
        config = self.work / "vsftpd.conf"
        config.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        return [str(binary("vsftpd")), str(config)]


class PureFtpd(_Server):
    name = "pure-ftpd"

    def command(self) -> list[str]:
        key, cert = self.key_and_cert()
        passwd, db = self.work / "pureftpd.passwd", self.work / "pureftpd.pdb"
        # What `pure-pw useradd` writes, but with the password in SHA-512 crypt, which
        # pure-ftpd also takes: pure-pw's argon2 costs seconds of CPU per login here.
        hashed = subprocess.run(
            ["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True, text=True
        ).stdout.strip()
        uid, gid = _ids()
        passwd.write_text(f"{USER}:{hashed}:{uid}:{gid}::{self.root}/./::::::::::::\n")
        pure_pw = SERVERS / "usr/bin/pure-pw"
        subprocess.run(
            [str(pure_pw), "mkdb", str(db), "-f", str(passwd)], check=True, capture_output=True
        )
        command = [
            str(binary("pure-ftpd")),
            "--bind",
            f"127.0.0.1,{self.port}",
            "--login",
            f"puredb:{db}",
            "--noanonymous",
            "--dontresolve",
            "--verboselog",
            # 3: TLS for the login and every data connection, nothing in clear.
            "--tls",
            "3" if self.tls else "0",
            "--certfile",
            f"{cert},{key}",
        ]
        if self.rate:
            command += ["--userbandwidth", str(max(1, self.rate // 1024))]
        return command


class Proftpd(_Server):
    name = "proftpd"

    def command(self) -> list[str]:
        key, cert = self.key_and_cert()
        modules = SERVERS / "usr/lib/proftpd"
        lines = [
            f"ModulePath {modules}",
            "LoadModule mod_tls.c",
            'ServerName "asyncpdf tests"',
            "ServerType standalone",
            "DefaultAddress 127.0.0.1",
            f"Port {self.port}",
            "UseIPv6 off",
            "User nobody",
            "Group nogroup",
            "Umask 022",
            "MaxInstances 30",
            f"PidFile {self.work / 'proftpd.pid'}",
            f"ScoreboardFile {self.work / 'proftpd.scoreboard'}",
            f"DelayTable {self.work / 'proftpd.delay'}",
            f"SystemLog {self.work / 'proftpd.system.log'}",
            "WtmpLog off",
            "UseReverseDNS off",
            "RequireValidShell off",
            "AuthOrder mod_auth_unix.c",
            f"DefaultRoot {self.root}",
            "AllowOverwrite on",
            "<Limit LOGIN>\n  AllowAll\n</Limit>",
            "TLSEngine on",
            f"TLSLog {self.work / 'tls.log'}",
            "TLSProtocol TLSv1.2 TLSv1.3",
            f"TLSRSACertificateFile {cert}",
            f"TLSRSACertificateKeyFile {key}",
            f"TLSRequired {'on' if self.tls else 'off'}",
        ]
        if self.rate:
            lines.append(f"TransferRate STOR {max(1, self.rate // 1024)}")
        config = self.work / "proftpd.conf"
        config.write_text("\n".join(lines) + "\n")
        return [str(binary("proftpd")), "--nodaemon", "--config", str(config)]


class Sshd(_Server):
    """OpenSSH's sshd with its own host key and config; SFTP by its built-in internal-sftp.
    `client_key` logs the user in, as does the password; `known_hosts` lists the host key."""

    name = "sshd"
    greeting = b"SSH-2.0-"

    @property
    def client_key(self) -> Path:
        return self.work / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.work / "known_hosts"

    @property
    def _authorized(self) -> Path:
        return HOME / f"{self.name}-{self.port}.authorized_keys"

    def stop(self) -> None:
        super().stop()
        self._authorized.unlink(missing_ok=True)

    def url(self, path: str = "", *, password: str | None = PASSWORD, **options: str) -> str:
        """`path` below the served folder (SFTP paths are absolute)."""
        query = f"?{urlencode(options)}" if options else ""
        login = quote(USER) if password is None else f"{quote(USER)}:{quote(password)}"
        folder = quote(f"{self.root}/{path}".rstrip("/"))
        return f"sftp://{login}@127.0.0.1:{self.port}{folder}{query}"

    def command(self) -> list[str]:
        host_key = self.work / "host_key"
        for key in (host_key, self.client_key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
                )
        # Read by sshd as the user, who may not enter the test's folders.
        authorized = self._authorized
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        public = host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        # sshd's privilege separation needs its user and folder, as its package makes them.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        try:
            pwd.getpwnam("sshd")
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--home-dir",
                    "/run/sshd",
                    "--shell",
                    "/usr/sbin/nologin",
                    "sshd",
                ],
                check=True,
            )
        settings = [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {self.work / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            f"AllowUsers {USER}",
            "Subsystem sftp internal-sftp",
        ]
        config = self.work / "sshd_config"
        config.write_text("\n".join(settings) + "\n")
        return [str(binary("sshd")), "-D", "-e", "-f", str(config)]


FTP_SERVERS: dict[str, type[_Server]] = {
    server.name: server for server in (Vsftpd, PureFtpd, Proftpd)
}


@contextlib.contextmanager
def running(kind: str, work: Path, **options: object) -> Iterator[_Server]:
    """`kind` (vsftpd, pure-ftpd, proftpd or sshd) started with its files in `work`; stopped
    and its served folder removed after, also when it did not come up."""
    server = {**FTP_SERVERS, Sshd.name: Sshd}[kind](work, **options)  # type: ignore[arg-type]
    try:
        server.start()
        yield server
    finally:
        server.stop()
