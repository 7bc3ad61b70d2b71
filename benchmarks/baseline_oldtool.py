"""The old tool's way of analysing a plate file, re-implemented as the benchmark's baseline.

The Django/rq stack asyncpdf replaces did, for every file:

1. ``file`` as a subprocess, to check the content is a PDF;
2. ``pdfinfo`` as a subprocess, for the Creator and the page count;
3. pdfminer.six layout analysis of every page (``extract_pages`` with ``LAParams``), then a
   search of each page's text for the mark patterns (``Выведено:``, ``Машина:``, ``Бумага:``);
4. pypdf for each page's MediaBox (the plate size) and its Signa colorants
   (``/PieceInfo/HDAG_COLORANT/Private/HDAG_ColorantNames``).

Only the method is the old one: the mark patterns and the detection rules (which press a name or
a plate size means, which bureau a name means) are asyncpdf's, taken from the same config, so the
benchmark compares the ways of reading a file and nothing else. The result has the keys the
benchmark's correctness guard compares: ``plates``, ``press``, ``bureau``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTContainer, LTItem, LTTextContainer
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from asyncpdf.pdf.naming import find_bureau
from asyncpdf.pdf.rules import (
    Rules,
    configured_bureau,
    configured_press,
    detect_bureau,
    press_by_plate_size,
)

MM_PER_PT = 25.4 / 72
_COLORANTS = ("/PieceInfo", "/HDAG_COLORANT", "/Private", "/HDAG_ColorantNames")
_SPACES = re.compile(r"\s+")
# all_texts: Signa's marks are form XObjects, which pdfminer lays out as figures; without it
# their characters are never grouped into text.
LAPARAMS = LAParams(all_texts=True)


def _tool(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, check=False, stdin=subprocess.DEVNULL)
    return done.stdout.decode("utf-8", "replace")


def _pdfinfo(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in _tool("pdfinfo", str(path)).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _texts(item: LTItem) -> Iterator[str]:
    if isinstance(item, LTTextContainer):
        yield item.get_text()
    elif isinstance(item, LTContainer):
        for child in item:
            yield from _texts(child)


def page_texts(path: Path) -> list[str]:
    """Every page's text after pdfminer's layout analysis, whitespace normalised."""
    return [
        _SPACES.sub(" ", " ".join(_texts(layout))).strip()
        for layout in extract_pages(path, laparams=LAPARAMS)
    ]


def find_in_text(text: str, rules: Rules) -> dict[str, str]:
    """What the mark patterns find anywhere in a page's text: press, bureau, paper_w/h."""
    found: dict[str, str] = {}
    for _mark, pattern in rules.marks:
        match = re.search(pattern, text)
        if match:
            for key, value in match.groupdict().items():
                if value:
                    found.setdefault(key, value)
    return found


def _plate_mm(box: Any) -> list[int]:
    width = abs(float(box.right) - float(box.left)) * MM_PER_PT
    height = abs(float(box.top) - float(box.bottom)) * MM_PER_PT
    short, long = sorted((round(width), round(height)))
    return [long, short]


def _colorants(page: DictionaryObject) -> list[str]:
    value: Any = page
    for key in _COLORANTS:
        value = value.get_object() if value is not None else None
        if not isinstance(value, DictionaryObject) or key not in value:
            return []
        value = value[key]
    value = value.get_object()
    if not isinstance(value, ArrayObject):
        return []
    return [str(name.get_object()).removeprefix("/").replace("#20", " ") for name in value]


def analyze_oldtool(path: Path, rules: Rules) -> dict[str, Any]:
    """Analyse `path` the old tool's way; the same detection rules as asyncpdf."""
    result: dict[str, Any] = {"file": path.name, "error": None}
    kind = _tool("file", "--brief", "--mime-type", str(path)).strip()
    if kind != "application/pdf":
        result["error"] = f"not a PDF ({kind})"
        return result
    info = _pdfinfo(path)
    result["creator"] = info.get("Creator")
    result["pages"] = int(info.get("Pages", "0") or 0)

    found = [find_in_text(text, rules) for text in page_texts(path)]

    reader = PdfReader(path)
    plates = [_plate_mm(page.mediabox) for page in reader.pages]
    inks = [_colorants(page) for page in reader.pages]

    warnings: list[str] = []
    result["plate_sizes_mm"] = plates
    result["inks"] = inks
    result["plates"] = sum(len(names) for names in inks)
    result["marks_found"] = found
    result["press"] = [
        configured_press(marks["press"], rules)
        if "press" in marks
        else press_by_plate_size(plate, rules, warnings)
        for marks, plate in zip(found, plates, strict=True)
    ]
    named = (configured_bureau(marks["bureau"], rules) for marks in found if "bureau" in marks)
    marked = list(dict.fromkeys(name for name in named if name))
    result["bureau"] = detect_bureau(marked, find_bureau(path.name, rules.bureaus), warnings)
    result["warnings"] = warnings
    return result
