"""Where a secret (an FTP password, a bot token, an SMS key, a webhook secret) comes from: the
config itself, an environment variable or a file, exactly one of them. Errors name the source,
never the value."""

from __future__ import annotations

import os
from pathlib import Path


class SecretUnavailable(ValueError):
    """A named source holds no secret: the message says which one and how to fix it."""


def read_secret(
    *, value: str | None = None, env: str | None = None, file: str | Path | None = None
) -> str | None:
    """The secret from whichever one source is given, or None when none is; a trailing
    newline in a file (as `echo` writes) is not part of it."""
    given = [name for name, source in (("value", value), ("env", env), ("file", file)) if source]
    if len(given) > 1:
        raise SecretUnavailable(f"give the secret one way, not several ({', '.join(given)})")
    if value:
        return value
    if env:
        found = os.environ.get(env)
        if not found:
            raise SecretUnavailable(f"environment variable {env} is not set or empty")
        return found
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretUnavailable(
                f"cannot read the secret file {file}: {exc.strerror or exc}"
            ) from None
        if not text:
            raise SecretUnavailable(f"the secret file {file} is empty")
        return text
    return None
