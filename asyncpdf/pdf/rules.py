"""Analysis rules: press, bureau and paper size from mark texts, plate sizes and the file name.

Pure functions over plain data (`Rules` is built once from the settings, by
`config.Settings.rules`, and pickled into pool workers), so the same code serves the pool, the
CLI and the tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PressSpec:
    name: str
    plate_mm: tuple[float, float]
    fallback: bool


@dataclass(frozen=True)
class Rules:
    presses: tuple[PressSpec, ...]
    bureaus: tuple[str, ...]
    marks: tuple[tuple[str, str], ...]
    tolerance_mm: float = 2.0
    max_file_mb: float = 2048
    max_pages: int = 500
    #: (other name, configured name): what marks may call a press or a bureau.
    press_aliases: tuple[tuple[str, str], ...] = ()
    bureau_aliases: tuple[tuple[str, str], ...] = ()

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)


def _configured(
    name: str, names: Sequence[str], aliases: Sequence[tuple[str, str]] = ()
) -> str | None:
    """The configured name `name` stands for (case-insensitive, aliases too), or None."""
    folded = name.casefold()
    known = next((known for known in names if known.casefold() == folded), None)
    return known or next((real for alias, real in aliases if alias.casefold() == folded), None)


# What each group of a mark pattern would have given, and where it comes from without it.
_FALLBACKS = {
    "press": "the press comes from the plate size",
    "bureau": "the bureau from the file name",
    "paper_w": "the paper size from the content",
}


def millimetres(text: str) -> float:
    return float(text.replace(",", "."))


def read_marks(
    marks: Mapping[str, str], rules: Rules, page: int, warnings: list[str]
) -> dict[str, str]:
    """What the configured patterns find in one page's mark texts: press, bureau, paper_w/h.
    A configured mark on the page whose text its pattern does not read is a warning that says
    what is used instead."""
    found: dict[str, str] = {}
    by_name = {name.casefold(): text for name, text in marks.items()}
    for mark, pattern in rules.marks:
        text = by_name.get(mark.casefold())
        if text is None:
            continue
        match = re.search(pattern, text)
        if match is None:
            instead = [_FALLBACKS[g] for g in re.compile(pattern).groupindex if g in _FALLBACKS]
            warnings.append(
                f"page {page}: mark {mark!r} reads {text!r}, which its pattern in the config "
                f"does not match; {', '.join(instead) or 'nothing is taken from it'}"
            )
            continue
        for key, value in match.groupdict().items():
            if value:
                found.setdefault(key, value)
    return found


def press_by_plate(plate_mm: Sequence[float], rules: Rules) -> list[str]:
    """Fallback presses whose plate size matches, orientation ignored."""
    size = sorted(plate_mm)
    return [
        press.name
        for press in rules.presses
        if press.fallback
        and all(
            abs(a - b) <= rules.tolerance_mm
            for a, b in zip(size, sorted(press.plate_mm), strict=True)
        )
    ]


def configured_press(marked: str, rules: Rules) -> str | None:
    return _configured(marked, [p.name for p in rules.presses], rules.press_aliases)


def configured_bureau(marked: str, rules: Rules) -> str | None:
    return _configured(marked, rules.bureaus, rules.bureau_aliases)


def mm_size(size: Sequence[float]) -> str:
    """A size as a prepress person writes it: 1030 x 770."""
    return " x ".join(f"{value:g}" for value in size)


def press_by_plate_size(plate_mm: Sequence[float], rules: Rules, warnings: list[str]) -> str | None:
    """The fallback for a page no mark names a press for: the one press whose plate fits."""
    matches = press_by_plate(plate_mm, rules)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        warnings.append(
            f"plate {mm_size(plate_mm)} mm fits several presses ({', '.join(matches)}); none chosen"
        )
    return None


def detect_bureau(marked: Sequence[str], from_name: str | None, warnings: list[str]) -> str | None:
    """The bureau the marks name (configured names, in page order), else the file name's tag.
    Marks that disagree, or a tag that disagrees with the mark, are warnings; the mark wins."""
    if not marked:
        return from_name
    chosen = marked[0]
    if len(marked) > 1:
        warnings.append(f"marks name several bureaus ({', '.join(marked)}); {chosen} is used")
    if from_name is not None and from_name != chosen:
        warnings.append(
            f"the file name says bureau {from_name!r}, its mark says {chosen!r}: the mark wins"
        )
    return chosen


def paper_from_marks(found: Mapping[str, str]) -> tuple[float, float] | None:
    if "paper_w" in found and "paper_h" in found:
        return (millimetres(found["paper_w"]), millimetres(found["paper_h"]))
    return None
