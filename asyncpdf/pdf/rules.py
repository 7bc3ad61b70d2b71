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

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)


def _configured(name: str, names: Sequence[str]) -> str | None:
    return next((known for known in names if known.casefold() == name.casefold()), None)


def millimetres(text: str) -> float:
    return float(text.replace(",", "."))


def read_marks(marks: Mapping[str, str], rules: Rules) -> dict[str, str]:
    """What the configured patterns find in one page's mark texts: press, bureau, paper_w/h."""
    found: dict[str, str] = {}
    by_name = {name.casefold(): text for name, text in marks.items()}
    for mark, pattern in rules.marks:
        text = by_name.get(mark.casefold())
        match = re.search(pattern, text) if text else None
        if match:
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


def detect_press(
    marked: str | None, plate_mm: Sequence[float], rules: Rules, warnings: list[str]
) -> str | None:
    """The page's press: its mark if that names a configured press, else by plate size."""
    names = [p.name for p in rules.presses]
    if marked:
        known = _configured(marked, names)
        if known:
            return known
        warnings.append(f"mark names press {marked!r}, which is not configured ({names})")
    matches = press_by_plate(plate_mm, rules)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        warnings.append(f"plate {list(plate_mm)} mm fits several presses {matches}; none chosen")
    return None


def detect_bureau(
    marked: Sequence[str], from_name: str | None, rules: Rules, warnings: list[str]
) -> str | None:
    """The bureau from the marks (first configured one), else the file name's bureau tag."""
    for name in marked:
        known = _configured(name, rules.bureaus)
        if known:
            return known
        warnings.append(f"mark names bureau {name!r}, which is not configured")
    return from_name


def paper_from_marks(found: Mapping[str, str]) -> tuple[float, float] | None:
    if "paper_w" in found and "paper_h" in found:
        return (millimetres(found["paper_w"]), millimetres(found["paper_h"]))
    return None
