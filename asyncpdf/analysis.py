"""Analysis of one plate PDF: pure functions over a path, run in the process pool.

Returns plain JSON-ready data so the result crosses the process boundary and goes straight into
the job store and the API.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pikepdf

from asyncpdf.artefacts.ghostscript import GhostscriptError, content_bbox_mm, gs_path
from asyncpdf.detect import Rules, detect_bureau, detect_press, paper_from_marks, read_marks
from asyncpdf.marks import page_marks
from asyncpdf.naming import NameParts, parse_name
from asyncpdf.pdftext import TextReader, name_text

SIGNA_CREATOR = "PrinectSignaStation"
MM_PER_PT = 25.4 / 72
# qpdf's words for a file it had to rebuild: typically one cut off while being copied.
_DAMAGE = ("file is damaged", "reconstruct")
_MAX_NAMED = 10
_CREATOR = pikepdf.NamePath.Info.Creator
COLORANTS = pikepdf.NamePath.PieceInfo.HDAG_COLORANT.Private.HDAG_ColorantNames


def _size_and_head(path: Path) -> tuple[int, bytes]:
    # Readers accept junk before the header; 1 KiB is what Acrobat tolerates. A bare file
    # descriptor costs a fifth of a Python file object, and this runs for every file.
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.fstat(fd).st_size, os.pread(fd, 1024, 0)
    finally:
        os.close(fd)


def media_size_mm(page: pikepdf.Page) -> list[float]:
    """The page's width and height as it is shown (after /Rotate), in mm to 0.1."""
    box = pikepdf.Rectangle(page.mediabox)  # TypeError unless four numbers
    width, height = box.width * MM_PER_PT, box.height * MM_PER_PT
    obj = page.obj
    if "/Rotate" in obj and int(obj.Rotate) % 180:
        width, height = height, width
    return [round(width, 1), round(height, 1)]


def plate_size(media_mm: Sequence[float]) -> list[int]:
    """The plate's size in whole mm, longer side first (a plate's width is its longer side)."""
    short, long = sorted(round(side) for side in media_mm)
    return [long, short]


def ink_name(raw: object) -> str:
    text = name_text(raw) or str(raw)
    return text.removeprefix("/").replace("#20", " ").strip()


def page_inks(page: pikepdf.Page) -> list[str]:
    """Colorant names Signa writes into the page's PieceInfo (they survive an Acrobat re-save)."""
    names = page.obj.get(COLORANTS)
    if not isinstance(names, pikepdf.Array):
        return []
    return [ink_name(item) for item in names.as_list()]


def _creator(pdf: pikepdf.Pdf) -> str | None:
    # Not pdf.docinfo: that builds an /Info dictionary where there is none, at 20 µs a file.
    value = pdf.trailer.get(_CREATOR)
    if isinstance(value, pikepdf.Name):
        return name_text(value)
    return str(value) if isinstance(value, pikepdf.String) else None


def empty_result(path: Path, parts: NameParts, size: int) -> dict[str, Any]:
    return {
        "file": path.name,
        "size": size,
        "is_pdf": False,
        "creator": None,
        "is_signa": False,
        "pages": 0,
        "plate_sizes_mm": [],
        "media_mm": [],
        "inks": [],
        "plates": 0,
        "marks": [],
        "press": [],
        "bureau": None,
        "paper_mm": [],
        "paper_from": [],
        "content_box_mm": [],
        "order": parts.order,
        "order_name": parts.order_name,
        "warnings": [],
        "error": None,
        "rejected": False,
    }


def _reject(result: dict[str, Any], reason: str) -> dict[str, Any]:
    result.update(error=reason, rejected=True)
    return result


def analyze_file(path: Path, rules: Rules, timeout_s: float = 60) -> dict[str, Any]:
    """Analyse one file. Never raises for bad input: the reason goes into `error`.

    `rejected` says the file is not a PDF we can read at all; an `error` without it says what
    the delivery needs and could not be found (press, bureau).
    """
    parts = parse_name(path.name, rules.bureaus)
    size, head = _size_and_head(path)
    result = empty_result(path, parts, size)
    if size == 0:
        return _reject(result, "empty file (0 bytes)")
    if size > rules.max_file_bytes:
        return _reject(
            result, f"too large: {size / 2**20:.0f} MB (the limit is {rules.max_file_mb:g} MB)"
        )
    if not path.name.lower().endswith(".pdf"):
        return _reject(result, f"not a PDF: the name {path.name!r} does not end in .pdf")
    if b"%PDF-" not in head:
        return _reject(result, "not a PDF: no %PDF- header in the first 1 KiB")
    result["is_pdf"] = True
    try:
        with pikepdf.open(path) as pdf:
            restricted = pdf.is_encrypted
            _read_structure(pdf, result, rules, parts.bureau)
            damage = [w for w in pdf.get_warnings() if any(word in w for word in _DAMAGE)]
    except pikepdf.PasswordError:
        return _reject(result, "encrypted PDF: it needs a password to open")
    except (pikepdf.PikepdfError, RecursionError, ValueError, TypeError) as exc:
        return _reject(result, f"unreadable PDF: {_without_path(str(exc), path)}")
    if restricted:
        # It opens without a password, but its permissions may forbid printing: a RIP at the
        # bureau can refuse it, which is worse to find out at the platesetter.
        return _reject(
            result,
            "encrypted PDF: it has an owner password (security settings); "
            "save it again without security",
        )
    if damage:
        return _reject(
            result,
            "damaged PDF: it had to be repaired to be read, so it is probably incomplete "
            "(cut off while copying?); save it again",
        )
    if result["pages"] == 0:
        return _reject(result, "PDF has no pages")
    if not result["is_signa"]:
        result["warnings"].append(
            f"not made by Signa Station (Creator: {result['creator'] or 'none'})"
        )
    if None in result["paper_mm"]:
        _paper_from_content(path, result, timeout_s)
    result["error"] = _missing(result, rules)
    return result


class _PageFacts(NamedTuple):
    press: str | None
    paper: list[float] | None
    bureau: str | None


def _page_facts(
    marks: dict[str, str], plate: list[int], rules: Rules, warnings: list[str]
) -> _PageFacts:
    found = read_marks(marks, rules)
    return _PageFacts(
        detect_press(found.get("press"), plate, rules, warnings),
        paper_from_marks(found),
        found.get("bureau"),
    )


def _read_structure(
    pdf: pikepdf.Pdf, result: dict[str, Any], rules: Rules, bureau_in_name: str | None
) -> None:
    creator = _creator(pdf)
    result["creator"] = creator
    result["is_signa"] = bool(creator and SIGNA_CREATOR in creator)
    warnings: list[str] = result["warnings"]
    marked_bureaus: list[str] = []
    reader = TextReader()
    wanted = [mark for mark, _ in rules.marks]
    # Pages for one press carry the same marks: each distinct page is judged (and warned
    # about) once, which matters for a file of thousands of pages.
    judged: dict[tuple[object, ...], _PageFacts] = {}
    for page in pdf.pages:
        media = media_size_mm(page)
        plate = plate_size(media)
        marks = page_marks(page, reader=reader, only=wanted)
        key = (*plate, *marks.items())
        facts = judged.get(key)
        if facts is None:
            facts = judged[key] = _page_facts(marks, plate, rules, warnings)
        result["plate_sizes_mm"].append(plate)
        result["media_mm"].append(media)
        result["inks"].append(page_inks(page))
        result["marks"].append(marks)
        result["press"].append(facts.press)
        result["paper_mm"].append(list(facts.paper) if facts.paper else None)
        result["paper_from"].append("mark" if facts.paper else None)
        if facts.bureau:
            marked_bureaus.append(facts.bureau)
    if reader.unreadable:
        fonts = ", ".join(sorted(reader.unreadable))
        warnings.append(f"mark text in font(s) {fonts} cannot be read (no ToUnicode map)")
    if reader.problems:
        problems = [_without_path(problem, pdf.filename) for problem in reader.problems]
        warnings.append(f"marks partly unreadable: {_listed(problems)}")
    result["bureau"] = detect_bureau(
        list(dict.fromkeys(marked_bureaus)), bureau_in_name, rules, warnings
    )
    result["pages"] = len(result["plate_sizes_mm"])
    result["plates"] = sum(len(inks) for inks in result["inks"])


def _paper_from_content(path: Path, result: dict[str, Any], timeout_s: float) -> None:
    """Pages without a paper mark (lost on re-save): the bounding box of what they draw."""
    if gs_path() is None:
        result["warnings"].append("no paper size mark and ghostscript not installed: no paper size")
        return
    try:
        boxes = content_bbox_mm(path, timeout_s)
    except GhostscriptError as exc:
        result["warnings"].append(f"could not measure the content box: {exc}")
        return
    for index, box in enumerate(boxes[: result["pages"]]):
        result["content_box_mm"].append(list(box) if box else None)
        if result["paper_mm"][index] is None and box:
            result["paper_mm"][index] = [round(box[2] - box[0], 1), round(box[3] - box[1], 1)]
            result["paper_from"][index] = "content"


def _without_path(message: str, path: Path | str) -> str:
    # qpdf names the file by its path in the spool, which tells the operator nothing.
    return message.replace(f"{path}: ", "").replace(str(path), "the file")


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(item) for item in items[:_MAX_NAMED])
    more = len(items) - _MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _missing(result: dict[str, Any], rules: Rules) -> str | None:
    problems = []
    by_plate: dict[tuple[int, ...], list[int]] = {}
    for index, press in enumerate(result["press"]):
        if press is None:
            by_plate.setdefault(tuple(result["plate_sizes_mm"][index]), []).append(index + 1)
    if by_plate:
        tried = ", ".join(
            f"{p.name} {p.plate_mm[0]:g}x{p.plate_mm[1]:g}" for p in rules.presses if p.fallback
        )
        for plate, pages in by_plate.items():
            label = "page" if len(pages) == 1 else "pages"
            problems.append(
                f"no press for {label} {_listed(pages)}: no Machine mark naming a configured "
                f"press, and the plate {list(plate)} mm matches none of [{tried}]"
            )
    if result["bureau"] is None:
        problems.append(
            f"no bureau found: no mark names one, and no '_'-separated part of "
            f"{result['file']!r} is one of {list(rules.bureaus)}"
        )
    return "; ".join(problems) or None
