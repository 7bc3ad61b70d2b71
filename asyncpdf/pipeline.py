"""The steps of one job, each a function over a small context: analyse, make the previews,
deliver. The runner decides which steps a job still needs; the steps only do them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncpdf.analysis import analyze_file
from asyncpdf.artefacts import make_artefacts
from asyncpdf.artefacts.crop import BoxMM, PaperOffPlate, paper_box_mm
from asyncpdf.config import Settings
from asyncpdf.delivery import deliver, in_folder, redact
from asyncpdf.detect import Rules
from asyncpdf.errors import AnalysisFailed, AsyncPdfError, DeliveryError, RejectedFile
from asyncpdf.metrics import Metrics
from asyncpdf.naming import delivered_name, without_tag
from asyncpdf.pool import Pool
from asyncpdf.spool import file_sha256
from asyncpdf.store import Store

Analyse = Callable[[Path, Rules, float], dict[str, Any]]
Log = Callable[[int, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Context:
    """What every step of every job needs; one per runner."""

    settings: Settings
    rules: Rules
    store: Store
    pool: Pool
    metrics: Metrics
    log: Log
    analyse_file: Analyse = analyze_file

    @contextlib.asynccontextmanager
    async def stage(self, name: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.metrics.stage_seconds.labels(stage=name).observe(time.monotonic() - started)


async def analyse(ctx: Context, job_id: int, source: Path) -> dict[str, Any]:
    """Analyse in the pool and record it; raise when the file cannot go on to delivery."""
    size = (await asyncio.to_thread(source.stat)).st_size
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
                ctx.analyse_file, source, ctx.rules, ctx.settings.pool.job_timeout_s
            )
    except BaseException:
        if digest is not None:
            digest.cancel()
        raise
    await ctx.store.set_file(job_id, size=size, sha256=await digest if digest is not None else None)
    await ctx.store.set_analysis(job_id, result)
    for warning in result["warnings"]:
        await ctx.log(job_id, warning, "warning")
    if result["rejected"]:
        raise RejectedFile(result["error"])
    if result["error"]:
        raise AnalysisFailed(result["error"])
    presses = ", ".join(sorted({p for p in result["press"] if p}))
    await ctx.log(
        job_id,
        f"{result['pages']} page(s), {result['plates']} plate(s), press {presses}, "
        f"bureau {result['bureau']}",
        "info",
    )
    return result


async def make_previews(
    ctx: Context, job_id: int, source: Path, analysis: dict[str, Any]
) -> dict[str, Any]:
    """Preview, proof, thumbnail and ink coverage. A failure here is a warning: the bureau
    still gets its file, the press just gets no preview."""
    grippers = {p.name: p.gripper_mm for p in ctx.settings.presses}
    crops, warnings = crop_boxes_mm(analysis, grippers)
    previews = ctx.settings.previews
    out_dir = ctx.settings.paths.previews / str(job_id)
    try:
        async with ctx.stage("previews"):
            made = await ctx.pool.run(
                make_artefacts,
                source,
                out_dir,
                crops,
                dpi=previews.dpi,
                proof_width_px=previews.proof_width_px,
                thumb_width_px=previews.thumb_width_px,
                timeout_s=ctx.settings.pool.job_timeout_s,
                pages_by_press=pages_by_press(analysis),
            )
    except (AsyncPdfError, OSError, RuntimeError) as exc:
        await ctx.log(job_id, f"no preview: {exc}", "warning")
        return {"warnings": [*warnings, f"no preview: {exc}"]}
    made["dir"] = str(out_dir)
    made["warnings"] = [*warnings, *made.get("warnings", [])]
    for warning in made["warnings"]:
        await ctx.log(job_id, warning, "warning")
    coverage = made.get("ink_coverage")
    if coverage:
        shown = "; ".join(
            " ".join(f"{ink} {value:.1f}%" for ink, value in page.items()) for page in coverage
        )
        await ctx.log(job_id, f"ink coverage: {shown}", "info")
    return made


def pages_by_press(analysis: dict[str, Any]) -> dict[str, list[int]]:
    """0-based page numbers per press, in page order."""
    pages: dict[str, list[int]] = {}
    for index, press in enumerate(analysis["press"]):
        if press:
            pages.setdefault(press, []).append(index)
    return pages


def crop_boxes_mm(
    analysis: dict[str, Any], grippers: dict[str, float]
) -> tuple[list[BoxMM | None], list[str]]:
    """Per page: the paper sheet where the press's gripper puts it, when a mark gave the paper
    size; else the content's bounding box; else the whole page (None)."""
    crops: list[BoxMM | None] = []
    warnings: list[str] = []
    for index, media in enumerate(analysis["media_mm"]):
        press, paper = analysis["press"][index], analysis["paper_mm"][index]
        content = (analysis.get("content_box_mm") or [None] * len(analysis["media_mm"]))[index]
        if paper and analysis["paper_from"][index] == "mark" and press in grippers:
            try:
                crops.append(
                    paper_box_mm((media[0], media[1]), (paper[0], paper[1]), grippers[press])
                )
            except ValueError as exc:  # PaperOffPlate carries the sheet clipped to the plate
                warnings.append(f"page {index + 1}: {exc}")
                crops.append(exc.box if isinstance(exc, PaperOffPlate) else None)
        else:
            crops.append(tuple(content) if content else None)
    return crops, warnings


@dataclass(frozen=True)
class Plan:
    kind: str
    url: str
    source: Path
    remote_name: str


def plan_deliveries(
    settings: Settings, job_name: str, source: Path, analysis: dict[str, Any]
) -> list[Plan]:
    """The original to the bureau (its folder per press, its name template); to every press the
    file has pages for, the preview of its pages."""
    bureau = settings.bureau(analysis["bureau"])
    if bureau is None:
        raise AnalysisFailed(f"bureau {analysis['bureau']!r} is no longer configured")
    presses = list(pages_by_press(analysis))
    url = bureau.target
    folders = {name.casefold(): folder for name, folder in bureau.press_folders.items()}
    if presses and presses[0].casefold() in folders:
        url = in_folder(url, folders[presses[0].casefold()])
    plans = [
        Plan(
            "bureau", url, source, delivered_name(job_name, bureau.name, bureau.file_name, analysis)
        )
    ]
    made = analysis.get("artefacts", {})
    for name in presses:
        press = settings.press(name)
        preview = made.get("press_previews", {}).get(name, made.get("preview"))
        if preview and press and press.preview_target:
            preview_path = Path(made["dir"]) / preview
            plans.append(
                Plan(
                    f"press {press.name}",
                    press.preview_target,
                    preview_path,
                    without_tag(job_name, bureau.name),
                )
            )
    return plans


async def deliver_all(ctx: Context, job_id: int, plans: Sequence[Plan]) -> None:
    """Deliver concurrently; skip what an earlier run already delivered; raise the first error."""
    done = {d.kind for d in await ctx.store.deliveries(job_id) if d.status == "done"}
    pending = [plan for plan in plans if plan.kind not in done]
    async with ctx.stage("delivery"):
        results = await asyncio.gather(
            *(_deliver_one(ctx, job_id, plan) for plan in pending), return_exceptions=True
        )
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _deliver_one(ctx: Context, job_id: int, plan: Plan) -> None:
    shown = redact(plan.url)
    attempts = ctx.settings.delivery.attempts
    for attempt in range(1, attempts + 1):
        await ctx.store.upsert_delivery(
            job_id, plan.kind, target=shown, status="sending", attempts=attempt
        )
        await ctx.log(
            job_id, f"{plan.kind}: sending {plan.remote_name!r} to {shown} (try {attempt})", "info"
        )
        try:
            sent = await deliver(plan.url, plan.source, plan.remote_name)
        except DeliveryError as exc:
            await ctx.store.upsert_delivery(
                job_id, plan.kind, target=shown, status="failed", attempts=attempt, error=str(exc)
            )
            await ctx.log(job_id, f"{plan.kind}: {exc}", "warning")
            if attempt == attempts:
                raise
            await asyncio.sleep(ctx.settings.delivery.backoff_s * 2 ** (attempt - 1))
            continue
        await ctx.store.upsert_delivery(
            job_id,
            plan.kind,
            target=shown,
            status="done",
            attempts=attempt,
            size=sent.bytes,
            seconds=sent.seconds,
            remote_name=sent.remote_name,
        )
        await ctx.log(
            job_id, f"{plan.kind}: delivered {sent.bytes} bytes in {sent.seconds:.2f} s", "info"
        )
        return
