"""The typed records a job's PDF work produces: the analysis (file and pages) and the
artefacts (preview, proof, thumbnail, ink coverage).

They are frozen, cross the process-pool boundary by pickling, and are stored as JSON beside a
schema version; `from_json` reads every version ever stored. Nothing else reads them by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from asyncpdf.errors import AsyncPdfError
from asyncpdf.pdf.inks import average, ink_use_m2, ordered

ANALYSIS_VERSION = 4
BoxMM = tuple[float, float, float, float]
SizeMM = tuple[float, float]


def _pair(value: Sequence[float] | None) -> SizeMM | None:
    return (float(value[0]), float(value[1])) if value else None


@dataclass(frozen=True)
class PageAnalysis:
    """One page: one plate set ("complect") for one press."""

    #: The page as shown: its MediaBox's sides, swapped by a /Rotate of 90 or 270.
    media_mm: SizeMM
    #: Whole mm, longer side first.
    plate_mm: tuple[int, int]
    inks: tuple[str, ...] = ()
    #: Every Signa mark on the page: (CreationName, text), in drawing order; names repeat.
    marks: tuple[tuple[str, str], ...] = ()
    press: str | None = None
    paper_mm: SizeMM | None = None
    #: "mark"; None when no mark gives the paper size (the preview then measures the content).
    paper_from: str | None = None
    #: The page's /Rotate: 0, 90, 180 or 270 (it turns the display, not the plate).
    rotate: int = 0

    @property
    def plates(self) -> int:
        return len(self.inks)

    def to_json(self) -> dict[str, Any]:
        return {
            "media_mm": list(self.media_mm),
            "plate_mm": list(self.plate_mm),
            "inks": list(self.inks),
            "plates": self.plates,
            "marks": [{"name": name, "text": text} for name, text in self.marks],
            "press": self.press,
            "paper_mm": list(self.paper_mm) if self.paper_mm else None,
            "paper_from": self.paper_from,
            "rotate": self.rotate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PageAnalysis:
        media = _pair(data["media_mm"])
        assert media is not None
        # Before version 3 the analysis measured the content box itself; a paper size taken
        # from it is measured again by the preview step instead.
        from_mark = data.get("paper_from") == "mark"
        return cls(
            media_mm=media,
            plate_mm=(int(data["plate_mm"][0]), int(data["plate_mm"][1])),
            inks=ordered(data.get("inks") or ()),
            marks=_marks(data.get("marks")),
            press=data.get("press"),
            paper_mm=_pair(data.get("paper_mm")) if from_mark else None,
            paper_from="mark" if from_mark else None,
            # Before version 4 /Rotate was not kept: such a page's previews are made unrotated.
            rotate=int(data.get("rotate") or 0),
        )


def _marks(value: Any) -> tuple[tuple[str, str], ...]:
    """Version 3 lists every mark; earlier versions kept one text per configured name."""
    if isinstance(value, Mapping):
        return tuple((str(name), str(text)) for name, text in value.items())
    return tuple((str(mark["name"]), str(mark["text"])) for mark in value or ())


@dataclass(frozen=True)
class Analysis:
    """What one file is: its pages, its press(es) and bureau, and what went wrong."""

    file: str
    size: int
    order: str | None = None
    order_name: str = ""
    is_pdf: bool = False
    creator: str | None = None
    is_signa: bool = False
    pages: tuple[PageAnalysis, ...] = ()
    bureau: str | None = None
    warnings: tuple[str, ...] = ()
    #: Why the file cannot go on to delivery; None when it can.
    error: str | None = None
    #: The file is not a PDF that can be read at all (as opposed to lacking a press/bureau).
    rejected: bool = False

    @property
    def plates(self) -> int:
        return sum(page.plates for page in self.pages)

    @property
    def presses(self) -> tuple[str, ...]:
        """The presses the pages are for, in page order, each once."""
        return tuple(dict.fromkeys(page.press for page in self.pages if page.press))

    @property
    def pages_by_press(self) -> dict[str, list[int]]:
        """0-based page numbers per press, in page order."""
        found: dict[str, list[int]] = {}
        for index, page in enumerate(self.pages):
            if page.press:
                found.setdefault(page.press, []).append(index)
        return found

    @property
    def inks(self) -> tuple[str, ...]:
        """Every ink of every page, each once, in ink order (C, M, Y, K, then the spots)."""
        return ordered(ink for page in self.pages for ink in page.inks)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "size": self.size,
            "order": self.order,
            "order_name": self.order_name,
            "is_pdf": self.is_pdf,
            "creator": self.creator,
            "is_signa": self.is_signa,
            "page_count": len(self.pages),
            "plates": self.plates,
            "presses": list(self.presses),
            "bureau": self.bureau,
            "pages": [page.to_json() for page in self.pages],
            "warnings": list(self.warnings),
            "error": self.error,
            "rejected": self.rejected,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], version: int = ANALYSIS_VERSION) -> Analysis:
        if version == 1:
            data = _pages_from_v1(data)
        elif version not in (2, 3, ANALYSIS_VERSION):
            raise AsyncPdfError(f"analysis schema version {version} is newer than this asyncpdf")
        return cls(
            file=data["file"],
            size=int(data.get("size") or 0),
            order=data.get("order"),
            order_name=data.get("order_name") or "",
            is_pdf=bool(data.get("is_pdf")),
            creator=data.get("creator"),
            is_signa=bool(data.get("is_signa")),
            pages=tuple(PageAnalysis.from_json(page) for page in data.get("pages") or ()),
            bureau=data.get("bureau"),
            warnings=tuple(data.get("warnings") or ()),
            error=data.get("error"),
            rejected=bool(data.get("rejected")),
        )


def _pages_from_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """Version 1 kept one list per page field side by side (and, in `artefacts`, the previews)."""
    count = len(data.get("media_mm") or ())

    def column(key: str) -> list[Any]:
        values = list(data.get(key) or ())
        return values + [None] * (count - len(values))

    rows = zip(
        *(column(k) for k in ("media_mm", "plate_sizes_mm", "inks", "marks", "press")),
        *(column(k) for k in ("paper_mm", "paper_from", "content_box_mm")),
        strict=True,
    )
    pages = [
        {
            "media_mm": media,
            "plate_mm": plate,
            "inks": inks,
            "marks": marks,
            "press": press,
            "paper_mm": paper,
            "paper_from": paper_from,
            "content_box_mm": content,
        }
        for media, plate, inks, marks, press, paper, paper_from, content in rows
    ]
    return {**data, "pages": pages}


@dataclass(frozen=True)
class Analysed:
    """A file's analysis with what the job's record keeps of the file itself."""

    analysis: Analysis
    size: int
    #: None for a file too large to be taken at all (it is never read whole).
    sha256: str | None
    #: When the file was last written (an imported job's date).
    mtime: float
    #: How long the worker took over this file (its share of a call several files share).
    seconds: float


@dataclass(frozen=True)
class Artefacts:
    """What the preview step made for a job, in `dir`; file names are relative to it.

    `preview` is None when no preview could be made (the reason is among the warnings).
    """

    dir: str
    preview: str | None = None
    #: press → its own preview, when one file carries plates for several presses.
    press_previews: Mapping[str, str] = field(default_factory=dict)
    #: The first sheet's proof (the grid's click, the API's ``proof.jpg``).
    proof: str | None = None
    #: Every sheet's proof, in page order; empty in records made before there was one per sheet.
    proofs: tuple[str, ...] = ()
    thumb: str | None = None
    preview_bytes: int = 0
    proof_px: tuple[int, int] | None = None
    thumb_px: tuple[int, int] | None = None
    #: Per page: ink → coverage %, in ink order; None where it was not measured.
    ink_coverage: tuple[Mapping[str, float], ...] | None = None
    #: Per page: the preview page (the sheet) as shown, in mm; empty in older records.
    sheets_mm: tuple[SizeMM, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Choices the file left open and how they were made (not warnings), e.g. the gripper edge.
    notes: tuple[str, ...] = ()

    def preview_for(self, press: str) -> str | None:
        return self.press_previews.get(press, self.preview)

    def ink_use_m2(self, presses: Sequence[str | None]) -> dict[str, dict[str, float]]:
        """Press → ink → m² of solid ink over this job's plates (``inks.ink_use_m2``);
        ``presses`` names each page's press."""
        return ink_use_m2(presses, self.sheets_mm, self.ink_coverage or ())

    @property
    def sheet_proofs(self) -> tuple[str, ...]:
        """The proof of every sheet there is, in page order (older records: the first only)."""
        return self.proofs or ((self.proof,) if self.proof else ())

    def with_warnings(self, *more: str, notes: Sequence[str] = ()) -> Artefacts:
        return replace(self, warnings=(*more, *self.warnings), notes=(*notes, *self.notes))

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "preview": self.preview,
            "press_previews": dict(self.press_previews),
            "proof": self.proof,
            "proofs": list(self.sheet_proofs),
            "thumb": self.thumb,
            "preview_bytes": self.preview_bytes,
            "proof_px": list(self.proof_px) if self.proof_px else None,
            "thumb_px": list(self.thumb_px) if self.thumb_px else None,
            "ink_coverage": [dict(page) for page in self.ink_coverage]
            if self.ink_coverage is not None
            else None,
            "average_coverage": average(self.ink_coverage or ()),
            "sheets_mm": [list(size) for size in self.sheets_mm],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artefacts:
        def pixels(key: str) -> tuple[int, int] | None:
            value = data.get(key)
            return (int(value[0]), int(value[1])) if value else None

        coverage = data.get("ink_coverage")
        return cls(
            dir=data.get("dir") or "",
            preview=data.get("preview"),
            press_previews=dict(data.get("press_previews") or {}),
            proof=data.get("proof"),
            proofs=tuple(data.get("proofs") or ()),
            sheets_mm=tuple((float(w), float(h)) for w, h in data.get("sheets_mm") or ()),
            thumb=data.get("thumb"),
            preview_bytes=int(data.get("preview_bytes") or 0),
            proof_px=pixels("proof_px"),
            thumb_px=pixels("thumb_px"),
            ink_coverage=tuple(dict(page) for page in coverage) if coverage is not None else None,
            warnings=tuple(data.get("warnings") or ()),
            notes=tuple(data.get("notes") or ()),
        )
