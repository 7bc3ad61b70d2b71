"""The README's table of every config field, its default and what it is for, made from the
settings model itself (the `#:` comment above each field is its description), so the table
cannot drift from the code: a test compares it with the README.

    python -m asyncpdf.config_table README.md    # rewrite the table in place
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from asyncpdf.config import Settings

START = "<!-- config-table:start (python -m asyncpdf.config_table README.md) -->"
END = "<!-- config-table:end -->"
MAX_DEFAULT = 60
_DOC = re.compile(r"((?:^[ \t]*#:.*\n)+)[ \t]*(\w+)\s*:", re.MULTILINE)


def _docs(model: type[BaseModel]) -> dict[str, str]:
    """Each field's `#:` comment, joined into one line."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    found = {}
    for comment, name in _DOC.findall(source):
        lines = [line.strip().removeprefix("#:").strip() for line in comment.splitlines()]
        found[name] = " ".join(lines)
    return found


def _models(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (directly, optionally, or as a list of them), and whether it
    is a list."""
    origin = get_origin(annotation)
    if origin in (tuple, list):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        model, _ = _models(args[0]) if len(args) == 1 else (None, False)
        return model, True
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            model, listed = _models(arg)
            if model is not None:
                return model, listed
        return None, False
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _shown(default: Any) -> str:
    if default is PydanticUndefined:
        return "required"
    text = json.dumps(_plain(default), ensure_ascii=False)
    if len(text) > MAX_DEFAULT:
        text = f"{text[: MAX_DEFAULT - 1]}…"
    return f"`{text}`".replace("|", "\\|")


def rows(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(dotted name, default, description) of every field, nested models unfolded."""
    docs = _docs(model)
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        inner, listed = _models(field.annotation)
        if inner is not None and (listed or field.default is None):
            shown = _shown(field.get_default(call_default_factory=True))
            what = "a list of:" if listed else "optional; when given:"
            doc = docs.get(name, "")
            yield key, shown, f"{doc} ({what})" if doc else what
            yield from rows(inner, f"{key}[]." if listed else f"{key}.")
        elif inner is not None:
            yield from rows(inner, f"{key}.")
        else:
            yield key, _shown(field.get_default(call_default_factory=True)), docs.get(name, "")


def table() -> str:
    lines = ["| field | default | what it is for |", "| --- | --- | --- |"]
    for key, default, doc in rows():
        escaped = doc.replace("|", "\\|")
        lines.append(f"| `{key}` | {default} | {escaped} |")
    return "\n".join(lines)


def with_table(text: str) -> str:
    """`text` with the part between the markers replaced by the current table."""
    start, end = text.index(START) + len(START), text.index(END)
    return f"{text[:start]}\n{table()}\n{text[end:]}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m asyncpdf.config_table README.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
