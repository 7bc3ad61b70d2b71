"""`asyncpdf analyze --json` over 40 plate files as one process, against the old tool's method
over the same files as one process.

    .venv/bin/python benchmarks/analyze_cli.py [--files N] [--repeat R] [--seed S]

Makes `--files` Signa-like plate files (default 40; `analysis.make_files`: 4-8 pages, 1-5 MB,
both mark layouts and fonts) and gives each plate the artwork of its imposed pages (`--lines`
lines of text and as many rules per plate, default 250: one catalogue page; 0
leaves the samples' few rectangles, which no real plate is), then times, `--repeat` times each
(default 3, alternating):

- asyncpdf: ``python -m asyncpdf analyze --json --config config.yaml FILE...``, from the start
  of the process to its exit: interpreter start-up, imports, the config, the worker, every file;
- baseline: one ``python`` process running `baseline_oldtool.analyze_oldtool` (``file`` and
  ``pdfinfo`` as subprocesses, pdfminer.six layout analysis, pypdf) over the same files, with
  asyncpdf's rules from the same config, printing one JSON line per file: start to exit too.

Prints each run's wall time, the medians and their ratio (target: asyncpdf ≥ 25× faster), and
how long `import asyncpdf.cli` and the analyze command's imports take on their own. Timings are
printed, never asserted; exits 1 only if a command fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pikepdf
from analysis import make_files

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TARGET = 25.0
BASELINE = (
    "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
    "from baseline_oldtool import analyze_oldtool;"
    "from asyncpdf.config import load_settings;"
    "rules = load_settings(Path(sys.argv[2])).rules();"
    "[print(json.dumps(analyze_oldtool(Path(f), rules), default=str)) for f in sys.argv[3:]]"
)


def add_artwork(path: Path, lines: int) -> None:
    """Draw `lines` lines of text and as many rules on every page, as imposed pages are: the
    content a plate's page carries besides the marks (which asyncpdf never parses)."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
            )
        )
        ops = []
        for line in range(lines):
            x, y = 40 + (line // 250) * 320, 60 + (line % 250) * 8
            ops.append(f"BT /FArt 6 Tf {x} {y} Td (Line {line} of the imposed page text) Tj ET")
            ops.append(f"{x} {y - 2} m {x + 280} {y - 2} l S")
        content = "\n".join(ops).encode()
        for page in pdf.pages:
            if pikepdf.Name.Resources not in page.obj:
                page.obj[pikepdf.Name.Resources] = pikepdf.Dictionary()
            resources = page.obj[pikepdf.Name.Resources]
            if pikepdf.Name.Font not in resources:
                resources[pikepdf.Name.Font] = pikepdf.Dictionary()
            resources[pikepdf.Name.Font][pikepdf.Name.FArt] = font
            page.contents_add(pikepdf.Stream(pdf, content), prepend=False)
        pdf.save(path)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1) or not done.stdout:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command[:4])} …\n{done.stderr}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--lines", type=int, default=250, help="artwork lines per plate")
    args = parser.parse_args(argv)
    config = str(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory(prefix="asyncpdf-analyze-") as tmp:
        samples = make_files(Path(tmp), args.files, args.seed)
        for sample in samples:
            if args.lines:
                add_artwork(sample.path, args.lines)
        files = [str(sample.path) for sample in samples]
        print(f"{args.files} files, {args.lines} artwork lines per plate")
        ours = [sys.executable, "-m", "asyncpdf", "analyze", "--json", "--config", config, *files]
        theirs = [sys.executable, "-c", BASELINE, str(HERE), config, *files]
        times: dict[str, list[float]] = {"asyncpdf": [], "baseline": []}
        for run in range(1, args.repeat + 1):
            times["asyncpdf"].append(timed(ours))
            times["baseline"].append(timed(theirs))
            print(
                f"run {run}: asyncpdf {times['asyncpdf'][-1]:.3f} s, "
                f"baseline {times['baseline'][-1]:.3f} s"
            )
        imports = [sys.executable, "-c", "import asyncpdf.cli, asyncpdf.config"]
        empty = [sys.executable, "-c", "pass"]
        start_up = statistics.median(timed_ok(empty) for _ in range(3))
        cli = statistics.median(timed_ok(imports) for _ in range(3))
    ours_s, theirs_s = (statistics.median(times[name]) for name in ("asyncpdf", "baseline"))
    ratio = theirs_s / ours_s
    print(
        f"\n{args.files} files as one process, median of {args.repeat}: asyncpdf {ours_s:.3f} s, "
        f"baseline {theirs_s:.3f} s: {ratio:.1f}× faster (target ≥ {TARGET:g}×)"
        f"{'' if ratio >= TARGET else '  (missed)'}"
    )
    print(
        f"python start-up {start_up:.3f} s; `import asyncpdf.cli, asyncpdf.config` "
        f"{cli - start_up:.3f} s on top"
    )
    return 0


def timed_ok(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
