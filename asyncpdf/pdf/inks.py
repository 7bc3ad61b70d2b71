"""Ink names and their order: process inks first (C, M, Y, K), then the spots as the file lists
them. Everything that shows a list of inks or coverages orders it here, so the grid, the job
page, the API, the reports and the delivered file name agree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

PROCESS = ("Cyan", "Magenta", "Yellow", "Black")
#: Each process ink's letter, as ``ink_cov`` and short file names give them.
LETTERS = dict(zip(PROCESS, "CMYK", strict=True))
_PROCESS_KEYS = {ink.casefold(): ink for ink in PROCESS}


def process_name(ink: str) -> str | None:
    """``Cyan``, ``Magenta``, ``Yellow`` or ``Black`` for a process ink (any case); else None."""
    return _PROCESS_KEYS.get(ink.strip().casefold())


def ordered(inks: Iterable[str]) -> tuple[str, ...]:
    """Each ink once: the process inks in C, M, Y, K order, then the others in their order."""
    seen = tuple(dict.fromkeys(inks))
    process = {process_name(ink): ink for ink in seen if process_name(ink)}
    spots = tuple(ink for ink in seen if process_name(ink) is None)
    return tuple(process[name] for name in PROCESS if name in process) + spots


def _key(name: str) -> str:
    return "".join(name.split()).casefold()


def coverage_by_ink(
    page_inks: Sequence[str], measured: Mapping[str, float]
) -> tuple[dict[str, float], list[str]]:
    """The page's coverage under its own ink names, in ink order; and the separations measured
    that are none of its plates (drawn, but no plate carries them).

    ``measured`` maps separation names (``Cyan``… for process) to percentages. A plate whose
    separation draws nothing is 0. Without ``page_inks`` (a file that does not list its
    plates) every measured separation is shown, process first.
    """
    by_key = {_key(name): value for name, value in measured.items()}
    if not page_inks:
        names = ordered(measured)
        return {name: round(measured[name], 2) for name in names}, []
    inks = ordered(page_inks)
    shown = {ink: round(by_key.get(_key(process_name(ink) or ink), 0.0), 2) for ink in inks}
    wanted = {_key(process_name(ink) or ink) for ink in inks}
    stray = [
        name
        for name, value in measured.items()
        if _key(name) not in wanted and process_name(name) is None and value > 0
    ]
    return shown, stray


def average(pages: Iterable[Mapping[str, float] | None]) -> dict[str, float]:
    """Each ink's mean coverage over the plates that carry it (pages without it not counted),
    in ink order."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for page in pages:
        for ink, value in (page or {}).items():
            sums[ink] = sums.get(ink, 0.0) + value
            counts[ink] = counts.get(ink, 0) + 1
    return {ink: round(sums[ink] / counts[ink], 2) for ink in ordered(sums)}


_MM2_PER_M2 = 1_000_000


def ink_use_m2(
    presses: Sequence[str | None],
    sheets_mm: Sequence[tuple[float, float]],
    coverage: Sequence[Mapping[str, float]],
) -> dict[str, dict[str, float]]:
    """Press → ink → m² of solid ink: for every plate (a page's ink), its sheet's area × its
    coverage. Pages without a press, a sheet size or a coverage count nothing. Inks in ink
    order."""
    use: dict[str, dict[str, float]] = {}
    for press, sheet, page in zip(presses, sheets_mm, coverage, strict=False):
        if press is None:
            continue
        area_m2 = sheet[0] * sheet[1] / _MM2_PER_M2
        by_ink = use.setdefault(press, {})
        for ink, percent in page.items():
            by_ink[ink] = by_ink.get(ink, 0.0) + area_m2 * percent / 100
    return {press: {ink: by_ink[ink] for ink in ordered(by_ink)} for press, by_ink in use.items()}
