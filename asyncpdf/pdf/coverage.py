"""Ink coverage of every plate of a preview, under each page's own ink names.

Pages whose plates are all process inks are measured by Ghostscript's ``ink_cov`` (a spot drawn
there counts through its CMYK alternate, as the RIP puts it on those plates); pages with a spot
plate, or whose plates are not known, separation by separation (a spot has its own figure and
the process plates not the spot's alternate): by ``recoloured`` (``ink_cov`` on recoloured
copies, two thirds of the CPU), or by ``separations`` (``psdcmyk``) where the page's colours
cannot be recoloured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from asyncpdf.errors import GhostscriptError
from asyncpdf.pdf import listing
from asyncpdf.pdf.ghostscript import INK_DPI, ink_coverage
from asyncpdf.pdf.inks import LETTERS, PROCESS, coverage_by_ink, process_name
from asyncpdf.pdf.model import SizeMM
from asyncpdf.pdf.recoloured import recoloured_coverage
from asyncpdf.pdf.separations import separations

# A page's separations are written out plane by plane: a page of more pixels than this at
# INK_DPI (a 1400 x 1000 mm sheet has 5.4 million at 50 dpi) is a hostile or mistaken file's,
# not a sheet.
MAX_SEPARATED_PIXELS = 7_500_000


def measure_coverage(
    preview: Path,
    scratch: Path,
    page_inks: Sequence[Sequence[str]],
    sheets_mm: Sequence[SizeMM],
    timeout_s: float,
    warnings: list[str],
) -> list[dict[str, float]] | None:
    """Each page's coverage under its own ink names, in ink order (``inks.coverage_by_ink``);
    an empty mapping for a page that could not be measured. None, with the reason among
    ``warnings``, when Ghostscript fails. ``scratch`` takes the separations' pages where
    ``/dev/shm`` cannot (``separations.separations``)."""
    plain, spotted = _by_method(page_inks, sheets_mm, warnings)
    measured: list[dict[str, float] | None] = [None] * len(page_inks)
    every = len(page_inks)
    try:
        if plain:
            found = ink_coverage(preview, timeout_s, None if len(plain) == every else plain)
            for index, letters in zip(plain, found, strict=False):
                measured[index] = {name: letters[LETTERS[name]] for name in PROCESS}
        if spotted:
            pages = None if len(spotted) == every else spotted
            separated = recoloured_coverage(preview, scratch, timeout_s, pages)
            if separated is None:
                separated = separations(preview, scratch, timeout_s, pages)
            for index, by_name in zip(spotted, separated, strict=False):
                measured[index] = by_name
    except GhostscriptError as exc:
        warnings.append(f"ink coverage not measured: {exc}")
        return None
    return _named(page_inks, measured, warnings)


def _by_method(
    page_inks: Sequence[Sequence[str]], sheets_mm: Sequence[SizeMM], warnings: list[str]
) -> tuple[list[int], list[int]]:
    """The pages (0-based) for ``ink_cov`` and those for ``separations``; a page too large to
    separate is in neither, with a warning."""
    plain: list[int] = []
    spotted: list[int] = []
    for index, (inks, (width, height)) in enumerate(zip(page_inks, sheets_mm, strict=True)):
        if inks and all(process_name(ink) for ink in inks):
            plain.append(index)
        elif (width / 25.4 * INK_DPI) * (height / 25.4 * INK_DPI) <= MAX_SEPARATED_PIXELS:
            spotted.append(index)
        else:
            warnings.append(
                f"page {index + 1} ({width:g} x {height:g} mm) is too large to measure its inks "
                "separation by separation: its coverage is not measured"
            )
    return plain, spotted


def _named(
    page_inks: Sequence[Sequence[str]],
    measured: Sequence[dict[str, float] | None],
    warnings: list[str],
) -> list[dict[str, float]]:
    coverage: list[dict[str, float]] = []
    stray: dict[str, list[int]] = {}
    for number, (inks, planes) in enumerate(zip(page_inks, measured, strict=True), start=1):
        shown, others = coverage_by_ink(inks, planes or {})
        coverage.append(shown if planes is not None else {})
        for name in others:
            stray.setdefault(name, []).append(number)
    missing = sum(planes is None for planes in measured)
    if missing:
        warnings.append(
            f"ink coverage measured on {len(measured) - missing} of {len(measured)} pages"
        )
    for name, pages in stray.items():
        warnings.append(
            f"{listing.pages(pages)}: {name} is drawn, but no plate of the page is {name}: "
            "its coverage is not counted"
        )
    return coverage
