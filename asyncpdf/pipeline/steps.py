"""The steps of one job, each a function over a small context: analyse, make the previews,
plan the deliveries. The runner decides which steps a job still needs; the steps only do them,
and return what they found for the runner to record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncpdf.config import Settings
from asyncpdf.delivery import in_folder, redact
from asyncpdf.errors import AnalysisFailed, AsyncPdfError
from asyncpdf.metrics import Metrics
from asyncpdf.pdf.analysis import analyze_file, analyzed_in_turn, analyzed_with_checksum
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.model import Analysed, Analysis, Artefacts
from asyncpdf.pdf.naming import delivered_name, find_bureau, without_tag
from asyncpdf.pdf.rules import Rules
from asyncpdf.pipeline.pool import Note, Pool

Analyse = Callable[[Path, Rules], Analysis]
MakeArtefacts = Callable[..., Artefacts]
BUREAU = "bureau"
#: How long one pool call shared by an analysis batch's files works before it answers with the
#: files done so far (the rest go in the next call).
SHARED_CALL_S = 0.2
log = logging.getLogger(__name__)


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

    def observed(self, name: str, seconds: float) -> None:
        self.metrics.stage_seconds.labels(stage=name).observe(seconds)

    @contextlib.asynccontextmanager
    async def stage(self, name: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.observed(name, time.monotonic() - started)


async def analyse(ctx: Context, source: Path, note: Note | None = None) -> Analysed:
    """Analyse in the pool, with the file's size and checksum; `note` hears of a retry."""
    found = await ctx.pool.run(
        analyzed_with_checksum,
        ctx.analyse_file,
        source,
        ctx.rules,
        retried=_about("analysis", note),
        short=True,
    )
    ctx.observed("analysis", found.seconds)
    return found


async def analyse_in_turn(ctx: Context, sources: Sequence[Path]) -> list[Analysed]:
    """The first of `sources` analysed (as `analyse`) in as few pool calls as their sizes allow,
    in order. Should a call fail, the files from it on are left out: the caller analyses each
    of those on its own (`analyse`), where a failure is that file's, with its own timeout and
    its own log."""
    done: list[Analysed] = []
    while len(done) < len(sources):
        try:
            found = await ctx.pool.run(
                analyzed_in_turn,
                ctx.analyse_file,
                sources[len(done) :],
                ctx.rules,
                SHARED_CALL_S,
                short=True,
            )
        except Exception as exc:
            # Loud: a crash or a timeout in a batch is the share's doing, and each file's own
            # call below says which one it was.
            log.warning(
                "%d file(s) to be analysed one by one: their shared pool call failed: %s",
                len(sources) - len(done),
                exc,
            )
            break
        for one in found:
            ctx.observed("analysis", one.seconds)
        done += found
    return done


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
