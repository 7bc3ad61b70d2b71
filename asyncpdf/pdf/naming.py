"""What a plate file's name says: order number, order name, bureau tag; the delivered name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from asyncpdf.pdf.inks import LETTERS, ordered, process_name
from asyncpdf.pdf.model import Analysis

_ORDER = re.compile(r"^(\d+)[\s_\-]*")
_SEPARATOR_RUN = re.compile(r"[_\-]{2,}")
_DANGLING = re.compile(r"^[_\-]+|[_\-]+(?=\.[^.]*$)|[_\-]+$")


@dataclass(frozen=True)
class NameParts:
    order: str | None
    order_name: str
    bureau: str | None


def _parts(stem: str) -> list[str]:
    return [part for part in stem.split("_") if part.strip()]


def _bureau_in(parts: Iterable[str], bureaus: Iterable[str]) -> str | None:
    by_key = {name.casefold(): name for name in bureaus}
    return next((by_key[key] for part in parts if (key := part.strip().casefold()) in by_key), None)


def find_bureau(file_name: str, bureaus: Iterable[str]) -> str | None:
    """The configured bureau named by a `_`-separated part of the file name, case-insensitive."""
    return _bureau_in(_parts(PurePath(file_name).stem), bureaus)


def parse_name(file_name: str, bureaus: Iterable[str]) -> NameParts:
    """Split `12345_Order name_Bureau.pdf` into its order number, order name and bureau."""
    stem = PurePath(file_name).stem
    bureau = _bureau_in(_parts(stem), bureaus)
    match = _ORDER.match(stem)
    order = match.group(1) if match else None
    rest = stem[match.end() :] if match else stem
    tag = bureau.casefold() if bureau else None
    kept = [p.strip() for p in _parts(rest) if p.strip().casefold() != tag]
    return NameParts(order=order, order_name="_".join(kept), bureau=bureau)


def without_tag(file_name: str, tag: str) -> str:
    """The file name with the `_`-separated part equal to `tag` (case-insensitive) removed."""
    path = PurePath(file_name)
    kept = [p for p in _parts(path.stem) if p.strip().casefold() != tag.casefold()]
    return "_".join(kept) + path.suffix if any(kept) else file_name


def inks_short(inks: Iterable[str]) -> str:
    """`CMY-ReflexBlueC`: process letters in CMYK order, then spots without PANTONE and spaces,
    in ink order (`inks.ordered`).

    Empty for exactly CMYK, the case nobody needs told.
    """
    seen = ordered(inks)
    letters = "".join(LETTERS[name] for ink in seen if (name := process_name(ink)))
    spots = [
        ink.replace("PANTONE", "").replace(" ", "") for ink in seen if process_name(ink) is None
    ]
    if letters == "CMYK" and not spots:
        return ""
    return "-".join(part for part in (letters, *spots) if part)


def delivered_name(file_name: str, bureau: str, template: str | None, analysis: Analysis) -> str:
    """The name the bureau gets: the bureau tag removed, then the bureau's template if any."""
    plain = without_tag(file_name, bureau)
    if template is None:
        return plain
    path = PurePath(plain)
    parts = parse_name(file_name, [bureau])
    plate = analysis.pages[0].plate_mm if analysis.pages else (0, 0)
    presses = analysis.presses
    fields = {
        "order": parts.order or "",
        "name": parts.order_name,
        "stem": path.stem,
        "ext": path.suffix,
        "press": presses[0] if presses else "",
        "plate_w": plate[0],
        "plate_h": plate[1],
        "plates": analysis.plates,
        "inks_short": inks_short(analysis.inks),
    }
    name = template.format(**fields).replace("/", "-").replace("\\", "-")
    # An empty field (inks_short of plain CMYK, no order) must not leave `__` or `_.pdf`.
    name = _SEPARATOR_RUN.sub(lambda m: m.group(0)[0], name)
    return _DANGLING.sub("", name)
