"""Analysis of one plate PDF: pure functions over a path, run in the process pool.

Returns an `Analysis` (frozen, picklable), which crosses the process boundary and is stored and
shown by the service as it is.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pikepdf

from asyncpdf.pdf import listing
from asyncpdf.pdf.checksum import file_sha256
from asyncpdf.pdf.inks import ordered
from asyncpdf.pdf.marks import page_marks, texts_by_name
from asyncpdf.pdf.model import Analysed, Analysis, PageAnalysis, SizeMM
from asyncpdf.pdf.naming import NameParts, parse_name
from asyncpdf.pdf.rotation import page_rotation
from asyncpdf.pdf.rules import (
    Rules,
    configured_bureau,
    configured_press,
    detect_bureau,
    mm_size,
    paper_from_marks,
    press_by_plate_size,
    read_marks,
)
from asyncpdf.pdf.text import TextReader, name_text

SIGNA_CREATOR = "PrinectSignaStation"
MM_PER_PT = 25.4 / 72
# qpdf's words for a file it had to rebuild: typically one cut off while being copied.
_DAMAGE = ("file is damaged", "reconstruct")
_CREATOR = pikepdf.NamePath.Info.Creator
COLORANTS = pikepdf.NamePath.PieceInfo.HDAG_COLORANT.Private.HDAG_ColorantNames


def shown_name(path: Path) -> str:
    """The file's name as text: bytes that are not UTF-8 (an old client's cp1251) as U+FFFD."""
    return os.fsencode(path.name).decode("utf-8", "replace")


def shown_path(path: str) -> str:
    """A relative path as text, each part as `shown_name` shows a name."""
    return "/".join(shown_name(Path(part)) for part in path.split("/"))


def _size_and_head(path: Path) -> tuple[int, bytes] | None:
    """Size and first 1 KiB, or None when `path` is not a plain file (a FIFO, a device: never
    read, and O_NONBLOCK so that opening one cannot hang)."""
    # Readers accept junk before the header; 1 KiB is what Acrobat tolerates. A bare file
    # descriptor costs a fifth of a Python file object, and this runs for every file.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return None
        return found.st_size, os.pread(fd, 1024, 0)
    finally:
        os.close(fd)


def media_size_mm(page: pikepdf.Page, rotate: int = 0) -> SizeMM:
    """The page's width and height as it is shown (after ``rotate``, its /Rotate), in mm to
    0.1."""
    box = pikepdf.Rectangle(page.mediabox)  # TypeError unless four numbers
    width, height = box.width * MM_PER_PT, box.height * MM_PER_PT
    if rotate % 180:
        width, height = height, width
    return (round(width, 1), round(height, 1))


def plate_size(media_mm: Sequence[float]) -> tuple[int, int]:
    """The plate's size in whole mm, longer side first (a plate's width is its longer side)."""
    short, long = sorted(round(side) for side in media_mm)
    return (long, short)


def ink_name(raw: object) -> str:
    text = name_text(raw) or str(raw)
    return text.removeprefix("/").replace("#20", " ").strip()


def page_inks(page: pikepdf.Page) -> tuple[str, ...]:
    """Colorant names Signa writes into the page's PieceInfo (they survive an Acrobat re-save),
    in ink order (`inks.ordered`: C, M, Y, K, then the spots as the file lists them)."""
    names = page.obj.get(COLORANTS)
    if not isinstance(names, pikepdf.Array):
        return ()
    return ordered(ink_name(item) for item in names.as_list())


def _creator(pdf: pikepdf.Pdf) -> str | None:
    # Not pdf.docinfo: that builds an /Info dictionary where there is none, at 20 µs a file.
    value = pdf.trailer.get(_CREATOR)
    if isinstance(value, pikepdf.Name):
        return name_text(value)
    return str(value) if isinstance(value, pikepdf.String) else None


class _Reading:
    """What is learnt about the file while it is read; frozen into an `Analysis` at the end."""

    def __init__(self, path: Path, parts: NameParts, size: int) -> None:
        self.base = Analysis(
            file=shown_name(path), size=size, order=parts.order, order_name=parts.order_name
        )
        self.pages: list[PageAnalysis] = []
        self.warnings: list[str] = []
        self.creator: str | None = None
        self.bureau: str | None = None
        #: "press"/"bureau" → a name a mark gives that the config does not know → its pages.
        self.unknown: dict[str, dict[str, list[int]]] = {"press": {}, "bureau": {}}

    def result(self, *, error: str | None = None, rejected: bool = False) -> Analysis:
        return replace(
            self.base,
            creator=self.creator,
            is_signa=bool(self.creator and SIGNA_CREATOR in self.creator),
            pages=tuple(self.pages),
            bureau=self.bureau,
            warnings=tuple(self.warnings),
            error=error,
            rejected=rejected,
        )


def analyzed_with_checksum(
    analyze: Callable[[Path, Rules], Analysis], path: Path, rules: Rules
) -> Analysed:
    """`analyze` (`analyze_file`, or a test's stand-in) with the file's size, time and
    checksum, in one call: a burst's files each cost the service one answer from the pool, not
    three. A file too large to be taken at all is never read whole."""
    started = time.monotonic()
    found = path.stat()
    analysis = analyze(path, rules)
    digest = file_sha256(path) if found.st_size <= rules.max_file_bytes else None
    return Analysed(analysis, found.st_size, digest, found.st_mtime, time.monotonic() - started)


def analyzed_in_turn(
    analyze: Callable[[Path, Rules], Analysis],
    paths: Sequence[Path],
    rules: Rules,
    budget_s: float,
) -> list[Analysed]:
    """`analyzed_with_checksum` of the first of `paths`, in turn, as many as this worker gets
    through in `budget_s` (at least one): a burst's files share one answer from the pool, and a
    large file does not hold back the answers of those before it for long."""
    started = time.monotonic()
    done: list[Analysed] = []
    for path in paths:
        done.append(analyzed_with_checksum(analyze, path, rules))
        if time.monotonic() - started >= budget_s:
            break
    return done


def analyze_file(path: Path, rules: Rules) -> Analysis:
    """Analyse one file. Never raises for bad input: the reason goes into `error`.

    `rejected` says the file is not a PDF we can read at all; an `error` without it says what
    the delivery needs and could not be found (press, bureau). Only what routing needs is read
    (no Ghostscript, no rendering): pages without a paper size mark get theirs from the
    content when the preview is made.
    """
    parts = parse_name(shown_name(path), rules.bureaus)
    opened = _size_and_head(path)
    size, head = opened or (0, b"")
    reading = _Reading(path, parts, size)
    refused = "not a plain file" if opened is None else _not_a_readable_pdf(path, size, head, rules)
    if refused:
        return reading.result(error=refused, rejected=True)
    reading.base = replace(reading.base, is_pdf=True)
    try:
        with pikepdf.open(path) as pdf:
            restricted = pdf.is_encrypted
            pages = len(pdf.pages)
            if pages > rules.max_pages:
                return reading.result(error=_too_many_pages(pages, rules), rejected=True)
            _read_structure(pdf, reading, rules, parts.bureau)
            damage = [w for w in pdf.get_warnings() if any(word in w for word in _DAMAGE)]
    except pikepdf.PasswordError:
        return reading.result(error="encrypted PDF: it needs a password to open", rejected=True)
    except (pikepdf.PikepdfError, RecursionError, ValueError, TypeError) as exc:
        return reading.result(
            error=f"unreadable PDF: {_without_path(str(exc), path)}", rejected=True
        )
    if restricted:
        # It opens without a password, but its permissions may forbid printing: a RIP at the
        # bureau can refuse it, which is worse to find out at the platesetter.
        return reading.result(
            error="encrypted PDF: it has an owner password (security settings); "
            "save it again without security",
            rejected=True,
        )
    if damage:
        return reading.result(
            error="damaged PDF: it had to be repaired to be read, so it is probably incomplete "
            "(cut off while copying?); save it again",
            rejected=True,
        )
    if not reading.pages:
        return reading.result(error="PDF has no pages", rejected=True)
    if not (reading.creator and SIGNA_CREATOR in reading.creator):
        reading.warnings.append(f"not made by Signa Station (Creator: {reading.creator or 'none'})")
    return reading.result(error=_missing(reading, rules, shown_name(path)))


def _too_many_pages(pages: int, rules: Rules) -> str:
    return (
        f"too many pages: {pages} (the limit is {rules.max_pages}; a Signa plate file has tens): "
        "if it is a plate file, raise max_pages in the config and run it again"
    )


def _not_a_readable_pdf(path: Path, size: int, head: bytes, rules: Rules) -> str | None:
    """Why the file is refused before it is parsed, or None."""
    if size == 0:
        return "empty file (0 bytes)"
    if size > rules.max_file_bytes:
        return f"too large: {size / 2**20:.0f} MB (the limit is {rules.max_file_mb:g} MB)"
    if not path.name.lower().endswith(".pdf"):
        return f"not a PDF: the name {shown_name(path)!r} does not end in .pdf"
    if b"%PDF-" not in head:
        return "not a PDF: no %PDF- header in the first 1 KiB"
    return None


class _PageFacts(NamedTuple):
    press: str | None
    paper: SizeMM | None
    bureau: str | None
    #: What a mark names that the config does not know (no fallback for those).
    unknown_press: str | None
    unknown_bureau: str | None


def _page_facts(
    marks: Sequence[tuple[str, str]],
    plate: Sequence[int],
    rules: Rules,
    page: int,
    warnings: list[str],
) -> _PageFacts:
    found = read_marks(texts_by_name(marks), rules, page, warnings)
    marked_press, marked_bureau = found.get("press"), found.get("bureau")
    press = configured_press(marked_press, rules) if marked_press else None
    bureau = configured_bureau(marked_bureau, rules) if marked_bureau else None
    if marked_press is None:
        press = press_by_plate_size(plate, rules, warnings)
    return _PageFacts(
        press,
        paper_from_marks(found),
        bureau,
        marked_press if marked_press and press is None else None,
        marked_bureau if marked_bureau and bureau is None else None,
    )


def _read_structure(
    pdf: pikepdf.Pdf, reading: _Reading, rules: Rules, bureau_in_name: str | None
) -> None:
    reading.creator = _creator(pdf)
    warnings = reading.warnings
    marked_bureaus: list[str] = []
    reader = TextReader()
    # Pages for one press carry the same marks: each distinct page is judged (and warned
    # about) once, which matters for a file of thousands of pages.
    judged: dict[tuple[object, ...], _PageFacts] = {}
    for page in pdf.pages:
        rotate = page_rotation(page)
        media = media_size_mm(page, rotate)
        plate = plate_size(media)
        marks = tuple(page_marks(page, reader=reader))
        key = (*plate, *marks)
        facts = judged.get(key)
        if facts is None:
            page_no = len(reading.pages) + 1
            facts = judged[key] = _page_facts(marks, plate, rules, page_no, warnings)
        reading.pages.append(
            PageAnalysis(
                media_mm=media,
                plate_mm=plate,
                rotate=rotate,
                inks=page_inks(page),
                marks=marks,
                press=facts.press,
                paper_mm=facts.paper,
                paper_from="mark" if facts.paper else None,
            )
        )
        if facts.bureau:
            marked_bureaus.append(facts.bureau)
        page_no = len(reading.pages)
        if facts.unknown_press:
            reading.unknown["press"].setdefault(facts.unknown_press, []).append(page_no)
        if facts.unknown_bureau:
            reading.unknown["bureau"].setdefault(facts.unknown_bureau, []).append(page_no)
    if reader.unreadable:
        fonts = ", ".join(sorted(reader.unreadable))
        warnings.append(f"mark text in font(s) {fonts} cannot be read (no ToUnicode map)")
    if reader.problems:
        problems = [_without_path(problem, pdf.filename) for problem in reader.problems]
        warnings.append(f"marks partly unreadable: {listing.listed(problems)}")
    reading.bureau = detect_bureau(list(dict.fromkeys(marked_bureaus)), bureau_in_name, warnings)


def _without_path(message: str, path: Path | str) -> str:
    # qpdf names the file by its path in the spool, which tells the operator nothing.
    return message.replace(f"{path}: ", "").replace(str(path), "the file")


def _unknown(kind: str, name: str, pages: Sequence[int], known: Sequence[str]) -> str:
    section = "presses" if kind == "press" else "bureaus"
    return (
        f"the mark on {listing.pages(pages)} names {kind} {name!r}, which is not configured "
        f"(known: {', '.join(known) or 'none'}): add it to {section} in the config, or to the "
        f"aliases of the {kind} it means, and run the file again"
    )


def _missing(reading: _Reading, rules: Rules, file_name: str) -> str | None:
    problems = [
        _unknown("press", name, pages, [p.name for p in rules.presses])
        for name, pages in reading.unknown["press"].items()
    ]
    problems += [
        _unknown("bureau", name, pages, rules.bureaus)
        for name, pages in reading.unknown["bureau"].items()
    ]
    named = {page for pages in reading.unknown["press"].values() for page in pages}
    by_plate: dict[tuple[int, ...], list[int]] = {}
    for index, page in enumerate(reading.pages):
        if page.press is None and index + 1 not in named:
            by_plate.setdefault(tuple(page.plate_mm), []).append(index + 1)
    if by_plate:
        tried = ", ".join(
            f"{p.name} {p.plate_mm[0]:g}x{p.plate_mm[1]:g}" for p in rules.presses if p.fallback
        )
        for plate, pages in by_plate.items():
            problems.append(
                f"no press for {listing.pages(pages)}: no Machine mark naming a configured "
                f"press, and the plate {mm_size(plate)} mm matches none of the presses"
                f" with plate_size_fallback ({tried or 'none'})"
            )
    if reading.bureau is None and not reading.unknown["bureau"]:
        problems.append(
            f"no bureau found: no mark names one, and no part of the file name “{file_name}”"
            f" between underscores is one of the bureaus ({', '.join(rules.bureaus)})"
        )
    return "; ".join(problems) or None
