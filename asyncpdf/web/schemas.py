"""The shapes of what the API answers and takes, declared once as pydantic models; the OpenAPI
document's `components.schemas` are generated from them (`component_schemas`), and a test
holds every operation's real answers to them. The job and delivery states are the domain's
own enums. `pdf/` stays free of pydantic: its records' JSON is described here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from asyncpdf.domain.lifecycle import DeliveryState, JobState

REF_TEMPLATE = "#/components/schemas/{model}"

Time = Annotated[datetime, Field(description="ISO 8601, UTC")]
SizeMm = Annotated[list[float], Field(min_length=2, max_length=2)]
Pixels = Annotated[list[int], Field(min_length=2, max_length=2)]
Monthly = Annotated[list[int], Field(min_length=12, max_length=12)]
MonthlyFigures = Annotated[list[float], Field(min_length=12, max_length=12)]


class Shape(BaseModel):
    """An object of the API: every property listed is always there (a missing value is null)."""

    model_config = ConfigDict(frozen=True)


class ErrorDetail(Shape):
    code: str
    message: str


class Error(Shape):
    """Every 4xx or 5xx answer under /api/; `message` says what to do."""

    error: ErrorDetail


class Job(Shape):
    """A job's record, without its deliveries."""

    id: int
    name: str
    state: JobState
    sha256: str | None
    size: int | None
    created_at: Time
    updated_at: Time
    finished_at: Time | None
    error: str | None
    warnings: int = Field(description="warning lines in the job's log")
    imported: bool = Field(description="recorded in import mode, not sent")
    duplicate_of: int | None
    rerun_of: int | None
    order: str | None
    bureau: str | None
    presses: list[str]
    complects: int | None = Field(description="pages")
    plates: int | None
    inks: list[str] = Field(description="every ink; spot inks are those not CMYK")
    subfolder: str | None = Field(description="the hotfolder's sub-folder")
    original_removed_at: Time | None = Field(
        description="when retention removed the original from done/"
    )


class DeliverySummary(Shape):
    kind: Annotated[str, Field(pattern=r"^(bureau|press .+)$")]
    state: DeliveryState
    attempts: int
    error: str | None


class Links(Shape):
    page: str
    thumb: str | None
    proof: str | None


class JobRow(Job):
    """A job as the grid and the live `job` event show it."""

    deliveries: list[DeliverySummary]
    fixed_by: int | None = Field(description="the rerun that delivered it")
    duplicate_of_at: Time | None = Field(description="when duplicate_of ended")
    links: Links


class PressTotal(Shape):
    press: str
    plates: int
    cost: float


class BureauTotal(Shape):
    bureau: str
    plates: int
    cost: float
    in_reports: bool


class Totals(Shape):
    """Over every filtered job, not only this page; cost = plates × plate_cost."""

    plates: int
    cost: float
    by_press: list[PressTotal]
    by_bureau: list[BureauTotal]
    warnings: list[str] = Field(description="presses without a plate_cost")
    currency: str


class Filters(Shape):
    """The filters applied, defaults filled in."""

    since: str | None
    until: str | None
    bureau: str | None
    press: str | None
    state: list[JobState]
    name: str | None


class JobList(Shape):
    jobs: list[JobRow]
    total: int = Field(description="jobs matching the filters")
    limit: int
    offset: int
    filters: Filters
    totals: Totals


class Mark(Shape):
    name: str
    text: str


class Page(Shape):
    media_mm: SizeMm
    plate_mm: SizeMm
    inks: list[str]
    plates: int
    marks: list[Mark]
    press: str | None
    paper_mm: SizeMm | None
    paper_from: Literal["mark"] | None
    rotate: Literal[0, 90, 180, 270]


class Analysis(Shape):
    file: str
    size: int
    order: str | None
    order_name: str
    is_pdf: bool
    creator: str | None
    is_signa: bool
    page_count: int
    plates: int
    presses: list[str]
    bureau: str | None
    pages: list[Page]
    warnings: list[str]
    error: str | None
    rejected: bool


class Artefacts(Shape):
    dir: str
    preview: str | None
    press_previews: dict[str, str]
    proof: str | None
    proofs: list[str] = Field(description="every sheet's proof, in page order")
    thumb: str | None
    preview_bytes: int
    proof_px: Pixels | None
    thumb_px: Pixels | None
    ink_coverage: list[dict[str, float]] | None = Field(
        description="per page: ink → coverage in percent, in ink order (C, M, Y, K, then the "
        "spots as the file lists them)"
    )
    sheets_mm: list[SizeMm] = Field(
        description="per page: the preview page (the paper sheet) as shown, in mm"
    )
    average_coverage: dict[str, float] = Field(
        description="ink → its mean coverage over the job's plates that carry it"
    )
    warnings: list[str]
    notes: list[str] = Field(description="choices the file left open, e.g. the gripper edge")


class Delivery(Shape):
    """One file to one target, and its receipt."""

    job_id: int
    kind: str
    target: str
    state: DeliveryState
    attempts: int
    next_attempt_at: Time | None
    error: str | None
    bytes: int | None
    seconds: float | None
    remote_name: str | None


class Notification(Shape):
    id: int
    job_id: int
    channel: str
    address: str = Field(description="a callback's URL without its user part and query")
    state: str
    attempts: int
    next_attempt_at: Time | None
    error: str | None
    sent_at: Time | None


class LogLine(Shape):
    job_id: int
    ts: Time
    level: str
    message: str


class JobDetail(Shape):
    job: Job
    analysis: Analysis | None
    artefacts: Artefacts | None
    deliveries: list[Delivery]
    notifications: list[Notification]
    log: list[LogLine]
    rerun_by: list[int] = Field(description="jobs that ran this one again")


class Accepted(Shape):
    id: int
    url: str = Field(description="/api/jobs/ID")
    page: str = Field(description="/jobs/ID")


class Rerun(Accepted):
    rerun_of: int


class Retried(Shape):
    retried: list[str] = Field(description="the kinds sent again")


class Deleted(Shape):
    deleted: int


class ImportMode(Shape):
    import_mode: bool


class Log(Shape):
    log: list[LogLine]


class TargetHealth(Shape):
    """A target's record; the gate's facts (from `state` on) come with its first attempt."""

    url: str = Field(description="the target as shown, without its password")
    files_sent: int
    bytes_sent: int
    last_sent_at: Time | None
    failures_in_a_row: int
    last_error: str | None
    state: Literal["ok", "failing"] = Field("ok", description="failing: backed off as a whole")
    connections: int = Field(0, description="deliveries at once to this target")
    sending: int = 0
    next_probe_at: Time | None = None
    failing_since: Time | None = None


class LineTarget(TargetHealth):
    """A configured target with its record (as in /readyz); a record may carry more facts."""

    model_config = ConfigDict(frozen=True, extra="allow")
    kind: Literal["bureau", "press"]
    name: str
    ok: bool


class Line(Shape):
    """What every page shows of the line."""

    import_mode: bool
    targets: list[LineTarget]
    user: str | None = Field(description="who this request's Basic login is for")
    can_sign_in: bool = Field(description="whether web.auth.users has anyone")


class NotTaken(Shape):
    name: str
    reason: str


class FailedClaim(Shape):
    name: str
    error: str


class Counters(Shape):
    waiting: int
    in_work: int
    failed_today: int


class FreeSpace(Shape):
    path: str
    free_mb: float


class Status(Shape):
    version: str
    uptime_s: float
    jobs: dict[JobState, int] = Field(description="jobs per state")
    queue_depth: int
    oldest_waiting_s: float | None
    import_mode: bool
    targets: dict[str, TargetHealth]
    watcher_last_event: Time | None
    hotfolder: str = Field(description="where to drop files")
    not_taken: list[NotTaken]
    failed_claims: list[FailedClaim]
    counters: Counters
    disk: dict[str, FreeSpace] = Field(
        description="free space of the spool's and the database's file systems"
    )
    holding: str | None = Field(
        description="why new files wait in the hotfolder (disk nearly full)"
    )


class ReportTotals(Shape):
    plates: int
    area_m2: float
    cost: float


class BureauApart(ReportTotals):
    bureau: str


class Reports(Shape):
    """A year's figures of finished jobs, each list one value a month in the order of
    `months` (local time)."""

    year: int
    months: list[str] = Field(description="the 12 months, YYYY-MM")
    presses: list[str]
    bureaus: list[str]
    plates: Monthly
    area_m2: MonthlyFigures
    plates_by_press: dict[str, Monthly]
    cost_by_bureau: dict[str, MonthlyFigures]
    ink_m2_by_press: dict[str, dict[str, MonthlyFigures]] = Field(
        description="press → ink (in ink order) → m² of solid ink a month: plates × sheet area "
        "× coverage"
    )
    totals: ReportTotals
    warnings: list[str]
    currency: str
    apart: list[BureauApart] = Field(
        description="bureaus with in_reports: false, kept out of the figures"
    )
    years: list[int] = Field(description="the years that have finished jobs")


class Health(Shape):
    status: Literal["alive"]
    version: str


class PartHealth(BaseModel):
    """A part's state and detail; some parts add facts of their own."""

    state: Literal["ok", "failing"]
    detail: str


class Ready(Shape):
    status: Literal["ready", "not ready"]
    failing: list[str]
    parts: dict[str, PartHealth]


class Hello(Shape):
    """The last number."""

    type: Literal["hello"]
    seq: int


class Reset(Shape):
    """What was missed is no longer kept: load the data again."""

    type: Literal["reset"]
    seq: int


class LogEvent(Shape):
    seq: int
    type: Literal["log"]
    job_id: int
    ts: Time
    level: str
    message: str


class JobEvent(Shape):
    seq: int
    type: Literal["job"]
    job: JobRow


class DeletedEvent(Shape):
    seq: int
    type: Literal["deleted"]
    job_id: int


LiveMessage = Annotated[
    Hello | Reset | LogEvent | JobEvent | DeletedEvent,
    Field(discriminator="type", description="One message on /ws."),
]


class Upload(Shape):
    """`POST /api/jobs`, as multipart/form-data."""

    file: bytes = Field(
        description="the PDF; its name is cleaned (no folders, control characters or leading "
        "dots, at most 200 bytes) and must end in .pdf"
    )
    callback_url: str = Field(
        "",
        json_schema_extra={"format": "uri"},
        description="http(s) URL that is sent the job's JSON when it ends (retried; a failed "
        "callback never changes the job's result). Refused when it points at this machine "
        "(unless notify.callback_allow lists the address) or at the service itself",
    )


#: Every shape the document names, with how it is used (answers are serialised).
SHAPES: tuple[tuple[type[BaseModel], Literal["serialization", "validation"]], ...] = (
    *(
        (model, "serialization")
        for model in (
            Error,
            JobList,
            JobDetail,
            Accepted,
            Rerun,
            Retried,
            Deleted,
            Log,
            Status,
            Line,
            Reports,
            Health,
            Ready,
        )
    ),
    (ImportMode, "validation"),
    (Upload, "validation"),
)


class _Schema(GenerateJsonSchema):
    # A property's title repeats its name; only the models' own titles are kept.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def component_schemas() -> dict[str, Any]:
    """`components.schemas` of the document: every model in SHAPES, what they use, and
    `LiveMessage`."""
    inputs: list[tuple[str, Literal["serialization", "validation"], TypeAdapter[Any]]] = [
        (model.__name__, mode, TypeAdapter(model)) for model, mode in SHAPES
    ]
    inputs.append(("LiveMessage", "serialization", TypeAdapter(LiveMessage)))
    found, top = TypeAdapter.json_schemas(
        inputs, ref_template=REF_TEMPLATE, schema_generator=_Schema
    )
    schemas: dict[str, Any] = top["$defs"]
    schemas["LiveMessage"] = found[("LiveMessage", "serialization")]
    return schemas
