"""How long a file's previews take: asyncpdf against the old tool's chain, side by side.

    .venv/bin/python benchmarks/previews.py [--files N] [--repeat R] [--seed S] [--steps]

Generates Signa-like plate files into a temporary folder (as ``analysis.py`` does: 4 to 8
pages, the process inks and in half of the files a spot colour, both mark layouts, 1 to 5 MB of
filler image; here also a 300-dpi CMYK photo on the sheet of every page, spot-colour patches
drawn through a Separation colour space, and every fourth file without its paper size mark, so
its crop is measured), analyses each once, then times for every file, ``--repeat`` times each,
alternating which goes first:

- asyncpdf: what the job's previews step runs in the pool (``crop_boxes_mm`` and
  ``make_artefacts`` with the settings of ``config.yaml``): crop, downsampled preview, proof,
  thumbnail, ink coverage;
- baseline: the old tool's chain (``baseline_oldtool_previews.py``): pypdf sets each page's
  MediaBox to the paper sheet (or, for a file without a paper mark, to ``gs -sDEVICE=bbox``'s
  box), ``gs -sDEVICE=pdfwrite -dDownsampleColorImages=true -dColorImageResolution=150``, ``gs
  -sDEVICE=jpeg -r200`` of the first page resized by Pillow to 2500 and 175 px, ``gs
  -sDEVICE=inkcov``.

Prints per file both medians (wall clock, and CPU seconds of the process and its Ghostscripts)
and the ratio, then the median over files. Then checks that asyncpdf's output is of the same use
as the baseline's: the same crop (page sizes within 1 mm), images no coarser than the configured
dpi (nor than they were), proof and thumbnail of the same size, and ink coverage within 0.5
points per page and ink of Ghostscript's ``ink_cov`` at full resolution (150 dpi) on the crop.
Timings are printed, never asserted (see README.md in this folder); the script exits 1 when a
check of the output fails.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from baseline_oldtool_previews import INK_LINE, OldTool, gs, oldtool_previews
from PIL import Image

from asyncpdf.config import Settings, load_settings
from asyncpdf.pdf import artefacts as artefacts_module
from asyncpdf.pdf import coverage as coverage_module
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.artefacts import make_artefacts
from asyncpdf.pdf.crop import MM_PER_PT, crop_boxes_mm, write_crop
from asyncpdf.pdf.ghostscript import content_bbox_mm, gs_path
from asyncpdf.pdf.model import Analysis, Artefacts, BoxMM
from asyncpdf.testing.samples import (
    PAPERS,
    PRESSES,
    PROCESS_INKS,
    SPOT_INKS,
    SamplePage,
    signa_marks,
    unread_marks,
    write_sample,
)

ROOT = Path(__file__).resolve().parent.parent
BUREAUS = ("Leonov", "Korol", "Vonoel", "Pechatnik")
TARGET = 3.0
REFERENCE_INK_DPI = 150  # what asyncpdf measured before issue 14: the accuracy reference
INK_TOLERANCE = 0.5  # points of coverage, per page and ink
CROP_TOLERANCE_MM = 1.0
PHOTO_MM, PHOTO_DPI = (80.0, 60.0), 300
# Spot inks' CMYK alternates (the tint at 100 %), as a swatch book would give them.
SPOT_CMYK = {
    "PANTONE Warm Red C": (0, 0.75, 0.9, 0),
    "PANTONE Reflex Blue C": (1, 0.73, 0, 0.02),
    "PANTONE 871 C": (0.2, 0.3, 0.7, 0.15),
    "Varnish": (0, 0, 0, 0),
}
PT = 1 / MM_PER_PT
# A spot ink's patches on every page: tint, (x, y, width, height) as fractions of the plate.
SPOT_PATCHES = ((1.0, (0.3, 0.12, 0.4, 0.04)), (0.4, (0.3, 0.7, 0.2, 0.03)))
Figures = dict[str, float]


@dataclass(frozen=True)
class Sample:
    path: Path
    pages: int
    spot: str | None
    marked: bool


# --- the files ------------------------------------------------------------------------------


def _photo(pdf: pikepdf.Pdf, seed: int) -> pikepdf.Object:
    """A smooth CMYK 'photo' with some grain, Flate-compressed, PHOTO_DPI on PHOTO_MM."""
    rng = random.Random(seed)
    width, height = (round(side / 25.4 * PHOTO_DPI) for side in PHOTO_MM)
    coarse = Image.frombytes("CMYK", (16, 12), rng.randbytes(16 * 12 * 4))
    smooth = coarse.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.frombytes("CMYK", (width, height), rng.randbytes(width * height * 4))
    image = Image.blend(smooth, grain, 0.06)
    stream = pdf.make_stream(
        zlib.compress(image.tobytes(), 6),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceCMYK,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    return pdf.make_indirect(stream)


def _separation(pdf: pikepdf.Pdf, ink: str) -> pikepdf.Object:
    tint = pikepdf.Dictionary(
        FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0], C1=list(SPOT_CMYK[ink]), N=1
    )
    separation = [pikepdf.Name.Separation, pikepdf.Name("/" + ink), pikepdf.Name.DeviceCMYK, tint]
    return pdf.make_indirect(pikepdf.Array(separation))


def _add_sheet_artwork(
    path: Path, plate_mm: tuple[float, float], spot: str | None, seed: int
) -> None:
    """On every page: the photo where an imposed page would be; with a spot ink, two patches
    of it (100 % and 40 %) through its Separation colour space."""
    width, height = plate_mm
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        photo = _photo(pdf, seed)
        separation = _separation(pdf, spot) if spot else None
        for number, page in enumerate(pdf.pages):
            resources = page.obj.Resources
            resources.XObject.Ph0 = photo
            x, y = width * (0.2 + 0.1 * (number % 4)), height * (0.3 + 0.05 * (number % 3))
            ops = [f"q {PHOTO_MM[0] * PT:.3f} 0 0 {PHOTO_MM[1] * PT:.3f} {x * PT:.3f} "
                   f"{y * PT:.3f} cm /Ph0 Do Q"]  # fmt: skip
            if separation is not None:
                resources.ColorSpace = pikepdf.Dictionary(CS0=separation)
                for tint, (fx, fy, fw, fh) in SPOT_PATCHES:
                    box = " ".join(
                        f"{v:.3f}"
                        for v in (
                            fx * width * PT,
                            fy * height * PT,
                            fw * width * PT,
                            fh * height * PT,
                        )
                    )
                    ops.append(f"q /CS0 cs {tint:g} scn {box} re f Q")
            page.contents_add(pdf.make_stream("\n".join(ops).encode("ascii")))
        pdf.save(path, deterministic_id=True)


def make_files(directory: Path, count: int, seed: int) -> list[Sample]:
    """`count` Signa-like plate files; the same seed gives the same files, byte for byte."""
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        press = sorted(PRESSES)[index % len(PRESSES)]
        bureau = BUREAUS[index % len(BUREAUS)]
        marked = index % 4 != 3
        layout = ("three", "old", "signa16")[index % 3] if marked else "three"
        font = ("embedded", "standard")[(index // 2) % 2]
        paper = rng.choice(PAPERS[press])
        pages = rng.randint(4, 8)
        spot = rng.choice((*SPOT_INKS, "Varnish")) if index % 2 else None
        inks = (*PROCESS_INKS, spot) if spot else PROCESS_INKS
        marks = signa_marks(bureau, press, paper, layout=layout, font=font)
        if not marked:  # re-saved: the paper size mark is lost, press and bureau are not
            marks = tuple(mark for mark in marks if mark.name != "Paper")
        marks += unread_marks(inks, PRESSES[press], font)
        page_list = [SamplePage(PRESSES[press], inks=inks, marks=marks) for _ in range(pages)]
        path = directory / f"{24000 + index}_Заказ {index}_{bureau}.pdf"
        write_sample(path, page_list, filler_bytes=rng.randint(1, 5) << 20, seed=seed + index)
        _add_sheet_artwork(path, PRESSES[press], spot, seed + index)
        samples.append(Sample(path, pages, spot, marked))
    return samples


# --- the two methods ------------------------------------------------------------------------


def asyncpdf_previews(
    path: Path, out_dir: Path, analysis: Analysis, settings: Settings
) -> Artefacts:
    """What `pipeline.steps.make_previews` runs for a job, minus the service around it."""
    grippers = {press.name: press.gripper_mm for press in settings.presses}
    crops = crop_boxes_mm(analysis, grippers).boxes
    previews = settings.previews
    return make_artefacts(
        path,
        out_dir,
        crops,
        dpi=previews.dpi,
        proof_width_px=previews.proof_width_px,
        thumb_width_px=previews.thumb_width_px,
        timeout_s=settings.pool.job_timeout_s,
        pages_by_press=analysis.pages_by_press,
        page_inks=[page.inks for page in analysis.pages],
    )


# --- timing ----------------------------------------------------------------------------------


def _cpu_s() -> float:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process and its waited-for children, result)."""
    cpu, started = _cpu_s(), time.perf_counter()
    result = func()
    return time.perf_counter() - started, _cpu_s() - cpu, result


class StepTimer:
    """Wall time of asyncpdf's inner steps, by wrapping what `artefacts` and `coverage` call
    (--steps)."""

    NAMES = ("content_bbox_mm", "write_preview", "write_crop", "downsample", "ink_coverage",
             "render_proofs", "render_jpeg", "split_by_press", "separations",
             "recoloured_coverage")  # fmt: skip
    MODULES = (artefacts_module, coverage_module)

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> StepTimer:
        for module in self.MODULES:
            for name in self.NAMES:
                func = getattr(module, name, None)
                if callable(func):
                    self._saved.append((module, name, func))
                    setattr(module, name, self._wrap(name, func))
        return self

    def _wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.times.setdefault(name, []).append(time.perf_counter() - started)

        return wrapper

    def __exit__(self, *exc: object) -> None:
        for module, name, func in self._saved:
            setattr(module, name, func)


# --- same use ---------------------------------------------------------------------------------


def _multiply(m: Sequence[float], n: Sequence[float]) -> list[float]:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return [a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u]  # fmt: skip


def _image_dpis(
    content: pikepdf.Object, resources: Any, ctm: list[float], depth: int = 0
) -> Iterator[tuple[float, float]]:
    """Effective resolution (the coarser direction) of every image XObject drawn, and what it
    would be with one pixel more."""
    stack: list[list[float]] = []
    xobjects = resources.get("/XObject", {}) if resources is not None else {}
    for operands, operator in pikepdf.parse_content_stream(content):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm":
            ctm = _multiply([float(v) for v in operands], ctm)
        elif op == "Do" and str(operands[0]) in xobjects:
            xobject = xobjects[str(operands[0])]
            if xobject.get("/Subtype") == pikepdf.Name.Image:
                across = math.hypot(ctm[0], ctm[1]) / 72
                up = math.hypot(ctm[2], ctm[3]) / 72
                if across > 0 and up > 0:
                    width, height = int(xobject.Width), int(xobject.Height)
                    # And with one pixel more: what a downsampler that rounds down could miss.
                    yield (
                        min(width / across, height / up),
                        min((width + 1) / across, (height + 1) / up),
                    )
            elif xobject.get("/Subtype") == pikepdf.Name.Form and depth < 10:
                matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                inner = xobject.get("/Resources", resources)
                yield from _image_dpis(xobject, inner, _multiply(matrix, ctm), depth + 1)


def image_dpis(path: Path) -> list[list[tuple[float, float]]]:
    """Per page, the effective resolution of each image it draws."""
    with pikepdf.open(path) as pdf:
        return [
            list(_image_dpis(page.obj, page.obj.get("/Resources"), [1, 0, 0, 1, 0, 0]))
            for page in pdf.pages
        ]


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    with pikepdf.open(path) as pdf:
        sizes = []
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.obj.get("/CropBox", page.mediabox))
            sizes.append((abs(x1 - x0) * MM_PER_PT, abs(y1 - y0) * MM_PER_PT))
        return sizes


def reference_ink(path: Path, crops: Sequence[BoxMM | None], folder: Path) -> list[list[float]]:
    """Ghostscript's ink_cov at full resolution on asyncpdf's crop of `path`, process inks
    only: each spot's CMYK alternate is made blank, so a spot counts on no process plate (as
    asyncpdf measures a page with a spot plate, separation by separation)."""
    boxes = list(crops)
    wanted = [i for i, box in enumerate(boxes) if box is None]
    if wanted:
        for index, box in zip(wanted, content_bbox_mm(path, 120, wanted), strict=True):
            boxes[index] = box
    crop = folder / "reference-crop.pdf"
    write_crop(path, crop, boxes)
    with pikepdf.open(crop, allow_overwriting_input=True) as pdf:
        for page in pdf.pages:
            for space in page.obj.get("/Resources", {}).get("/ColorSpace", {}).values():
                if isinstance(space, pikepdf.Array) and space[0] == pikepdf.Name.Separation:
                    space[3].C1 = [0, 0, 0, 0]
        pdf.save(crop)
    said = gs("-sDEVICE=ink_cov", f"-r{REFERENCE_INK_DPI}", "-o", "-", str(crop))
    return [[float(v) for v in m.groups()] for m in INK_LINE.finditer(said)]


def spot_expected(plate_mm: tuple[float, float], page_mm: tuple[float, float]) -> float:
    """The spot's coverage of a preview page, known by construction: the patches
    `_add_sheet_artwork` draws (100 % and 40 %), which lie on the sheet and above the rest."""
    width, height = plate_mm
    ink_area = sum(tint * fw * width * fh * height for tint, (_, _, fw, fh) in SPOT_PATCHES)
    return 100 * ink_area / (page_mm[0] * page_mm[1])


def ink_same_use(
    sample: Sample,
    ours: Artefacts,
    reference: list[list[float]],
    sizes_mm: list[tuple[float, float]],
    plate_mm: tuple[float, float],
) -> tuple[list[str], float, float]:
    """Problems with the ink coverage; how far the process inks are from `reference`, and the
    spot from its known area, at worst (points)."""
    if ours.ink_coverage is None or len(ours.ink_coverage) != len(reference):
        return ["ink coverage missing or not for every page"], math.inf, math.inf
    problems = []
    got = [[page[ink] for ink in PROCESS_INKS] for page in ours.ink_coverage]
    ink_off = max(
        abs(a - b) for p, q in zip(got, reference, strict=True) for a, b in zip(p, q, strict=True)
    )
    if ink_off > INK_TOLERANCE:
        problems.append(f"ink coverage {ink_off:.2f} points off the full-resolution measurement")
    spot_off = 0.0
    for page, size in zip(ours.ink_coverage, sizes_mm, strict=True):
        if list(page)[:4] != list(PROCESS_INKS) or len(page) != 4 + bool(sample.spot):
            problems.append(f"ink coverage of {list(page)}: not the page's plates in order")
        elif sample.spot:
            spot_off = max(spot_off, abs(page[sample.spot] - spot_expected(plate_mm, size)))
    if spot_off > INK_TOLERANCE:
        problems.append(f"spot coverage {spot_off:.2f} points off the known area")
    return problems, ink_off, spot_off


def same_use(
    sample: Sample,
    ours: Artefacts,
    theirs: OldTool,
    reference: list[list[float]],
    dpi: int,
    plate_mm: tuple[float, float],
) -> tuple[list[str], Figures]:
    """What differs in use between asyncpdf's and the baseline's output; and the figures."""
    problems: list[str] = []
    preview = Path(ours.dir) / (ours.preview or "")
    mine, old = page_sizes_mm(preview), page_sizes_mm(theirs.preview)
    crop_mm = max(
        abs(a - b) for p, q in zip(mine, old, strict=True) for a, b in zip(p, q, strict=True)
    )
    if len(mine) != len(old) or crop_mm > CROP_TOLERANCE_MM:
        problems.append(f"crop: page sizes {mine} mm against the baseline's {old}")
    before, after = image_dpis(sample.path), image_dpis(preview)
    coarsest = min((found for page in after for found, _ in page), default=math.inf)
    for number, (was, now) in enumerate(zip(before, after, strict=True), start=1):
        floor = min([dpi, *(found for found, _ in was)])
        for found, slack in now:
            if slack < floor:
                problems.append(
                    f"page {number}: an image at {found:.0f} dpi, coarser than {floor:.0f}"
                )
    if (
        ours.proof_px is None
        or abs(ours.proof_px[0] - theirs.proof_px[0]) > 0
        or abs(ours.proof_px[1] - theirs.proof_px[1]) > 2
    ):
        problems.append(f"proof {ours.proof_px} px against the baseline's {theirs.proof_px}")
    if (
        ours.thumb_px is None
        or ours.thumb_px[0] != theirs.thumb_px[0]
        or abs(ours.thumb_px[1] - theirs.thumb_px[1]) > 2
    ):
        problems.append(f"thumbnail {ours.thumb_px} px against the baseline's {theirs.thumb_px}")
    ink_problems, ink_off, spot_off = ink_same_use(sample, ours, reference, mine, plate_mm)
    problems += ink_problems
    old_ink_off = math.inf
    if len(theirs.ink) == len(reference):
        old_ink_off = max(
            abs(a - b * 100)
            for p, q in zip(reference, theirs.ink, strict=True)
            for a, b in zip(p, q, strict=True)
        )
    figures = {
        "crop_mm": crop_mm,
        "coarsest_dpi": coarsest,
        "ink_off": ink_off,
        "spot_off": spot_off,
        "old_ink_off": old_ink_off,
        "proof_kb": max(
            (Path(ours.dir) / name).stat().st_size / 1024 for name in ours.sheet_proofs
        ),
    }
    if len(ours.sheet_proofs) != len(mine):
        problems.append(f"{len(ours.sheet_proofs)} proofs for {len(mine)} sheets")
    return problems, figures


# --- the run ---------------------------------------------------------------------------------

METHODS = ("asyncpdf", "baseline")


@dataclass
class Row:
    """One file's timings: wall and CPU seconds per method, one per run."""

    sample: Sample
    wall: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})

    def median(self, kind: str, method: str) -> float:
        return statistics.median((self.wall if kind == "wall" else self.cpu)[method])


@dataclass
class Bench:
    """The generated files, their analyses, and both methods over them."""

    settings: Settings
    folder: Path
    samples: list[Sample]
    analyses: dict[Path, Analysis]
    #: The baseline makes what asyncpdf makes: every sheet's proof, every separation's ink.
    same_output: bool = False
    old_steps: dict[str, list[float]] = field(default_factory=dict)

    def crops(self, sample: Sample) -> list[BoxMM | None]:
        grippers = {press.name: press.gripper_mm for press in self.settings.presses}
        return crop_boxes_mm(self.analyses[sample.path], grippers).boxes

    def ours(self, sample: Sample, out: Path) -> Artefacts:
        return asyncpdf_previews(sample.path, out, self.analyses[sample.path], self.settings)

    def theirs(self, sample: Sample, out: Path) -> OldTool:
        return oldtool_previews(sample.path, out, self.crops(sample), self.same_output)

    def time_file(self, number: int, repeat: int) -> tuple[Row, Artefacts, OldTool]:
        """Both methods `repeat` times on one file, alternating which goes first."""
        sample = self.samples[number]
        row = Row(sample)
        made: Artefacts | None = None
        old: OldTool | None = None
        for attempt in range(repeat):
            out = self.folder / "out" / f"{number}-{attempt}"
            for method in METHODS if attempt % 2 == 0 else METHODS[::-1]:
                if method == "asyncpdf":
                    wall, cpu, made = timed(lambda o=out: self.ours(sample, o / "asyncpdf"))
                else:
                    wall, cpu, old = timed(lambda o=out: self.theirs(sample, o / "baseline"))
                    for name, seconds in old.steps.items():
                        self.old_steps.setdefault(name, []).append(seconds)
                row.wall[method].append(wall)
                row.cpu[method].append(cpu)
        assert made is not None and old is not None
        return row, made, old

    def check(self, number: int, made: Artefacts, old: OldTool) -> tuple[list[str], Figures]:
        sample = self.samples[number]
        reference = reference_ink(
            sample.path, self.crops(sample), self.folder / "out" / f"{number}-0"
        )
        plate = self.analyses[sample.path].pages[0].media_mm
        return same_use(sample, made, old, reference, self.settings.previews.dpi, plate)


def print_row(row: Row) -> None:
    sample = row.sample
    size = sample.path.stat().st_size / 2**20
    ours, old = row.median("wall", "asyncpdf"), row.median("wall", "baseline")
    print(
        f"{sample.path.name[:26]:<26} {sample.pages:>5} {size:>5.1f} "
        f"{'mark' if sample.marked else 'bbox':>5} {(sample.spot or '-')[:10]:>10}"
        f"{ours:>9.2f}s{old:>9.2f}s{old / ours:>7.2f}×"
        f"{row.median('cpu', 'asyncpdf'):>8.2f}s{row.median('cpu', 'baseline'):>8.2f}s"
    )


def print_summary(rows: list[Row]) -> None:
    print("\nmedian per file (median over files of each file's median):")
    ratios = {}
    for kind, label in (("wall", "wall clock"), ("cpu", "CPU, with its gs")):
        ours = statistics.median(row.median(kind, "asyncpdf") for row in rows)
        old = statistics.median(row.median(kind, "baseline") for row in rows)
        ratios[kind] = old / ours
        print(f"  {label:<17} asyncpdf {ours:6.3f} s   baseline {old:6.3f} s   {old / ours:.2f}×")
    missed = "" if ratios["wall"] >= TARGET else "  (missed)"
    print(f"\nasyncpdf vs baseline: {ratios['wall']:.2f}× faster (target ≥ {TARGET:g}×){missed}")


def print_steps(ours: StepTimer, old: dict[str, list[float]]) -> None:
    print("\nmedian wall time per call of each step (asyncpdf's may overlap one another):")
    for method, times in (("asyncpdf", ours.times), ("baseline", old)):
        for name, seconds in times.items():
            median_ms = statistics.median(seconds) * 1000
            print(f"  {method} {name:<16} {median_ms:8.1f} ms  ({len(seconds)} calls)")


def print_same_use(figures: list[Figures], dpi: int, failures: int) -> None:
    print(
        "\nsame use, worst over files: page sizes within "
        f"{max(f['crop_mm'] for f in figures):.2f} mm of the baseline's (≤ {CROP_TOLERANCE_MM:g}); "
        f"coarsest image {min(f['coarsest_dpi'] for f in figures):.0f} dpi (configured {dpi}); "
        f"process inks within {max(f['ink_off'] for f in figures):.2f} points of ink_cov at "
        f"{REFERENCE_INK_DPI} dpi (≤ {INK_TOLERANCE:g}), spot inks within "
        f"{max(f['spot_off'] for f in figures):.2f} points of their known area; the baseline's "
        f"inkcov is up to {max(f['old_ink_off'] for f in figures):.1f} points off ink_cov (a "
        f"tint counts as full ink); largest proof of a sheet "
        f"{max(f['proof_kb'] for f in figures):.0f} KB"
    )
    if failures:
        print(f"same use: {failures} problem(s), see above")
    else:
        print("same use: every check passed for every file")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(ROOT / "config.yaml")
    rules = settings.rules()
    with tempfile.TemporaryDirectory(prefix="asyncpdf-previews-") as temp, StepTimer() as steps:
        folder = Path(temp)
        started = time.perf_counter()
        samples = make_files(folder / "in", args.files, args.seed)
        analyses = {sample.path: analyze_file(sample.path, rules) for sample in samples}
        failed = [f"{path.name}: {a.error}" for path, a in analyses.items() if a.error]
        if failed:
            print("the analysis failed: " + "; ".join(failed))
            return 1
        print(
            f"{len(samples)} files, {min(s.pages for s in samples)}-"
            f"{max(s.pages for s in samples)} pages, made in {time.perf_counter() - started:.1f} "
            f"s; {args.repeat} runs per file and method; Python {platform.python_version()}, "
            f"Ghostscript {gs('--version').strip()}, pypdfium2 {pdfium_version()}"
        )
        bench = Bench(settings, folder, samples, analyses, args.same_output)
        bench.ours(samples[0], folder / "warm" / "asyncpdf")  # imports, caches, first calls
        bench.theirs(samples[0], folder / "warm" / "baseline")
        steps.times.clear()

        print(
            f"\n{'file':<26} {'pages':>5} {'MB':>5} {'crop':>5} {'spot':>10}"
            f"{'asyncpdf':>10}{'baseline':>10}{'ratio':>8}{'CPU ours':>9}{'CPU old':>9}"
        )
        rows, figures, failures = [], [], 0
        for number in range(len(samples)):
            row, made, old = bench.time_file(number, args.repeat)
            rows.append(row)
            print_row(row)
            problems, found = bench.check(number, made, old)
            figures.append(found)
            failures += len(problems)
            for problem in problems:
                print(f"    NOT THE SAME USE: {problem}")

    print_summary(rows)
    if args.steps:
        print_steps(steps, bench.old_steps)
    print_same_use(figures, settings.previews.dpi, failures)
    return 1 if failures else 0


def pdfium_version() -> str:
    import pypdfium2

    return str(getattr(pypdfium2, "PYPDFIUM_INFO", "?"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=12, help="files to generate (default 12)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per file and method (default 3)"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated set")
    parser.add_argument("--steps", action="store_true", help="also time each step")
    parser.add_argument(
        "--same-output",
        action="store_true",
        help="the baseline also makes every sheet's proof and every separation's coverage",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    if gs_path() is None:
        parser.error("needs Debian's ghostscript (gs)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
