"""Settings: `config.yaml` validated by pydantic, every field overridable by env vars.

Nested fields use `__` in the variable name (`ASYNCPDF_WEB__PORT=8801`); lists such as
`ASYNCPDF_PRESSES` take JSON. Relative paths and `file:` targets resolve against the directory
of the config file, so the shipped config works from a fresh checkout.
"""

from __future__ import annotations

import json
import os
import re
import string
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from asyncpdf.delivery import Existing, schemes
from asyncpdf.errors import ConfigError
from asyncpdf.pdf.rules import PressSpec, Rules

DEFAULT_IGNORE = (
    ".*",
    "~$*",
    "*.tmp",
    "*.part",
    "Thumbs.db",
    "desktop.ini",
)
MARK_GROUPS = frozenset({"press", "bureau", "paper_w", "paper_h"})
TEMPLATE_FIELDS = frozenset(
    {"order", "name", "stem", "ext", "press", "plate_w", "plate_h", "plates", "inks_short"}
)
_NUMBER = r"\d+(?:[.,]\d+)?"
_TIMES = r"\s*[xXхХ×*]\s*"
DEFAULT_MARK_RULES: tuple[dict[str, str], ...] = (
    {"mark": "Outputter", "pattern": r"(?:Выведено|Outputter)\s*:\s*(?P<bureau>[^\s:]+)"},
    {"mark": "Machine", "pattern": r"(?:Машина|Machine)\s*:\s*(?P<press>[^\s:]+)"},
    {
        "mark": "Paper",
        "pattern": rf"(?:Бумага|Paper)\s*:\s*(?P<paper_w>{_NUMBER}){_TIMES}(?P<paper_h>{_NUMBER})",
    },
    # Signa 15 "Выведено: Vonoel     Speedmaster 900,0 x 640,0" and Signa 16
    # "Выведено: Vonoel     tes / Speedmaster 900.0 x 640.0".
    {
        "mark": "tes_Outputter",
        "pattern": rf"(?:Выведено|Outputter)\s*:\s*(?P<bureau>[^\s:]+)\s+(?:\S+\s*/\s*)?"
        rf"(?P<press>[^\s:/]+)\s+(?P<paper_w>{_NUMBER}){_TIMES}(?P<paper_h>{_NUMBER})",
    },
)


def _check_target(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in schemes():
        raise ValueError(f"target scheme {scheme!r} is not supported (use {schemes()})")
    return value


Target = Annotated[str, AfterValidator(_check_target)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Model):
    hotfolder: Path = Path("var/hotfolder")
    spool: Path = Path("var/spool")
    done: Path = Path("var/done")
    error: Path = Path("var/error")
    previews: Path = Path("var/previews")
    database: Path = Path("var/asyncpdf.sqlite3")

    def resolved(self, base: Path) -> Paths:
        """Absolute, `..`-free paths; a folder inside the hotfolder is refused, since it would
        be watched and its files claimed again."""
        paths = self.model_copy(update={name: (base / value).resolve() for name, value in self})
        for name in ("spool", "done", "error", "previews", "database"):
            inner = getattr(paths, name)
            if inner == paths.hotfolder or paths.hotfolder in inner.parents:
                raise ConfigError(f"paths.{name} must not be inside paths.hotfolder")
        return paths


class Watch(_Model):
    settle_s: float = Field(2.0, ge=0)
    poll_s: float = Field(0.5, gt=0)
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    extra_ignore: tuple[str, ...] = ()

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.ignore + self.extra_ignore


class Pool(_Model):
    workers: int = Field(2, ge=1, le=64)
    jobs: int = Field(4, ge=1, le=256)
    job_timeout_s: float = Field(120.0, gt=0)
    #: Address space of each worker and its Ghostscript; None for no limit.
    worker_memory_mb: int | None = Field(2048, ge=512)


class MarkRule(_Model):
    """A regular expression over the text of the Signa mark named `mark` (case-insensitive).

    Its named groups say what it finds: press, bureau, paper_w, paper_h (mm).
    """

    mark: str = Field(min_length=1)
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            groups = set(re.compile(value).groupindex)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if not groups or not groups <= MARK_GROUPS:
            raise ValueError(f"named groups must be some of {sorted(MARK_GROUPS)}")
        return value


class Previews(_Model):
    dpi: int = Field(150, ge=36, le=1200)
    proof_width_px: int = Field(2500, ge=100, le=10000)
    thumb_width_px: int = Field(175, ge=16, le=2000)


class DeliverySettings(_Model):
    #: Tries per delivery before it is `failed`; between them it waits in the database.
    attempts: int = Field(8, ge=1, le=50)
    #: Wait after the first failed try; doubled after each, with jitter, up to max_delay_s.
    backoff_s: float = Field(5.0, ge=0)
    max_delay_s: float = Field(300.0, ge=0)
    #: Deliveries sent at once (bureau copies first).
    parallel: int = Field(4, ge=1, le=64)
    #: A different file of the same name already at the target: rename | fail | replace.
    existing: Existing = Existing.RENAME


class Press(_Model):
    name: str = Field(min_length=1)
    plate_mm: tuple[float, float]
    gripper_mm: float = Field(ge=0)
    plate_cost: float = Field(0.0, ge=0)
    preview_target: Target | None = None
    plate_size_fallback: bool = False
    #: Other names marks may give this press (e.g. "SM102").
    aliases: tuple[str, ...] = ()

    @field_validator("plate_mm")
    @classmethod
    def _positive(cls, value: tuple[float, float]) -> tuple[float, float]:
        if min(value) <= 0:
            raise ValueError("plate sizes must be positive")
        return value


class Bureau(_Model):
    name: str = Field(min_length=1)
    target: Target
    notify: bool = True
    file_name: str | None = None
    press_folders: dict[str, str] = {}
    #: Other names marks may give this bureau.
    aliases: tuple[str, ...] = ()

    @field_validator("file_name")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from exc
        unknown = fields - TEMPLATE_FIELDS
        if unknown:
            raise ValueError(
                f"unknown template fields {sorted(unknown)}; known: {sorted(TEMPLATE_FIELDS)}"
            )
        return value


class Web(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8800, ge=0, le=65535)
    #: Live-log websockets open at once (never more than 3/8 of the open-files limit); more are
    #: refused with 503.
    max_websockets: int = Field(100, ge=0, le=100_000)
    #: Connections held at once, websockets included (never more than three quarters of the
    #: open-files limit); one more gets a 503 and is closed at once.
    max_connections: int = Field(512, ge=1, le=1_000_000)
    #: Origins besides the page's own (scheme://host[:port] of the request's Host) whose pages
    #: may open the live log, e.g. the address a reverse proxy serves it on.
    origins: tuple[str, ...] = ()

    @staticmethod
    def normal_origin(value: str) -> str | None:
        """`scheme://host:port`, lower case with the port spelled out, or None if `value` is
        not an http(s) origin (a browser's `Origin: null`, a path, a user name)."""
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            return None
        default = {"http": 80, "https": 443}.get(parts.scheme)
        if default is None or not parts.hostname or parts.username is not None:
            return None
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{parts.scheme}://{host}:{port or default}"

    @field_validator("origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if cls.normal_origin(origin) is None:
                raise ValueError(
                    "each origin must be http(s)://host[:port], e.g. https://prepress.example.com"
                )
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASYNCPDF_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    paths: Paths = Paths()
    watch: Watch = Watch()
    pool: Pool = Pool()
    delivery: DeliverySettings = DeliverySettings()
    previews: Previews = Previews()
    marks: tuple[MarkRule, ...] = tuple(MarkRule(**rule) for rule in DEFAULT_MARK_RULES)
    plate_tolerance_mm: float = Field(2.0, ge=0)
    max_file_mb: float = Field(2048, gt=0)
    presses: tuple[Press, ...] = ()
    bureaus: tuple[Bureau, ...] = ()
    web: Web = Web()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init data; the environment must win over it.
        return env_settings, init_settings, file_secret_settings

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for kind, items in (("presses", self.presses), ("bureaus", self.bureaus)):
            names = [item.name.casefold() for item in items]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: duplicate names {duplicates}")
        presses = {p.name.casefold() for p in self.presses}
        for bureau in self.bureaus:
            unknown = sorted(k for k in bureau.press_folders if k.casefold() not in presses)
            if unknown:
                raise ValueError(
                    f"bureaus: {bureau.name}: press_folders names unknown presses {unknown}"
                )
        return self

    def bureau(self, name: str) -> Bureau | None:
        return next((b for b in self.bureaus if b.name.casefold() == name.casefold()), None)

    def press(self, name: str) -> Press | None:
        return next((p for p in self.presses if p.name.casefold() == name.casefold()), None)

    def rules(self) -> Rules:
        """The analysis rules, as plain data for the pool workers."""
        return Rules(
            presses=tuple(
                PressSpec(p.name, p.plate_mm, p.plate_size_fallback) for p in self.presses
            ),
            bureaus=tuple(b.name for b in self.bureaus),
            marks=tuple((rule.mark, rule.pattern) for rule in self.marks),
            tolerance_mm=self.plate_tolerance_mm,
            max_file_mb=self.max_file_mb,
            press_aliases=tuple((a, p.name) for p in self.presses for a in p.aliases),
            bureau_aliases=tuple((a, b.name) for b in self.bureaus for a in b.aliases),
        )


_ENV_PREFIX = "ASYNCPDF_"
_ENV_NESTING = "__"
Loc = tuple[int | str, ...]


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset into `text`."""
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _not_utf8(source: Path, error: UnicodeDecodeError) -> str:
    byte = error.object[error.start]
    return f"{source}: not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); save it as UTF-8"


class _Loader(yaml.SafeLoader):
    """SafeLoader whose bad tagged values (`!!int abc`) fail as YAML errors at their node,
    not as a ValueError quoting the value."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, TypeError) as exc:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid {tag} value", node.start_mark
            ) from exc


def _not_yaml(source: Path, text: str, error: yaml.YAMLError) -> str:
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


def _where(source: Path, text: str, loc: Loc, error_type: str = "") -> tuple[str, bool]:
    """`environment VAR` when the environment set the field at `loc`, else the file and the
    field's line in it when it can be found; and whether VAR is the field's own variable."""
    variable = _env_variable(loc, error_type)
    if variable is not None:
        own = variable.upper() == _ENV_PREFIX + _ENV_NESTING.join(map(str, loc)).upper()
        return f"environment {variable}", own
    line = _yaml_line(text, loc)
    return (f"{source}: line {line}" if line is not None else str(source)), False


def _format_error(source: Path, error: ValidationError, text: str = "") -> str:
    """One line: where (the file and line, or the environment variable), the field, and
    pydantic's `msg`, which never quotes the offending value (it may be a secret)."""
    first = error.errors()[0]
    loc: Loc = tuple(first["loc"])
    where, named = _where(source, text, loc, first["type"])
    msg = first["msg"]
    if first["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    field = "" if named else ".".join(str(part) for part in loc)
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return _one_line(f"{where}: {field + ': ' if field else ''}{msg}{more}")


def _settings_error(source: Path, error: SettingsError) -> str:
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


def _resolve_target(target: str, base: Path) -> str:
    parts = urlsplit(target)
    if parts.scheme == "file" and not parts.path.startswith("/"):
        return (base / parts.path).resolve().as_uri()
    return target


def load_settings(path: Path) -> Settings:
    """Read, validate and resolve the config file; raise ConfigError naming the bad field.

    Every message is one line naming the file and line (or the environment variable), and
    never quotes the file's text or a value, which may hold a password.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(_not_utf8(path, exc)) from exc
    try:
        data: Any = yaml.load(text, Loader=_Loader) or {}  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(_not_yaml(path, text, exc)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of settings")
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc, text)) from exc
    except SettingsError as exc:
        raise ConfigError(_settings_error(path, exc)) from exc
    base = path.resolve().parent
    try:
        paths = settings.paths.resolved(base)
    except ConfigError as exc:
        field = re.match(r"paths\.(\w+) ", str(exc))
        where, _ = _where(path, text, ("paths", field[1]) if field else ())
        raise ConfigError(_one_line(f"{where}: {exc}")) from exc
    bureaus = tuple(
        b.model_copy(update={"target": _resolve_target(b.target, base)}) for b in settings.bureaus
    )
    presses = tuple(
        p.model_copy(update={"preview_target": _resolve_target(p.preview_target, base)})
        if p.preview_target
        else p
        for p in settings.presses
    )
    return settings.model_copy(update={"paths": paths, "bureaus": bureaus, "presses": presses})
