"""What an `ftp://` or `ftps://` target says: `ftp://user[:password]@host[:port]/folder?opt=value`.

The folder is relative to the login folder, as curl reads FTP URLs (`/%2F` starts an absolute
one). One parser for the config's check and for the upload, so both read a target alike.
Messages name the option and never quote a value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from asyncpdf.delivery.base import Existing

#: Every option a target may carry, with what it does (for the docs and the error messages).
OPTIONS: Mapping[str, str] = {
    "mode": "passive (default) or active: who opens the data connection; active sends PORT",
    "tls_verify": "ftps only; yes (default) checks the server's certificate and host name "
    "against the system's CAs (or ca_file), no takes any certificate",
    "ca_file": "ftps only; absolute path of a PEM file of the CA to trust instead of the "
    "system's (e.g. a bureau's self-signed certificate)",
    "rename": "yes (default) uploads under a temporary name and renames it when complete; no "
    "writes straight to the final name, for servers that cannot rename: a partial file can "
    "then appear under the final name while it is sent or after a failure",
    "existing": "rename, fail or replace: what to do where another file has the name, for "
    "this target (default: delivery.existing)",
    "timeout_s": "seconds to connect and to wait for each reply (default 30)",
    "idle_s": "seconds a transfer may make no progress (default 60)",
    "connections": "deliveries at most to this target at once (default 2); others wait for "
    "a free one in the database, holding none of delivery.parallel",
    "password_env": "environment variable holding the password, read at each upload",
    "password_file": "absolute path of a file holding the password, read at each upload",
}
TLS_ONLY = frozenset({"tls_verify", "ca_file"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def yes_no(text: str) -> bool:
    if text not in ("yes", "no"):
        raise ValueError("must be yes or no")
    return text == "yes"


def _passive(text: str) -> bool:
    if text not in ("passive", "active"):
        raise ValueError("must be passive or active")
    return text == "passive"


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:
        raise ValueError("must be a number of seconds above 0, at most 3600")
    return value


def existing(text: str) -> Existing:
    try:
        return Existing(text)
    except ValueError:
        raise ValueError("must be rename, fail or replace") from None


def connections(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise ValueError("must be a whole number from 1 to 32")
    return int(text)


def env_name(text: str) -> str:
    if not _ENV_NAME.fullmatch(text):
        raise ValueError("must be the name of an environment variable")
    return text


def absolute_path(text: str) -> str:
    if not text.startswith("/"):
        raise ValueError("must be an absolute path")
    return text


# Option name -> (field of the options, parser of its text): what FTP and SFTP share.
SHARED_PARSERS: Mapping[str, tuple[str, Callable[[str], Any]]] = {
    "rename": ("rename", yes_no),
    "existing": ("existing", existing),
    "timeout_s": ("timeout_s", seconds),
    "idle_s": ("idle_s", seconds),
    "connections": ("connections", connections),
    "password_env": ("password_env", env_name),
    "password_file": ("password_file", absolute_path),
}
_PARSERS: Mapping[str, tuple[str, Callable[[str], Any]]] = {
    "mode": ("passive", _passive),
    "tls_verify": ("tls_verify", yes_no),
    "ca_file": ("ca_file", absolute_path),
    **SHARED_PARSERS,
}


@dataclass(frozen=True)
class FtpOptions:
    tls: bool
    host: str
    port: int
    user: str
    folder: PurePosixPath
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None
    passive: bool = True
    tls_verify: bool = True
    ca_file: str | None = None
    rename: bool = True
    existing: Existing | None = None
    timeout_s: float = 30.0
    idle_s: float = 60.0
    connections: int = 2

    @classmethod
    def from_url(cls, url: str) -> FtpOptions:
        """The target's options; ValueError naming the first one that is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in ("ftp", "ftps"):
            raise ValueError("an FTP target starts with ftp:// or ftps://")
        if parts.fragment:
            raise ValueError("the target has a '#' part (write '#' in a password as %23)")
        try:
            port = parts.port or 21
        except ValueError:
            raise ValueError("the target's port must be a number from 1 to 65535") from None
        if not parts.hostname:
            raise ValueError("the target names no host")
        values = _options(parts.query, tls=parts.scheme == "ftps")
        password = unquote(parts.password) if parts.password is not None else None
        check_one_password(password, values)
        if "ca_file" in values and values.get("tls_verify") is False:
            raise ValueError("target option ca_file has no use with tls_verify=no")
        return cls(
            tls=parts.scheme == "ftps",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username) if parts.username else "anonymous",
            folder=PurePosixPath(unquote(parts.path).removeprefix("/")),
            password=password,
            **values,
        )


def check_one_password(password: str | None, values: Mapping[str, Any]) -> None:
    given = [
        name
        for name, there in (
            ("a password in the URL", password is not None),
            ("password_env", "password_env" in values),
            ("password_file", "password_file" in values),
        )
        if there
    ]
    if len(given) > 1:
        raise ValueError(f"give the password one way, not several ({', '.join(given)})")


def _options(query: str, *, tls: bool) -> dict[str, Any]:
    refused = {} if tls else {name: "is for ftps:// targets only" for name in TLS_ONLY}
    return parse_query(query, _PARSERS, OPTIONS, refused)


def parse_query(
    query: str,
    parsers: Mapping[str, tuple[str, Callable[[str], Any]]],
    known: Mapping[str, str],
    refused: Mapping[str, str],
) -> dict[str, Any]:
    """The target's options by field name, read by `parsers`; ValueError naming the first
    one that is unknown, given twice, `refused` here (with why) or wrong."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError("the target's options must read ?name=value&name=value") from None
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for name, text in pairs:
        if name not in parsers:
            raise ValueError(f"unknown target option {name!r} (known: {', '.join(known)})")
        if name in seen:
            raise ValueError(f"target option {name} is given twice")
        if name in refused:
            raise ValueError(f"target option {name} {refused[name]}")
        seen.add(name)
        key, parse = parsers[name]
        try:
            values[key] = parse(text)
        except ValueError as exc:
            raise ValueError(f"target option {name} {exc}") from None
    return values
