"""Config error messages: one line each, naming the file and line (or the environment
variable) and the field, never quoting the file's text or a value (it may hold a password)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import SettingsError

_ENV_PREFIX = "ASYNCPDF_"
_ENV_NESTING = "__"
Loc = tuple[int | str, ...]


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset into `text`."""
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def not_utf8(source: Path, error: UnicodeDecodeError) -> str:
    byte = error.object[error.start]
    return f"{source}: not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); save it as UTF-8"


class _Constructing:
    """Bad tagged values (`!!int abc`) fail as YAML errors at their node, not as a ValueError
    quoting the value."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except (ValueError, KeyError, TypeError) as exc:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid {tag} value", node.start_mark
            ) from exc


class SafeLoader(_Constructing, yaml.SafeLoader):
    """PyYAML's own parser: its messages are the ones shown for a file that is not YAML."""


# libyaml's parser where PyYAML has it: the commented config.yaml parses in a few ms instead of
# a hundred (every command loads it, `asyncpdf analyze` too).
FastLoader: type[yaml.SafeLoader] = SafeLoader
if hasattr(yaml, "CSafeLoader"):

    class FastLoader(_Constructing, yaml.CSafeLoader):  # type: ignore[no-redef]
        """libyaml's parser; a file it refuses is read again by `SafeLoader` for the message."""


def load_yaml(text: str) -> Any:
    """The YAML document in `text` (safe types only); yaml.YAMLError as PyYAML words it."""
    try:
        return yaml.load(text, Loader=FastLoader)
    except yaml.YAMLError:
        return yaml.load(text, Loader=SafeLoader)


def not_yaml(source: Path, text: str, error: yaml.YAMLError) -> str:
    """Where and what, from the error's problem only: its context and snippet quote the file,
    which may hold a password in a target URL."""
    problem: str | None = None
    where = ""
    if isinstance(error, yaml.MarkedYAMLError):
        problem = error.problem
        if error.problem_mark is not None:
            mark = error.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: "
    elif isinstance(error, yaml.reader.ReaderError):
        line, column = _line_and_column(text, error.position)
        where = f"line {line}, column {column}: "
        problem = f"{error.reason} (#x{error.character:04x})"
    detail = f" ({problem})" if problem else ""
    return _one_line(f"{source}: {where}not valid YAML{detail}")


def _yaml_line(text: str, loc: Loc) -> int | None:
    """The line of the deepest part of `loc` found in the YAML file, or None."""
    if not loc:
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(
                ((key, value) for key, value in node.value if key.value == str(part)), None
            )
            if found is None:
                break
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _env_holds(value: str, rest: Loc, error_type: str) -> bool:
    """Whether the JSON `value` of a section's variable supplies the field at `rest` inside it.

    The environment's mappings merge into the file's key by key; anything else (a list, a
    scalar) replaces what the file had.
    """
    if not rest:
        return True
    try:
        data: Any = json.loads(value)
    except ValueError:
        return True
    for index, part in enumerate(rest):
        if not isinstance(data, dict):
            return True
        if str(part) not in data:
            return error_type == "missing" and index == len(rest) - 1
        data = data[str(part)]
    return True


def _env_variable(loc: Loc, error_type: str = "") -> str | None:
    """The ASYNCPDF_ variable the value at `loc` came from, if the environment set it.

    Names are matched case-insensitively, as pydantic-settings does by default. Tried in turn:
    the field's own variable, a section's JSON variable that holds it, and a variable for a
    field inside it (ASYNCPDF_PRESSES__0__NAME makes `presses` a mapping).
    """
    names = {name.upper(): name for name in os.environ}
    parts = [str(part).upper() for part in loc]
    for end in range(len(parts), 0, -1):
        name = names.get(_ENV_PREFIX + _ENV_NESTING.join(parts[:end]))
        if name is not None and _env_holds(os.environ[name], loc[end:], error_type):
            return name
    if not parts:
        return None
    below = _ENV_PREFIX + _ENV_NESTING.join(parts) + _ENV_NESTING
    return next((names[upper] for upper in sorted(names) if upper.startswith(below)), None)


def _locate(source: Path, text: str, loc: Loc, error_type: str = "") -> tuple[str, bool]:
    """`environment VAR` when the environment set the field at `loc`, else the file and the
    field's line in it when it can be found; and whether VAR is the field's own variable."""
    variable = _env_variable(loc, error_type)
    if variable is not None:
        own = variable.upper() == _ENV_PREFIX + _ENV_NESTING.join(map(str, loc)).upper()
        return f"environment {variable}", own
    line = _yaml_line(text, loc)
    return (f"{source}: line {line}" if line is not None else str(source)), False


def invalid(source: Path, error: ValidationError, text: str = "") -> str:
    """One line: where (the file and line, or the environment variable), the field, and
    pydantic's `msg`, which never quotes the offending value (it may be a secret)."""
    first = error.errors()[0]
    loc: Loc = tuple(first["loc"])
    place, named = _locate(source, text, loc, first["type"])
    msg = first["msg"]
    if first["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    field = "" if named else ".".join(str(part) for part in loc)
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return _one_line(f"{place}: {field + ': ' if field else ''}{msg}{more}")


def unparsable_env(source: Path, error: SettingsError) -> str:
    """An environment variable pydantic-settings could not parse (JSON for a list or section)."""
    field = re.search(r'field "([^"]+)"', str(error))
    variable = _env_variable((field[1],)) if field else None
    if variable is None:
        return _one_line(f"{source}: environment: {error}")
    cause = error.__cause__
    if isinstance(cause, json.JSONDecodeError):
        return (
            f"environment {variable}: not valid JSON "
            f"({cause.msg} at line {cause.lineno}, column {cause.colno})"
        )
    return f"environment {variable}: cannot parse the value"


def where(source: Path, text: str, loc: Loc) -> str:
    """`environment VAR` or the file and line of the field at `loc`."""
    return _locate(source, text, loc)[0]
