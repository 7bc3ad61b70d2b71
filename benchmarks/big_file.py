"""A big job's previews: one 16-sheet plate file of about 65 MB, time and sizes.

    .venv/bin/python benchmarks/big_file.py [--sheets N] [--repeat R] [--seed S]

Generates (not timed) a catalogue-like Signa plate file: Speedmaster plates, a 1000 x 700 mm
sheet, on every sheet a 480 x 330 mm CMYK photo at 300 dpi stored as a JPEG (as Signa files
carry them) and, on every fourth sheet, a PANTONE 185 C patch through its Separation colour
space (a fifth plate). Then runs what the job's previews step runs (``previews.asyncpdf_previews``:
preview, a proof of every sheet, thumbnail, ink coverage of every plate) ``--repeat`` times and
the old tool's chain once, and prints the wall and CPU time, the preview's size and the proofs'
sizes (every sheet's, median and largest). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
from pathlib import Path

import pikepdf
from baseline_oldtool_previews import oldtool_previews
from PIL import Image
from previews import PT, asyncpdf_previews, timed

from asyncpdf.config import load_settings
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.crop import crop_boxes_mm
from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.testing.samples import PROCESS_INKS, Fill, SamplePage, signa_marks, write_sample

ROOT = Path(__file__).resolve().parent.parent
PLATE_MM, PAPER_MM = (1030.0, 770.0), (1000.0, 700.0)
PHOTO_MM, PHOTO_DPI = (480.0, 330.0), 300
SPOT = "PANTONE 185 C"


def _photo_jpeg(seed: int) -> tuple[bytes, int, int]:
    """A smooth CMYK 'photo' with grain, as JPEG bytes, PHOTO_DPI on PHOTO_MM."""
    rng = random.Random(seed)
    width, height = (round(side / 25.4 * PHOTO_DPI) for side in PHOTO_MM)
    coarse = Image.frombytes("CMYK", (24, 16), rng.randbytes(24 * 16 * 4))
    smooth = coarse.resize((width, height), Image.Resampling.BILINEAR)
    side = (width // 12, height // 12)
    grain = Image.frombytes("CMYK", side, rng.randbytes(side[0] * side[1] * 4))
    image = Image.blend(smooth, grain.resize((width, height), Image.Resampling.NEAREST), 0.025)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue(), width, height


def make_big_file(directory: Path, sheets: int, seed: int) -> Path:
    marks = signa_marks("Korol", "Speedmaster", PAPER_MM)
    pages = []
    for sheet in range(sheets):
        spotted = sheet % 4 == 3
        fills = (Fill((300.0, 560.0, 700.0, 640.0), SPOT),) if spotted else ()
        inks = (*PROCESS_INKS, SPOT) if spotted else PROCESS_INKS
        pages.append(SamplePage(PLATE_MM, inks, marks, fills=fills))
    path = write_sample(directory / "31415_Catalogue 16 sheets_Korol.pdf", pages)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for sheet, page in enumerate(pdf.pages):
            data, width, height = _photo_jpeg(seed + sheet)
            photo = pdf.make_stream(
                data,
                Type=pikepdf.Name.XObject,
                Subtype=pikepdf.Name.Image,
                Width=width,
                Height=height,
                ColorSpace=pikepdf.Name.DeviceCMYK,
                BitsPerComponent=8,
                Filter=pikepdf.Name.DCTDecode,
            )
            resources = page.obj.Resources
            if "/XObject" not in resources:
                resources.XObject = pikepdf.Dictionary()
            resources.XObject.Ph0 = photo
            x, y = (PLATE_MM[0] - PHOTO_MM[0]) / 2, 60.0
            matrix = f"{PHOTO_MM[0] * PT:.3f} 0 0 {PHOTO_MM[1] * PT:.3f} {x * PT:.3f} {y * PT:.3f}"
            place = f"q {matrix} cm /Ph0 Do Q"
            page.contents_add(pdf.make_stream(place.encode("ascii")), prepend=True)
        pdf.save(path, deterministic_id=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=16, help="sheets (default 16)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs (default 2)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the photos")
    args = parser.parse_args(argv)
    if gs_path() is None:
        parser.error("needs Debian's ghostscript (gs)")
    settings = load_settings(ROOT / "config.yaml")
    grippers = {press.name: press.gripper_mm for press in settings.presses}
    with tempfile.TemporaryDirectory(prefix="asyncpdf-big-") as temp:
        folder = Path(temp)
        path = make_big_file(folder, args.sheets, args.seed)
        analysis = analyze_file(path, settings.rules())
        if analysis.error:
            print(f"the analysis failed: {analysis.error}")
            return 1
        size_mb = path.stat().st_size / 2**20
        print(
            f"{path.name}: {len(analysis.pages)} sheets, {size_mb:.1f} MB, {analysis.plates} plates"
        )
        runs = []
        for attempt in range(args.repeat):
            out = folder / "out" / str(attempt)
            runs.append(timed(lambda o=out: asyncpdf_previews(path, o, analysis, settings)))
        made = runs[-1][2]
        walls, cpus = [run[0] for run in runs], [run[1] for run in runs]
        proofs = [(Path(made.dir) / name).stat().st_size / 1024 for name in made.sheet_proofs]
        print(
            f"asyncpdf: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU "
            f"(median of {args.repeat}; runs {', '.join(f'{w:.2f}' for w in walls)} s)"
        )
        wide = made.proof_px[0] if made.proof_px else "?"
        print(
            f"  preview {made.preview_bytes / 2**20:.2f} MB; {len(proofs)} proofs {wide} px "
            f"wide, median {statistics.median(proofs):.0f} KB, largest {max(proofs):.0f} KB, "
            f"{sum(proofs) / 1024:.2f} MB in all; thumbnail "
            f"{(Path(made.dir) / (made.thumb or '')).stat().st_size / 1024:.0f} KB"
        )
        print(f"  warnings: {list(made.warnings) or 'none'}")
        crops = crop_boxes_mm(analysis, grippers).boxes
        wall, cpu, _ = timed(lambda: oldtool_previews(path, folder / "old", crops))
        print(f"old tool's chain (one proof, CMYK only): {wall:.2f} s wall, {cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
