"""How long the queue waits for a file's analysis: asyncpdf against the old tool and the floor.

    .venv/bin/python benchmarks/analysis.py [--files N] [--repeat R] [--seed S]

Generates Signa-like plate files into a temporary folder (4 to 8 pages, 4 process inks with now
and then a spot colour, 1 to 5 MB through incompressible filler images, both mark layouts, both
kinds of font, a fixed seed), then times for every file, `--repeat` times each:

- asyncpdf: ``asyncpdf.pdf.analysis.analyze_file`` in this process (steps 1-3 of the analysis, what
  the queue waits for before delivery can start);
- baseline: the old tool's method (``baseline_oldtool.py``: ``file`` + ``pdfinfo`` subprocesses,
  pdfminer.six layout analysis of every page, pypdf for boxes and colorants);
- floor: a bare ``pikepdf.open`` and a walk over every page touching its MediaBox.

Prints each method's median over files of the per-file median (ms), the ratios, and checks that
asyncpdf and the baseline agree on plates, press and bureau for every file. Timings are printed,
never asserted (see README.md in this folder).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
from baseline_oldtool import analyze_oldtool

from asyncpdf.config import load_settings
from asyncpdf.pdf.analysis import COLORANTS, analyze_file
from asyncpdf.pdf.marks import MARK_PREFIX, mark_name
from asyncpdf.pdf.model import Analysis
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
TARGETS = {"baseline": 20.0, "floor": 3.0}


@dataclass(frozen=True)
class Sample:
    path: Path
    pages: int
    layout: str
    font: str


def make_files(directory: Path, count: int, seed: int) -> list[Sample]:
    """`count` Signa-like files: typical page counts, inks and sizes; deterministic per seed."""
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        press = sorted(PRESSES)[index % len(PRESSES)]
        bureau = BUREAUS[index % len(BUREAUS)]
        layout = ("three", "old", "signa16")[index % 3]
        font = ("embedded", "standard")[(index // 2) % 2]
        paper = rng.choice(PAPERS[press])
        pages = rng.randint(4, 8)
        inks = (
            PROCESS_INKS
            if rng.random() < 0.75
            else (*PROCESS_INKS, rng.choice((*SPOT_INKS, "Varnish")))
        )
        marks = signa_marks(bureau, press, paper, layout=layout, font=font)
        marks += unread_marks(inks, PRESSES[press], font)
        page_list = [SamplePage(PRESSES[press], inks=inks, marks=marks) for _ in range(pages)]
        path = directory / f"{24000 + index}_Заказ {index}_{bureau}.pdf"
        size = rng.randint(1, 5) << 20
        write_sample(path, page_list, filler_bytes=size, seed=seed + index)
        samples.append(Sample(path, pages, layout, font))
    return samples


def floor(path: Path) -> int:
    """The least any pikepdf-based analysis must do: open the file and walk its pages."""
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            _ = page.mediabox
        return len(pdf.pages)


def mark_objects(path: Path) -> int:
    """The floor plus what any method that lists the marks must load, the cheapest way pikepdf
    offers: each page's colorants, every `pssMO` form with its CreationName and its content
    bytes. No text decoded, nothing checked."""
    count = 0
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            _ = page.mediabox
            page.obj.get(COLORANTS)
            xobjects = page.obj.Resources.get("/XObject", {})
            for key in xobjects:
                if key.startswith(MARK_PREFIX):
                    form = xobjects[key]
                    if mark_name(form) is not None:
                        form.read_raw_bytes()
                        count += 1
    return count


def times_ms(func: Callable[[], Any], repeat: int) -> list[float]:
    """`func`'s wall-clock time in ms, `repeat` times."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return times


def agree(ours: Analysis, theirs: dict[str, Any]) -> list[str]:
    """Where asyncpdf and the baseline differ on what the comparison relies on."""
    problems = []
    if ours.error or theirs["error"]:
        problems.append(f"error: asyncpdf {ours.error!r}, baseline {theirs['error']!r}")
    found = {
        "plates": ours.plates,
        "press": [page.press for page in ours.pages],
        "bureau": ours.bureau,
    }
    for key, value in found.items():
        if value != theirs.get(key):
            problems.append(f"{key}: asyncpdf {value!r}, baseline {theirs.get(key)!r}")
    return problems


def print_summary(medians: dict[str, float]) -> None:
    print("\nmedian time per file (median over files of each file's median):")
    for name, value in medians.items():
        print(f"  {name:<9} {value:9.2f} ms")
    speedup = medians["baseline"] / medians["asyncpdf"]
    over_floor = medians["asyncpdf"] / medians["floor"]
    missed = "  (missed)"
    print(
        f"\nasyncpdf vs baseline: {speedup:.1f}× faster (target ≥ {TARGETS['baseline']:g}×)"
        f"{'' if speedup >= TARGETS['baseline'] else missed}"
    )
    print(
        f"asyncpdf vs floor: {over_floor:.1f}× the floor (target ≤ {TARGETS['floor']:g}×)"
        f"{'' if over_floor <= TARGETS['floor'] else missed}"
    )
    print(
        f"mark objects alone (no text decoded): {medians['objects'] / medians['floor']:.1f}× "
        "the floor; asyncpdf is "
        f"{medians['asyncpdf'] / medians['objects']:.1f}× that"
    )


def run(args: argparse.Namespace) -> int:
    rules = load_settings(ROOT / "config.yaml").rules()
    methods: dict[str, Callable[[Path], Any]] = {
        "asyncpdf": lambda path: analyze_file(path, rules),
        "baseline": lambda path: analyze_oldtool(path, rules),
        "floor": floor,
        "objects": mark_objects,
    }
    per_file: dict[str, list[float]] = {name: [] for name in methods}
    mismatches = 0
    with tempfile.TemporaryDirectory(prefix="asyncpdf-bench-") as tmp:
        started = time.perf_counter()
        samples = make_files(Path(tmp), args.files, args.seed)
        sizes = [s.path.stat().st_size / 2**20 for s in samples]
        print(
            f"{len(samples)} files, {min(s.pages for s in samples)}-"
            f"{max(s.pages for s in samples)} pages, {min(sizes):.1f}-{max(sizes):.1f} MB, "
            f"made in {time.perf_counter() - started:.1f} s; {args.repeat} runs per file "
            f"and method; Python {platform.python_version()}, pikepdf {pikepdf.__version__}"
        )
        for func in methods.values():  # warm-up: imports, font caches, first-call costs
            func(samples[0].path)

        print(f"\n{'file':<34} {'pages':>5} {'MB':>5}" + "".join(f"{m:>11}" for m in methods))
        for sample, size in zip(samples, sizes, strict=True):
            row = f"{sample.path.name[:34]:<34} {sample.pages:>5} {size:>5.1f}"
            for name, func in methods.items():
                ms = statistics.median(times_ms(lambda f=func, p=sample.path: f(p), args.repeat))
                per_file[name].append(ms)
                row += f"{ms:>9.1f}ms"
            print(row)
            problems = agree(analyze_file(sample.path, rules), analyze_oldtool(sample.path, rules))
            for problem in problems:
                mismatches += 1
                print(f"    DISAGREE ({sample.layout} layout, {sample.font} font): {problem}")

    print_summary({name: statistics.median(values) for name, values in per_file.items()})
    if mismatches:
        print(f"\ncorrectness guard: {mismatches} disagreement(s) on plates/press/bureau")
        return 1
    print("\ncorrectness guard: asyncpdf and baseline agree on plates/press/bureau for every file")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24, help="files to generate (default 24)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per file and method (default 5)"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated set")
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
