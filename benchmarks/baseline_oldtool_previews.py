"""The old tool's way of making a file's previews, re-implemented as the baseline of
``previews.py``.

The Django/rq stack asyncpdf replaces did, for every file (issue 14, point 7):

1. pypdf set each page's MediaBox to the paper sheet, placed by the paper mark's size and the
   press's gripper; for a file without a paper mark, to the box ``gs -sDEVICE=bbox`` reported;
2. ``gs -sDEVICE=pdfwrite -dDownsampleColorImages=true -dColorImageResolution=150`` made the
   preview of that crop;
3. ``gs -sDEVICE=jpeg -r200`` rendered its first page, which Pillow resized to the 2500 px proof
   and the 175 px thumbnail;
4. ``gs -sDEVICE=inkcov`` measured the ink.

Where that leaves a choice, this takes the cheaper reading, so the baseline is not slowed by
guesswork: the JPEG and the ink are made from the downsampled preview rather than the crop,
Pillow uses its default filter, and the thumbnail is resized from the proof.

With ``same_output`` the chain makes what asyncpdf makes since issue 21, the old tool's way: a
proof of every sheet (step 3 for every page) and every separation's coverage from
``gs -sDEVICE=tiffsep`` at 100 dpi (the device the issue names), its planes read by Pillow.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
from PIL import Image

from asyncpdf.pdf.crop import MM_PER_PT
from asyncpdf.pdf.model import BoxMM

GS = ["-dNOPAUSE", "-dBATCH", "-dSAFER", "-dQUIET"]
PT = 1 / MM_PER_PT
INK_LINE = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+CMYK OK", re.M)
BBOX_LINE = re.compile(
    r"^%%HiResBoundingBox:\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", re.M
)


def gs(*args: str) -> str:
    """Run Ghostscript; what it printed (stdout and stderr)."""
    done = subprocess.run(
        ["gs", *GS, *args], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    )
    return done.stdout + done.stderr


@dataclass
class OldTool:
    """What the old tool's chain made for one file."""

    preview: Path
    proof: Path
    thumb: Path
    proof_px: tuple[int, int]
    thumb_px: tuple[int, int]
    ink: list[list[float]]
    steps: dict[str, float] = field(default_factory=dict)


def oldtool_previews(
    path: Path, out_dir: Path, papers: Sequence[BoxMM | None], same_output: bool = False
) -> OldTool:
    """The old tool's preview chain. `papers` is the paper sheet per page (the old tool took
    it from the paper mark and the press's gripper, as asyncpdf does), None without a mark.
    With `same_output`, also a proof of every sheet and the coverage of every separation."""
    out_dir.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        steps[name] = now - started
        started = now

    boxes: list[Sequence[float] | None] = list(papers)
    if any(box is None for box in papers):  # a file without a paper mark: its content's box
        said = gs("-sDEVICE=bbox", str(path))
        measured = [[float(v) * MM_PER_PT for v in m.groups()] for m in BBOX_LINE.finditer(said)]
        boxes = [box if box is not None else measured[i] for i, box in enumerate(papers)]
        step("bbox")
    reader = pypdf.PdfReader(path)
    writer = pypdf.PdfWriter()
    for page, box in zip(reader.pages, boxes, strict=True):
        page.mediabox = pypdf.generic.RectangleObject([v * PT for v in box])
        writer.add_page(page)
    crop = out_dir / "crop.pdf"
    with crop.open("wb") as stream:
        writer.write(stream)
    step("crop (pypdf)")
    preview = out_dir / "preview.pdf"
    gs(
        "-sDEVICE=pdfwrite",
        "-dDownsampleColorImages=true",
        "-dColorImageResolution=150",
        f"-sOutputFile={preview}",
        str(crop),
    )
    step("pdfwrite")
    pages = ["-dFirstPage=1", "-dLastPage=1"] if not same_output else []
    gs("-sDEVICE=jpeg", "-r200", *pages, f"-sOutputFile={out_dir / 'page%d.jpg'}", str(preview))
    step("jpeg -r200")
    sizes = []
    image = Image.open(out_dir / "page1.jpg")
    for name, width in (("proof.jpg", 2500), ("thumb.jpg", 175)):
        # Pillow's default filter; the thumbnail from the proof, the cheaper of the readings.
        image = image.resize((width, round(image.height * width / image.width)))
        image.save(out_dir / name)
        sizes.append(image.size)
    for page in sorted(out_dir.glob("page*.jpg"))[1:] if same_output else ():
        with Image.open(page) as sheet:
            sheet.resize((2500, round(sheet.height * 2500 / sheet.width))).save(
                page.with_suffix(".proof.jpg")
            )
    step("Pillow resize")
    said = gs("-sDEVICE=inkcov", "-o", "-", str(preview))
    ink = [[float(v) for v in m.groups()] for m in INK_LINE.finditer(said)]
    step("inkcov")
    if same_output:
        separations(preview, out_dir)
        step("tiffsep")
    return OldTool(
        preview, out_dir / "proof.jpg", out_dir / "thumb.jpg", sizes[0], sizes[1], ink, steps
    )


def separations(preview: Path, out_dir: Path) -> list[dict[str, float]]:
    """Every page's coverage per separation: tiffsep's plane files, each read by Pillow."""
    planes = out_dir / "planes"
    planes.mkdir(exist_ok=True)
    gs("-sDEVICE=tiffsep", "-r100", f"-sOutputFile={planes / 'p%d.tif'}", str(preview))
    found: dict[str, dict[str, float]] = {}
    for plane in sorted(planes.glob("p*(*).tif")):
        page, name = plane.stem.split("(", 1)
        with Image.open(plane) as image:
            histogram = image.convert("L").histogram()
        pixels = sum(histogram)
        # tiffsep's planes hold the ink (255 = solid).
        found.setdefault(page, {})[name.rstrip(")")] = (
            100 * sum(value * count for value, count in enumerate(histogram)) / (255 * pixels)
        )
    return list(found.values())
