"""Settings: `config.yaml` validated by pydantic, every field overridable by env vars.

Nested fields use `__` in the variable name (`ASYNCPDF_WEB__PORT=8801`); lists such as
`ASYNCPDF_PRESSES` take JSON. Relative paths and `file:` targets resolve against the directory
of the config file, so the shipped config works from a fresh checkout.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal
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

from asyncpdf.config_messages import (
    invalid,
    load_yaml,
    not_utf8,
    not_yaml,
    unparsable_env,
    where,
)
from asyncpdf.delivery import UPLOADERS, Existing, schemes
from asyncpdf.errors import ConfigError
from asyncpdf.notify.settings import NotifySettings
from asyncpdf.pdf.rules import PressSpec, Rules
from asyncpdf.web.auth_settings import AuthSettings

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
    UPLOADERS[scheme].check(value)
    return value


Target = Annotated[str, AfterValidator(_check_target)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Model):
    #: Where operators save plate files (the Samba share). Relative paths are from the
    #: config file's folder.
    hotfolder: Path = Path("var/hotfolder")
    #: Files of jobs in work; must be on the same file system as done/ and error/.
    spool: Path = Path("var/spool")
    #: Originals of finished jobs (delivered, imported, duplicates).
    done: Path = Path("var/done")
    #: Originals of failed and rejected jobs, each with `<name>.error.txt` saying why.
    error: Path = Path("var/error")
    #: Proofs, thumbnails and press previews, one folder per job.
    previews: Path = Path("var/previews")
    #: The SQLite database (jobs, deliveries, log, outbox, events).
    database: Path = Path("var/asyncpdf.sqlite3")

    def resolved(self, base: Path) -> Paths:
        """Absolute, `..`-free paths."""
        return self.model_copy(update={name: (base / value).resolve() for name, value in self})

    def inside_hotfolder(self) -> str | None:
        """The first path that lies inside the hotfolder: it would be watched and its files
        claimed again."""
        for name in ("spool", "done", "error", "previews", "database"):
            inner = getattr(self, name)
            if inner == self.hotfolder or self.hotfolder in inner.parents:
                return name
        return None


class Watch(_Model):
    #: A file is taken once its size and time have not changed for this long.
    settle_s: float = Field(2.0, ge=0)
    #: How often files waiting to settle are looked at at most; a new file is first looked at
    #: at once, and taken as soon as it has settled.
    poll_s: float = Field(0.5, gt=0)
    #: Names never taken (temporary and system files), case-insensitive patterns.
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    #: More such patterns, added to `ignore`.
    extra_ignore: tuple[str, ...] = ()
    #: Take files saved into sub-folders too (watched as they appear, up to MAX_DEPTH deep);
    #: off, such files are listed as not taken, with their folder.
    recursive: bool = False

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.ignore + self.extra_ignore


class Pool(_Model):
    #: Worker processes analysing files and making previews (CPU cores to use).
    workers: int = Field(2, ge=1, le=64)
    #: Jobs under way at once.
    jobs: int = Field(4, ge=1, le=256)
    #: A file whose analysis or previews take longer fails with that reason.
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


class Disk(_Model):
    #: Free space the spool's and the database's file systems must keep: below it the service
    #: is not ready and leaves new files in the hotfolder until space returns.
    min_free_mb: int = Field(1024, ge=0)


class Retention(_Model):
    #: Days a delivered job's original stays in done/ after the job ended; 0 keeps it forever.
    #: Nothing in error/ is ever removed.
    done_days: int = Field(0, ge=0)


class Previews(_Model):
    #: Image resolution of the press preview PDF.
    dpi: int = Field(150, ge=36, le=1200)
    #: Width of the proof image on the job page.
    proof_width_px: int = Field(2500, ge=100, le=10000)
    #: Width of the thumbnail in the grid.
    thumb_width_px: int = Field(175, ge=16, le=2000)


class DeliverySettings(_Model):
    #: Tries per delivery before it is `failed`; between them it waits in the database.
    attempts: int = Field(8, ge=1, le=50)
    #: Wait after the first failed try; doubled after each, with jitter, up to max_delay_s.
    backoff_s: float = Field(5.0, ge=0)
    #: The longest wait between tries.
    max_delay_s: float = Field(300.0, ge=0)
    #: Deliveries sent at once (bureau copies first).
    parallel: int = Field(64, ge=1, le=256)
    #: A different file of the same name already at the target: rename | fail | replace.
    existing: Existing = Existing.RENAME
    #: A file whose checksum equals an earlier job's that was (or is being) delivered:
    #: skip (the job ends `duplicate`, pointing at the first) | deliver (send it again).
    duplicates: Literal["skip", "deliver"] = "skip"
    #: Import mode when the database has no switch yet (it is changed at run time through
    #: PUT /api/import-mode): jobs are analysed and recorded, nothing is uploaded.
    import_mode: bool = False


class Press(_Model):
    #: As the Signa marks name it.
    name: str = Field(min_length=1)
    #: The press's plate size, e.g. [1030, 770]; pages are matched to it within
    #: plate_tolerance_mm.
    plate_mm: tuple[float, float]
    #: Gripper margin, cut from the preview.
    gripper_mm: float = Field(ge=0)
    #: Price of one plate, for the totals and reports (0: not priced, said so).
    plate_cost: float = Field(0.0, ge=0)
    #: Where the press's cropped preview goes (file://, ftp://, ftps://, sftp://); none: not sent.
    preview_target: Target | None = None
    #: Take the press from the plate size when no mark names one (said in a warning).
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
    #: As the Signa marks (or the file name's last part) name it.
    name: str = Field(min_length=1)
    #: Where the original goes: file://, ftp://, ftps:// or sftp:// with options in the query.
    target: Target
    #: Notify people of this bureau's jobs (off: admins only).
    notify: bool = True
    #: Template of the name at the target, e.g. "{order}_{press}_{plates}.pdf".
    file_name: str | None = None
    #: Per press, a folder at the target to put its files in.
    press_folders: dict[str, str] = {}
    #: Other names marks may give this bureau.
    aliases: tuple[str, ...] = ()
    #: Count its plates in the reports' and the grid's totals (off for a test bureau: its
    #: figures are shown apart).
    in_reports: bool = True

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
    #: Address to listen on; 0.0.0.0 opens the page to the LAN (set credentials first).
    host: str = "127.0.0.1"
    port: int = Field(8800, ge=0, le=65535)
    #: Live-log websockets open at once (never more than 3/8 of the open-files limit); more are
    #: refused with 503.
    max_websockets: int = Field(100, ge=0, le=100_000)
    #: Connections held at once, websockets included (never more than 5/8 of the open-files
    #: limit); one more gets a 503 and is closed at once.
    max_connections: int = Field(512, ge=1, le=1_000_000)
    #: Of those, held at once from one client address (behind a reverse proxy every client
    #: has the proxy's); one more from it gets a 503 and is closed at once.
    max_connections_per_address: int = Field(256, ge=1, le=1_000_000)
    #: A new connection's first request head must arrive within this time, or it is closed
    #: (with a 408): idle or slow clients cannot hold connections.
    header_timeout_s: float = Field(5.0, gt=0, le=300)
    #: A keep-alive connection waiting for its next request is closed after this time.
    idle_timeout_s: float = Field(15.0, gt=0, le=3600)
    #: Origins besides the page's own (scheme://host[:port] of the request's Host) whose pages
    #: may open the live log, e.g. the address a reverse proxy serves it on.
    origins: tuple[str, ...] = ()
    #: Who may change things, and whether reading and the probes need credentials too.
    auth: AuthSettings = AuthSettings()

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
    # hide_input_in_errors: a failing section's input may hold a secret as written.
    model_config = SettingsConfigDict(
        env_prefix="ASYNCPDF_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    paths: Paths = Paths()
    watch: Watch = Watch()
    pool: Pool = Pool()
    delivery: DeliverySettings = DeliverySettings()
    previews: Previews = Previews()
    disk: Disk = Disk()
    retention: Retention = Retention()
    #: How press, bureau and paper are read from Signa's marks (built in: Signa 15 and 16).
    marks: tuple[MarkRule, ...] = tuple(MarkRule(**rule) for rule in DEFAULT_MARK_RULES)
    #: How far a page may be from a press's plate size and still match it.
    plate_tolerance_mm: float = Field(2.0, ge=0)
    #: Larger files (and uploads) are refused with that reason.
    max_file_mb: float = Field(2048, gt=0)
    #: Files with more pages are refused without their pages being read.
    max_pages: int = Field(500, gt=0)
    presses: tuple[Press, ...] = ()
    bureaus: tuple[Bureau, ...] = ()
    #: The currency plate costs are in, shown beside every cost ("EUR", "₽"); empty: none.
    currency: str = Field("", max_length=12)
    web: Web = Web()
    notify: NotifySettings = NotifySettings()

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
            max_pages=self.max_pages,
            press_aliases=tuple((a, p.name) for p in self.presses for a in p.aliases),
            bureau_aliases=tuple((a, b.name) for b in self.bureaus for a in b.aliases),
        )


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
        raise ConfigError(not_utf8(path, exc)) from exc
    try:
        data: Any = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(not_yaml(path, text, exc)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of settings")
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(invalid(path, exc, text)) from exc
    except SettingsError as exc:
        raise ConfigError(unparsable_env(path, exc)) from exc
    base = path.resolve().parent
    paths = settings.paths.resolved(base)
    inside = paths.inside_hotfolder()
    if inside is not None:
        place = where(path, text, ("paths", inside))
        raise ConfigError(f"{place}: paths.{inside} must not be inside paths.hotfolder")
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
