"""Ghostscript (Debian's ``gs``) for ink coverage, content boxes and the downsampling that
``downsample`` cannot do in process.

Each call runs one ``gs`` subprocess with ``-dSAFER`` and a timeout; on a timeout the process
is killed. Failures raise ``GhostscriptError`` carrying the exit code and the tail of what
Ghostscript said. Ghostscript repairs damaged PDFs and may then exit 0 having processed no
page, so results are checked, not just exit codes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pikepdf

from asyncpdf.errors import GhostscriptError
from asyncpdf.lifetime import die_with_parent
from asyncpdf.pdf.crop import MM_PER_PT

# The resolution of ink coverage (ink_cov and the separations alike, so they agree), with
# anti-aliasing: a pixel an edge crosses counts for the part of it inside, not for all of it, so
# thin detail does not grow as the resolution drops. Counting is then cheap and accurate: on
# plates of blocks, bars, marks and images within 0.07 point of 150 dpi; on a sheet of dense
# 8 pt text about 0.5 point above 600 dpi (100 dpi without anti-aliasing: 0.8; 50 dpi without:
# 10); hairlines closer to their area than 150 dpi without it.
# Anti-aliased text costs more time on text-heavy sheets (benchmarks/README.md). Device colours
# go to the plates as they are (no ICC link: CMYK is the plates' own; grey is K), which also
# spares building a link, a third of ink_cov's time on a plate.
INK_DPI = 50
INK_RENDERING = [f"-r{INK_DPI}", "-dGraphicsAlphaBits=4", "-dTextAlphaBits=4", "-dUseFastColor"]
_TAIL_CHARS = 600
_BASE = ["-dNOPAUSE", "-dBATCH", "-dSAFER", "-dQUIET"]
# ink_cov prints one line per page: C M Y K percentages, then "CMYK OK".
_INK_LINE = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+CMYK OK\s*$", re.M)
_BBOX_LINE = re.compile(
    r"^%%HiResBoundingBox:\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", re.M
)


def gs_path() -> str | None:
    """Ghostscript's executable on PATH, or None where it is not installed."""
    return shutil.which("gs")


def said_by(text: str) -> str:
    """The tail of what Ghostscript said, on one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = " | ".join(lines)
    return joined[-_TAIL_CHARS:]


def readable_pdf(what: str, source: Path) -> None:
    """Raise GhostscriptError unless ``source`` starts like a PDF: Ghostscript runs anything
    else as PostScript, so it is never handed one."""
    with source.open("rb") as stream:
        if b"%PDF-" not in stream.read(1024):
            raise GhostscriptError(f"ghostscript {what}: {source.name} is not a PDF")


def _run(
    what: str, source: Path | Sequence[Path], args: list[str], timeout_s: float
) -> tuple[str, str]:
    """Run gs on ``source`` (or on each of several, in order, in one run); return (stdout,
    stderr) or raise GhostscriptError."""
    sources = [source] if isinstance(source, Path) else list(source)
    for each in sources:
        readable_pdf(what, each)
    exe = gs_path()
    if exe is None:
        raise GhostscriptError(f"ghostscript {what}: gs is not installed")
    # An absolute path cannot be mistaken for an option (a name starting with "-").
    command = [exe, *_BASE, *args, *(str(each.absolute()) for each in sources)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
            # The pool kills a worker that runs past the job timeout: its gs must go with it.
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped gs by now
        raise GhostscriptError(f"ghostscript {what} timed out after {timeout_s:g} s") from exc
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        said = said_by(stderr + "\n" + stdout)
        raise GhostscriptError(
            f"ghostscript {what} failed (exit {done.returncode}): {said}", done.returncode, said
        )
    return stdout, stderr


def _no_pages(what: str, stdout: str, stderr: str) -> GhostscriptError:
    said = said_by(stderr + "\n" + stdout)
    return GhostscriptError(f"ghostscript {what} processed no page: {said}", 0, said)


def output_name(path: Path) -> str:
    # gs expands %d-style templates in output file names; a literal % must be doubled.
    return str(path).replace("%", "%%")


def downsample(source: Path, target: Path, dpi: int, timeout_s: float) -> None:
    """Rewrite ``source`` to ``target`` with images downsampled to ``dpi``.

    CMYK and spot colours are left as they are; page boxes follow the CropBox.
    """
    args = ["-sDEVICE=pdfwrite", "-dUseCropBox", "-sColorConversionStrategy=LeaveColorUnchanged"]
    for kind in ("Color", "Gray", "Mono"):
        args += [
            f"-dDownsample{kind}Images=true",
            f"-d{kind}ImageResolution={int(dpi)}",
            f"-d{kind}ImageDownsampleThreshold=1.0",
        ]
        if kind != "Mono":  # bicubic would turn 1-bit images grey; gs subsamples those
            args.append(f"-d{kind}ImageDownsampleType=/Bicubic")
    args.append(f"-sOutputFile={output_name(target)}")
    stdout, stderr = _run("downsample", source, args, timeout_s)
    said = said_by(stderr + "\n" + stdout)
    # A file gs could not read still yields exit 0 and no output (or an empty PDF).
    if not target.is_file() or target.stat().st_size == 0:
        raise GhostscriptError(f"ghostscript downsample wrote nothing: {said}", 0, said)
    try:
        with pikepdf.open(target) as after:
            got = len(after.pages)
        with pikepdf.open(source) as before:
            expected = len(before.pages)
    except pikepdf.PikepdfError as exc:
        raise GhostscriptError(f"ghostscript downsample: {exc}; gs said: {said}", 0, said) from exc
    if got != expected:
        raise GhostscriptError(
            f"ghostscript downsample wrote {got} of {expected} pages: {said}", 0, said
        )


def page_list(pages: Sequence[int] | None) -> list[str]:
    return [] if pages is None else ["-sPageList=" + ",".join(str(page + 1) for page in pages)]


def ink_coverage(
    source: Path, timeout_s: float, pages: Sequence[int] | None = None
) -> list[dict[str, float]]:
    """Ink coverage per page (or per page of ``pages``, 0-based) as {"C", "M", "Y", "K"}
    percentages 0-100 (2 decimals).

    Uses the ``ink_cov`` device, which weighs each pixel by its tint (a 50 % cyan page is 50 %),
    i.e. the prepress meaning of coverage; ``inkcov`` would count any touched pixel as 100 %.
    Spot colours count through their CMYK alternate (as a RIP puts them on process plates).
    """
    return ink_coverage_of([source], timeout_s, page_list(pages))


def ink_coverage_of(
    sources: Sequence[Path], timeout_s: float, args: Sequence[str] = (), what: str = "ink coverage"
) -> list[dict[str, float]]:
    """``ink_coverage`` of every page of each of ``sources`` in turn, in one run of gs, with
    ``args`` added to its options."""
    command = ["-sDEVICE=ink_cov", *INK_RENDERING, *args, "-o", "-"]
    stdout, stderr = _run(what, sources, command, timeout_s)
    found = [
        {ink: round(float(value), 2) for ink, value in zip("CMYK", match.groups(), strict=True)}
        for match in _INK_LINE.finditer(stdout)
    ]
    if not found:
        raise _no_pages(what, stdout, stderr)
    return found


def content_bbox_mm(
    source: Path, timeout_s: float, pages: Sequence[int] | None = None
) -> list[tuple[float, float, float, float] | None]:
    """The box around everything drawn on each page (or on each of ``pages``, 0-based), in mm
    from the MediaBox's lower-left.

    Like Ghostscript itself, boxes are in the page as shown (after /Rotate) and clipped to the
    page; ``None`` for a page that draws nothing.
    """
    args = ["-sDEVICE=bbox", *page_list(pages)]
    stdout, stderr = _run("bbox", source, args, timeout_s)
    boxes: list[tuple[float, float, float, float] | None] = []
    for match in _BBOX_LINE.finditer(stderr):
        x0, y0, x1, y1 = (float(v) * MM_PER_PT for v in match.groups())
        empty = x1 <= x0 or y1 <= y0
        boxes.append(None if empty else (round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)))
    if not boxes:
        raise _no_pages("bbox", stdout, stderr)
    return boxes
