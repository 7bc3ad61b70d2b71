"""The `web.auth` section of the config, and the password hashes it holds.

A user's password is kept only as `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`, made by
`asyncpdf hash-password`; a bearer token (for scripts) as the hex sha256 of it, or read from
`token_env` / `token_file` and hashed at load. No secret is held as given, and no error quotes
one. Importable without asyncpdf.config, whose `Web` includes `AuthSettings` as `auth`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from asyncpdf.credentials import SecretUnavailable, read_secret

SCHEME = "pbkdf2_sha256"
MIN_ITERATIONS = 200_000
#: More than this is a config mistake that would make each login take minutes.
MAX_ITERATIONS = 10_000_000
DEFAULT_ITERATIONS = 600_000
SALT_BYTES = 16
HASH_HINT = "run `asyncpdf hash-password` and put its output in password_hash"
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Model(BaseModel):
    # hide_input_in_errors: the input of a failing model may hold a password or token.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """The `pbkdf2_sha256$…` line for `password`, with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    encode = base64.b64encode
    return f"{SCHEME}${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def _parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """(iterations, salt, digest); ValueError naming what is wrong, never quoting the value."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != SCHEME or not parts[1].isdigit():
        raise ValueError(f"not a hash in the form {SCHEME}$<iterations>$<salt>$<hash>; {HASH_HINT}")
    iterations = int(parts[1])
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(
            f"iterations must be {MIN_ITERATIONS} to {MAX_ITERATIONS}; {HASH_HINT} again"
        )
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except binascii.Error:
        raise ValueError(f"the salt or hash is not base64; {HASH_HINT}") from None
    if len(salt) < SALT_BYTES or len(digest) != hashlib.sha256().digest_size:
        raise ValueError(f"the salt or hash has the wrong length; {HASH_HINT}")
    return iterations, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches the hash (CPU-bound: call it off the event loop)."""
    iterations, salt, digest = _parse_hash(encoded)
    given = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(given, digest)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class User(_Model):
    name: str = Field(min_length=1)
    password_hash: str

    @model_validator(mode="before")
    @classmethod
    def _no_plain_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(f"password: a plain password is not accepted here; {HASH_HINT}")
        return data

    @field_validator("name")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        # Basic credentials are "name:password": a colon in the name could never log in.
        if ":" in value:
            raise ValueError("a user name must not contain ':'")
        return value

    @field_validator("password_hash")
    @classmethod
    def _hash_shape(cls, value: str) -> str:
        _parse_hash(value)
        return value


class Token(_Model):
    """A bearer token for scripts, held as its hex sha256 only."""

    name: str = Field(min_length=1)
    token_sha256: str

    @model_validator(mode="before")
    @classmethod
    def _hash_given_token(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "token" in data:
            raise ValueError(
                "token: a plain token is not accepted here; give token_sha256 (its hex "
                "sha256), token_env or token_file"
            )
        env, file = data.pop("token_env", None), data.pop("token_file", None)
        sources = {"token_sha256": data.get("token_sha256"), "token_env": env, "token_file": file}
        given = [name for name, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of token_sha256, token_env, token_file")
        if given[0] == "token_sha256":
            return data
        for name, source in (("token_env", env), ("token_file", file)):
            if source is not None and not isinstance(source, str | Path):
                raise ValueError(f"{name} must be a string (quote it in YAML)")
        try:
            token = read_secret(env=env, file=file)
        except SecretUnavailable as exc:
            raise ValueError(f"{given[0]}: {exc}") from None
        if token is None:
            raise ValueError(f"{given[0]}: empty")
        data["token_sha256"] = token_sha256(token)
        return data

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX_SHA256.fullmatch(value):
            raise ValueError("must be 64 hex digits, the sha256 of the token")
        return value


class AuthSettings(_Model):
    """Who may change things (every method but GET/HEAD/OPTIONS), and who may read."""

    users: tuple[User, ...] = ()
    tokens: tuple[Token, ...] = ()
    #: open: pages, API reads and the live log answer without credentials (on the LAN);
    #: protected: they need them too.
    read: Literal["open", "protected"] = "open"
    #: /healthz, /readyz, /metrics.
    probes: Literal["open", "protected"] = "open"

    @model_validator(mode="after")
    def _consistent(self) -> AuthSettings:
        for kind, names in (
            ("users", [u.name.casefold() for u in self.users]),
            ("tokens", [t.name.casefold() for t in self.tokens]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: duplicate names {duplicates}")
        if not self.configured and "protected" in (self.read, self.probes):
            raise ValueError(
                "read or probes is protected but no users or tokens are set: nobody could "
                f"get in; add web.auth.users ({HASH_HINT})"
            )
        return self

    @property
    def configured(self) -> bool:
        return bool(self.users or self.tokens)
