"""What an `sftp://` target says: `sftp://user[:password]@host[:port]/folder?opt=value`.

The folder is absolute, as curl and OpenSSH's sftp read it; `/~/folder` is one below the
login folder. The server is known by its host key, looked up in a known_hosts file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from asyncpdf.delivery.base import Existing
from asyncpdf.delivery.ftp_options import (
    SHARED_PARSERS,
    absolute_path,
    check_one_password,
    parse_query,
)

OPTIONS: Mapping[str, str] = {
    "key_file": "absolute path of the private key (OpenSSH format, no passphrase) to log in "
    "with, instead of a password",
    "known_hosts": "absolute path of the known_hosts file the server's host key must be in "
    "(default: ~/.ssh/known_hosts of the service's user)",
    "rename": "yes (default) uploads under a temporary name and renames it when complete; no "
    "writes straight to the final name",
    "existing": "rename, fail or replace: what to do where another file has the name, for "
    "this target (default: delivery.existing)",
    "timeout_s": "seconds to connect and to wait for each reply (default 30)",
    "idle_s": "seconds a transfer may make no progress (default 60)",
    "connections": "deliveries at most to this target at once (default 2)",
    "password_env": "environment variable holding the password, read at each upload",
    "password_file": "absolute path of a file holding the password, read at each upload",
}
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"

_PARSERS: Mapping[str, tuple[str, Callable[[str], Any]]] = {
    "key_file": ("key_file", absolute_path),
    "known_hosts": ("known_hosts", absolute_path),
    **SHARED_PARSERS,
}


@dataclass(frozen=True)
class SftpOptions:
    host: str
    port: int
    user: str
    folder: PurePosixPath
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None
    key_file: str | None = None
    known_hosts: str = DEFAULT_KNOWN_HOSTS
    rename: bool = True
    existing: Existing | None = None
    timeout_s: float = 30.0
    idle_s: float = 60.0
    connections: int = 2

    @classmethod
    def from_url(cls, url: str) -> SftpOptions:
        """The target's options; ValueError naming the first one that is wrong."""
        parts = urlsplit(url)
        if parts.scheme != "sftp":
            raise ValueError("an SFTP target starts with sftp://")
        if parts.fragment:
            raise ValueError("the target has a '#' part (write '#' in a password as %23)")
        try:
            port = parts.port or 22
        except ValueError:
            raise ValueError("the target's port must be a number from 1 to 65535") from None
        if not parts.hostname:
            raise ValueError("the target names no host")
        if not parts.username:
            raise ValueError("an SFTP target names its user: sftp://user@host/folder")
        values = parse_query(parts.query, _PARSERS, OPTIONS, {})
        password = unquote(parts.password) if parts.password is not None else None
        check_one_password(password, values)
        if "key_file" in values and (
            password is not None or len(values.keys() & {"password_env", "password_file"})
        ):
            raise ValueError("log in with key_file or with a password, not both")
        path = unquote(parts.path) or "/"
        folder = PurePosixPath(path[3:] or ".") if path.startswith("/~/") else PurePosixPath(path)
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            folder=folder,
            password=password,
            **values,
        )
