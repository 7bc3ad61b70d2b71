"""The steps of one job, each a function over a small context: analyse, make the previews,
plan the deliveries. The runner decides which steps a job still needs; the steps only do them,
and return what they found for the runner to record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from asyncpdf.config import Settings
from asyncpdf.delivery import in_folder, redact
from asyncpdf.errors import AnalysisFailed, AsyncPdfError
from asyncpdf.intake.spool import file_sha256
from asyncpdf.metrics import Metrics
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.model import Analysis, Artefacts
from asyncpdf.pdf.naming import delivered_name, find_bureau, without_tag
from asyncpdf.pdf.rules import Rules
from asyncpdf.pipeline.pool import Note, Pool

Analyse = Callable[[Path, Rules], Analysis]
MakeArtefacts = Callable[..., Artefacts]
BUREAU = "bureau"


@dataclass(frozen=True)
class Context:
    """What every step of every job needs; one per runner. The pool functions can be swapped
    (tests use slow or crashing ones)."""

    settings: Settings
    rules: Rules
    pool: Pool
    metrics: Metrics
    analyse_file: Analyse = analyze_file
    make_artefacts: MakeArtefacts = make_artefacts

    @contextlib.asynccontextmanager
    async def stage(self, name: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.metrics.stage_seconds.labels(stage=name).observe(time.monotonic() - started)


@dataclass(frozen=True)
class Analysed:
    analysis: Analysis
    size: int
    sha256: str | None
    #: When the file was last written (an imported job's date).
    mtime: float


async def analyse(ctx: Context, source: Path, note: Note | None = None) -> Analysed:
    """Analyse in the pool, with the file's size and checksum; `note` hears of a retry."""
    found = await asyncio.to_thread(source.stat)
    size = found.st_size
    # The checksum is for the record, not for delivery: hash in a thread beside the analysis
    # instead of before it, and never a file too large to be taken at all.
    digest = (
        asyncio.create_task(asyncio.to_thread(file_sha256, source))
        if size <= ctx.rules.max_file_bytes
        else None
    )
    try:
        async with ctx.stage("analysis"):
            result = await ctx.pool.run(
                ctx.analyse_file, source, ctx.rules, retried=_about("analysis", note), short=True
            )
    except BaseException:
        if digest is not None:
            digest.cancel()
        raise
    return Analysed(result, size, await digest if digest is not None else None, found.st_mtime)


def _about(step: str, note: Note | None) -> Note | None:
    if note is None:
        return None

    async def told(message: str) -> None:
        await note(f"{step}: {message}")

    return told


def summary(analysis: Analysis) -> str:
    return (
        f"{len(analysis.pages)} page(s), {analysis.plates} plate(s), "
        f"press {', '.join(sorted(analysis.presses))}, bureau {analysis.bureau}"
    )


async def make_previews(
    ctx: Context, job_id: int, source: Path, analysis: Analysis, note: Note | None = None
) -> Artefacts:
    """Preview, proof, thumbnail and ink coverage. A failure here is a warning: the bureau
    still gets its file, the press just gets no preview. `note` hears of a retry."""
    grippers = {p.name: p.gripper_mm for p in ctx.settings.presses}
    crops = crop_boxes_mm(analysis, grippers)
    previews = ctx.settings.previews
    out_dir = ctx.settings.paths.previews / str(job_id)
    try:
        async with ctx.stage("previews"):
            made = await ctx.pool.run(
                ctx.make_artefacts,
                source,
                out_dir,
                crops.boxes,
                dpi=previews.dpi,
                proof_width_px=previews.proof_width_px,
                thumb_width_px=previews.thumb_width_px,
                timeout_s=ctx.settings.pool.job_timeout_s,
                pages_by_press=analysis.pages_by_press,
                page_inks=[page.inks for page in analysis.pages],
                retried=_about("previews", note),
            )
    except (AsyncPdfError, OSError, RuntimeError) as exc:
        # An OSError's text may name an open file object, not a path: its reason says enough.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        failed = Artefacts(dir=str(out_dir), warnings=(f"no preview: {reason}",))
        return failed.with_warnings(*crops.warnings, notes=crops.notes)
    return made.with_warnings(*crops.warnings, notes=crops.notes)


def ink_summary(artefacts: Artefacts) -> str | None:
    if not artefacts.ink_coverage:
        return None
    return "ink coverage: " + "; ".join(
        " ".join(f"{ink} {value:.1f}%" for ink, value in page.items())
        for page in artefacts.ink_coverage
    )


@dataclass(frozen=True)
class Plan:
    """One file to one target: `kind` names the delivery (one per job and kind), `target`
    the configured target it goes to ("bureau Leonov", "press Speedmaster")."""

    kind: str
    url: str
    source: Path
    remote_name: str
    target: str

    @property
    def shown_target(self) -> str:
        """The target as logs, pages and the API show it: without its password."""
        return redact(self.url)


def plan_deliveries(
    settings: Settings,
    job_name: str,
    original: Path,
    analysis: Analysis,
    artefacts: Artefacts | None,
) -> list[Plan]:
    """The original to the bureau (its folder per press, its name template); once the previews
    are made, to every press the file has pages for, the preview of its pages."""
    if analysis.bureau is None:
        raise AnalysisFailed("no bureau to deliver to")
    bureau = settings.bureau(analysis.bureau)
    if bureau is None:
        raise AnalysisFailed(
            f"bureau {analysis.bureau!r} is no longer configured: add it to bureaus in the config"
        )
    # The delivered names carry no bureau tag: not the deciding bureau's, nor a file name's tag
    # that a mark overruled.
    name_tag = find_bureau(job_name, [b.name for b in settings.bureaus])
    if name_tag is not None:
        job_name = without_tag(job_name, name_tag)
    presses = analysis.presses
    url = bureau.target
    folders = {name.casefold(): folder for name, folder in bureau.press_folders.items()}
    if presses and presses[0].casefold() in folders:
        url = in_folder(url, folders[presses[0].casefold()])
    plans = [
        Plan(
            BUREAU,
            url,
            original,
            delivered_name(job_name, bureau.name, bureau.file_name, analysis),
            f"bureau {bureau.name}",
        )
    ]
    if artefacts is None:
        return plans
    for name in presses:
        press = settings.press(name)
        preview = artefacts.preview_for(name)
        if preview and press and press.preview_target:
            plans.append(
                Plan(
                    f"press {press.name}",
                    press.preview_target,
                    Path(artefacts.dir) / preview,
                    without_tag(job_name, bureau.name),
                    f"press {press.name}",
                )
            )
    return plans
