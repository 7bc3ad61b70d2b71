"""Signa-Station-like imposed plate PDFs with the real structure, for tests and trying it out.

Each page is one printing plate: a MediaBox of the plate size, the plate's colorants in
`/PieceInfo /HDAG_COLORANT /Private /HDAG_ColorantNames`, some DeviceCMYK artwork, and Signa
marks as form XObjects `pssMO<n>_<m>` carrying `/PieceInfo /HDAG_SignaMarkInfo /Private
/CreationName`. A mark draws its text in its own content stream, or (nested) in a form inside
its resources. Latin text can use standard-14 Helvetica; Cyrillic text uses an embedded Type 0
font built at run time with fontTools (box glyphs, Identity-H, a ToUnicode CMap), so no system
font files are needed. Built with pikepdf only; output is byte-for-byte deterministic.

    python -m asyncpdf.testing.samples DIR [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import io
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pikepdf
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

Name = pikepdf.Name

SIGNA_CREATOR = "PrinectSignaStation 2021 (21.10)"
PRODUCER = "asyncpdf samples"
PT_PER_MM = 72 / 25.4
MARK_FONT_SIZE = 10.0
FONTS = ("embedded", "standard")
LAYOUTS = ("three", "old", "signa16")
# Fixed so that the same arguments always give the same bytes.
_DATE = "D:20240315093000+03'00'"
_FONT_NAME = "SAMPLE+SampleSans"
_ADVANCE = 600
_SPACE_ADVANCE = 300
_BFCHAR_CHUNK = 100  # the CMap syntax allows at most 100 entries per bfchar block
_FILLER_WIDTH = 256  # pixels per row of the filler image: 1 KiB of CMYK data
_TOUNICODE = """/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
{blocks}endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""
_ARTWORK_TINTS = ((0.1, 0, 0, 0), (0, 0.6, 0.2, 0), (0, 0, 0.8, 0), (0.3, 0.3, 0.3, 0.9))

PRESSES = {"Speedmaster": (1030.0, 770.0), "Planeta": (1010.0, 820.0), "Dominant": (650.0, 550.0)}
PAPERS = {
    "Speedmaster": ((900.0, 640.0), (1000.0, 700.0), (720.0, 520.0)),
    "Planeta": ((1000.0, 700.0), (900.0, 640.0), (960.0, 720.0)),
    "Dominant": ((640.0, 450.0), (620.0, 470.0), (600.0, 420.0)),
}
BUREAUS = ("Leonov", "Korol", "Vonoel", "Pechatnik", "Admin")
ORDER_NAMES = (
    "Buklet A4", "Каталог весна", "Листовка A5", "Visitki", "Журнал Мода", "Etiketka 0.5l",
    "Календарь 2025", "Menu cafe", "Плакат A2", "Brochure 16p", "Открытки", "Flyer promo",
)  # fmt: skip
PROCESS_INKS = ("Cyan", "Magenta", "Yellow", "Black")
SPOT_INKS = ("PANTONE Warm Red C", "PANTONE Reflex Blue C", "PANTONE 871 C")
# Spot inks' CMYK alternates (the tint at 100 %), as a swatch book gives them; others: grey.
SPOT_CMYK = {
    "PANTONE Warm Red C": (0.0, 0.75, 0.9, 0.0),
    "PANTONE Reflex Blue C": (1.0, 0.73, 0.0, 0.02),
    "PANTONE 871 C": (0.2, 0.3, 0.7, 0.15),
    "PANTONE 185 C": (0.0, 0.93, 0.79, 0.0),
    "Varnish": (0.0, 0.0, 0.0, 0.0),
}
_OTHER_SPOT_CMYK = (0.0, 0.0, 0.0, 0.5)
SIGNA_VERSIONS = (SIGNA_CREATOR, "PrinectSignaStation 2020 (20.10)", "PrinectSignaStation 2023")


@dataclass(frozen=True)
class Mark:
    """A Signa text mark; position is its text origin on the plate, in mm from the lower left."""

    name: str
    text: str
    x_mm: float = 20
    y_mm: float = 10
    rotate: int = 0
    nested: bool = False
    font: str = "embedded"  # or "standard" (Helvetica, WinAnsi: Latin text only)


@dataclass(frozen=True)
class Fill:
    """A rectangle (x0, y0, x1, y1 in mm of the MediaBox) in one ink at a tint: a process ink
    (`Cyan`, `Magenta`, `Yellow`, `Black`) through DeviceCMYK, any other name through its own
    Separation colour space with a CMYK alternate, as Signa files carry spot colours."""

    box_mm: tuple[float, float, float, float]
    ink: str = "Black"
    tint: float = 1.0


@dataclass(frozen=True)
class SamplePage:
    """One plate. `inks=None` leaves out the PieceInfo (a re-saved, non-Signa file).

    `plate_mm` is the MediaBox (width, height): (550, 650) is a portrait plate. `rotate` is its
    /Rotate; `crop_box_mm` and `trim_box_mm` add those boxes (x0, y0, x1, y1 in mm).
    With `cyan_box_mm` (x0, y0, x1, y1) the page's only artwork is that box in 100% cyan on
    white, so ink coverage is known; with `fills`, those rectangles are its only artwork; marks
    still draw their text in black.
    """

    plate_mm: tuple[float, float]
    inks: tuple[str, ...] | None = PROCESS_INKS
    marks: tuple[Mark, ...] = ()
    cyan_box_mm: tuple[float, float, float, float] | None = None
    fills: tuple[Fill, ...] = ()
    rotate: int = 0
    crop_box_mm: tuple[float, float, float, float] | None = None
    trim_box_mm: tuple[float, float, float, float] | None = None


def signa_marks(
    bureau: str,
    press: str,
    paper_mm: tuple[float, float],
    layout: str = "three",
    font: str = "embedded",
) -> tuple[Mark, ...]:
    """The marks of a known layout: `three` (Outputter, Machine, Paper, from July 2015), `old`
    (Signa 15's single tes_Outputter) or `signa16` (Signa 16's, with "tes / " before the press).

    With font `standard` the labels are Latin (`Outputter: Vonoel`), since Helvetica has no
    Cyrillic.
    """
    if font not in FONTS:
        raise ValueError(f"font must be one of {FONTS}, not {font!r}")
    latin = font == "standard"
    width, height = paper_mm
    if layout in ("old", "signa16"):
        label = "Outputter" if latin else "Выведено"
        if layout == "old":
            size = f"{width:.1f} x {height:.1f}".replace(".", ",")
            text = f"{label}: {bureau}     {press} {size}"
        else:
            text = f"{label}: {bureau}     tes / {press} {width:.1f} x {height:.1f}"
        return (Mark("tes_Outputter", text, font=font),)
    if layout != "three":
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    labels = ("Outputter", "Machine", "Paper") if latin else ("Выведено", "Машина", "Бумага")
    values = (bureau, press, f"{width:.1f} x {height:.1f}")
    names = ("Outputter", "Machine", "Paper")
    return tuple(
        Mark(name, f"{label}: {value}", x_mm=20 + 110 * index, font=font)
        for index, (name, label, value) in enumerate(zip(names, labels, values, strict=True))
    )


def _mm(value: float) -> float:
    return round(value * PT_PER_MM, 3)


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def _glyph(char: str) -> object:
    pen = TTGlyphPen(None)
    if not char.isspace():
        # A framed box; taller for capitals and digits so texts are not one flat bar.
        top = 700 if char.isupper() or char.isdigit() else 500
        top = 150 if char in ".,:;" else top
        for x0, y0, x1, y1, clockwise in ((50, 0, 550, top, True), (120, 60, 480, top - 60, False)):
            corners = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]
            pen.moveTo(corners[0])
            for point in corners[1:] if clockwise else corners[:0:-1]:
                pen.lineTo(point)
            pen.closePath()
    return pen.glyph()


@lru_cache(maxsize=32)
def _font_program(chars: str) -> bytes:
    """A TrueType font with glyph `i + 1` for `chars[i]` (GID 0 is .notdef, drawn as a box)."""
    glyphs = {".notdef": "x", **{f"uni{ord(char):04X}": char for char in chars}}
    builder = FontBuilder(1000, isTTF=True)
    builder.updateHead(created=0, modified=0)
    builder.setupGlyphOrder(list(glyphs))
    builder.setupCharacterMap({ord(char): name for name, char in list(glyphs.items())[1:]})
    builder.setupGlyf({name: _glyph(char) for name, char in glyphs.items()})
    builder.setupHorizontalMetrics(
        {name: (_advance(char), 0 if char.isspace() else 50) for name, char in glyphs.items()}
    )
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "SampleSans", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def _advance(char: str) -> int:
    return _SPACE_ADVANCE if char.isspace() else _ADVANCE


def _tounicode(chars: str) -> bytes:
    entries = [f"<{gid:04X}> <{ord(char):04X}>" for gid, char in enumerate(chars, start=1)]
    chunks = (entries[i : i + _BFCHAR_CHUNK] for i in range(0, len(entries), _BFCHAR_CHUNK))
    blocks = "".join(
        f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n" for chunk in chunks
    )
    return _TOUNICODE.replace("{blocks}", blocks).encode("ascii")


def _embedded_font(pdf: pikepdf.Pdf, chars: str) -> pikepdf.Object:
    descriptor = pikepdf.Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name("/" + _FONT_NAME),
        Flags=32,
        FontBBox=[0, -200, _ADVANCE, 800],
        ItalicAngle=0,
        Ascent=800,
        Descent=-200,
        CapHeight=700,
        StemV=80,
        FontFile2=pikepdf.Stream(pdf, _font_program(chars)),
    )
    descendant = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name("/" + _FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        CIDToGIDMap=Name.Identity,
        DW=_ADVANCE,
        W=[1, [_advance(char) for char in chars]],
    )
    font = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name("/" + _FONT_NAME),
        Encoding=Name("/Identity-H"),
        DescendantFonts=[pdf.make_indirect(descendant)],
        ToUnicode=pikepdf.Stream(pdf, _tounicode(chars)),
    )
    return pdf.make_indirect(font)


class _Fonts:
    """The document's two mark fonts, shared by all marks; the embedded one has every glyph."""

    def __init__(self, pdf: pikepdf.Pdf, marks: Iterable[Mark]) -> None:
        chars: set[str] = set()
        for mark in marks:
            if mark.font not in FONTS:
                raise ValueError(f"mark {mark.name!r}: font must be one of {FONTS}")
            if mark.font == "embedded":
                chars.update(mark.text)
            else:
                try:
                    mark.text.encode("cp1252")
                except UnicodeEncodeError as exc:
                    raise ValueError(f"mark {mark.name!r}: Helvetica cannot show it") from exc
        self.chars = "".join(sorted(chars))
        # Only the fonts some mark uses are reachable, so only those are written.
        self.embedded = _embedded_font(pdf, self.chars)
        self.standard = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=Name.Font,
                Subtype=Name.Type1,
                BaseFont=Name.Helvetica,
                Encoding=Name.WinAnsiEncoding,
            )
        )

    def show(self, mark: Mark) -> tuple[pikepdf.Object, bytes]:
        """The font for the mark and its text as a string operand."""
        if mark.font == "standard":
            raw = mark.text.encode("cp1252")
            escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            return self.standard, b"(" + escaped + b")"
        codes = "".join(f"{self.chars.index(char) + 1:04X}" for char in mark.text)
        return self.embedded, f"<{codes}>".encode("ascii")


def _form(
    pdf: pikepdf.Pdf, content: bytes, bbox: list[float], **resources: object
) -> pikepdf.Stream:
    return pikepdf.Stream(
        pdf,
        content,
        Type=Name.XObject,
        Subtype=Name.Form,
        BBox=bbox,
        Resources=pikepdf.Dictionary({"/" + k: v for k, v in resources.items()}),
    )


def _mark_form(pdf: pikepdf.Pdf, mark: Mark, fonts: _Fonts) -> pikepdf.Stream:
    font, operand = fonts.show(mark)
    size = MARK_FONT_SIZE
    bbox = [0, -0.3 * size, round(len(mark.text) * size * 0.75 + size, 1), size]
    text = b"0 0 0 1 k BT /F0 %s Tf 0 0 Td %s Tj ET" % (_num(size).encode(), operand)
    drawer = _form(pdf, text, bbox, Font=pikepdf.Dictionary(F0=font))
    if mark.nested:
        drawer = _form(pdf, b"q /Fm0 Do Q", bbox, XObject=pikepdf.Dictionary(Fm0=drawer))
    info = pikepdf.Dictionary(
        Private=pikepdf.Dictionary(CreationName=mark.name), LastModified=_DATE
    )
    drawer.PieceInfo = pikepdf.Dictionary(HDAG_SignaMarkInfo=info)
    return drawer


def _placement(mark: Mark) -> str:
    if mark.rotate % 90:
        raise ValueError(f"mark {mark.name!r}: rotate must be a multiple of 90, not {mark.rotate}")
    angle = math.radians(mark.rotate)
    cos, sin = round(math.cos(angle)), round(math.sin(angle))
    matrix = (cos, sin, -sin, cos, _mm(mark.x_mm), _mm(mark.y_mm))
    return " ".join(_num(value) for value in matrix)


def _separation(pdf: pikepdf.Pdf, ink: str) -> pikepdf.Object:
    tint = pikepdf.Dictionary(
        FunctionType=2,
        Domain=[0, 1],
        C0=[0, 0, 0, 0],
        C1=list(SPOT_CMYK.get(ink, _OTHER_SPOT_CMYK)),
        N=1,
    )
    return pdf.make_indirect(
        pikepdf.Array([Name.Separation, Name("/" + ink), Name.DeviceCMYK, tint])
    )


def _fills(pdf: pikepdf.Pdf, fills: Sequence[Fill], colour_spaces: pikepdf.Dictionary) -> list[str]:
    """The fills' operators; each spot ink's colour space goes into `colour_spaces` once."""
    ops = []
    keys: dict[str, str] = {}
    for fill in fills:
        x0, y0, x1, y1 = (_mm(value) for value in fill.box_mm)
        rect = f"{_num(x0)} {_num(y0)} {_num(x1 - x0)} {_num(y1 - y0)} re f"
        if fill.ink in PROCESS_INKS:
            tints = [fill.tint if ink == fill.ink else 0.0 for ink in PROCESS_INKS]
            ops.append(" ".join(_num(t) for t in tints) + " k " + rect)
            continue
        if fill.ink not in keys:
            keys[fill.ink] = f"CS{len(keys)}"
            colour_spaces["/" + keys[fill.ink]] = _separation(pdf, fill.ink)
        ops.append(f"/{keys[fill.ink]} cs {_num(fill.tint)} scn " + rect)
    return ops


def _artwork(page: SamplePage, width: float, height: float) -> list[str]:
    if page.cyan_box_mm is not None:
        x0, y0, x1, y1 = (_mm(value) for value in page.cyan_box_mm)
        return [f"1 0 0 0 k {_num(x0)} {_num(y0)} {_num(x1 - x0)} {_num(y1 - y0)} re f"]
    ops = []
    # Four blocks like imposed pages, then a colour bar above them.
    for index, (c, m, y, k) in enumerate(_ARTWORK_TINTS):
        x, top = width * (0.15 + 0.36 * (index % 2)), height * (0.2 + 0.32 * (index // 2))
        box = (x, top, width * 0.33, height * 0.28)
        ops.append(f"{c:g} {m:g} {y:g} {k:g} k " + " ".join(_num(v) for v in box) + " re f")
    for index in range(4):
        patch = (width * (0.15 + 0.03 * index), height * 0.86, width * 0.025, height * 0.02)
        tint = " ".join("1" if i == index else "0" for i in range(4))
        ops.append(f"{tint} k " + " ".join(_num(v) for v in patch) + " re f")
    return ops


def _filler(pdf: pikepdf.Pdf, size: int, seed: int) -> pikepdf.Stream:
    rows = max(1, math.ceil(size / (_FILLER_WIDTH * 4)))
    data = random.Random(seed).randbytes(_FILLER_WIDTH * 4 * rows)
    return pikepdf.Stream(
        pdf,
        data,
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=_FILLER_WIDTH,
        Height=rows,
        ColorSpace=Name.DeviceCMYK,
        BitsPerComponent=8,
    )


def _add_page(
    pdf: pikepdf.Pdf, page: SamplePage, fonts: _Fonts, filler: pikepdf.Object | None
) -> None:
    width, height = (_mm(value) for value in page.plate_mm)
    if width <= 0 or height <= 0:
        raise ValueError(f"plate size must be positive, not {page.plate_mm}")
    colour_spaces = pikepdf.Dictionary()
    artwork = (
        _fills(pdf, page.fills, colour_spaces) if page.fills else _artwork(page, width, height)
    )
    ops = ["q", *artwork, "Q"]
    xobjects = pikepdf.Dictionary()
    for number, mark in enumerate(page.marks, start=1):
        key = f"pssMO{number}_0"
        xobjects["/" + key] = _mark_form(pdf, mark, fonts)
        ops.append(f"q {_placement(mark)} cm /{key} Do Q")
    if filler is not None:
        # Drawn 5 mm square in the corner: it is there for its bytes, not to be seen.
        xobjects.Im0 = filler
        ops.append(
            f"q {_num(_mm(5))} 0 0 {_num(_mm(5))} {_num(_mm(2))} {_num(_mm(2))} cm /Im0 Do Q"
        )
    plate = pdf.add_blank_page(page_size=(width, height))
    plate.obj.Resources = pikepdf.Dictionary(XObject=xobjects)
    if colour_spaces:
        plate.obj.Resources.ColorSpace = colour_spaces
    if page.rotate:
        plate.obj.Rotate = page.rotate
    for key, box in (("/CropBox", page.crop_box_mm), ("/TrimBox", page.trim_box_mm)):
        if box is not None:
            plate.obj[key] = pikepdf.Array([_mm(value) for value in box])
    plate.obj.Contents = pikepdf.Stream(pdf, "\n".join(ops).encode("ascii"))
    if page.inks is not None:
        names = pikepdf.Array([Name("/" + ink) for ink in page.inks])
        colorant = pikepdf.Dictionary(
            Private=pikepdf.Dictionary(HDAG_ColorantNames=names), LastModified=_DATE
        )
        plate.obj.PieceInfo = pikepdf.Dictionary(HDAG_COLORANT=colorant)


def write_sample(
    path: Path,
    pages: Sequence[SamplePage],
    *,
    creator: str = SIGNA_CREATOR,
    filler_bytes: int = 0,
    seed: int = 0,
) -> Path:
    """Write a plate PDF to `path`; `filler_bytes` of random image data (seeded) pad it out."""
    if not pages:
        raise ValueError("a sample needs at least one page")
    path = Path(path)
    with pikepdf.new() as pdf:
        fonts = _Fonts(pdf, (mark for page in pages for mark in page.marks))
        filler = pdf.make_indirect(_filler(pdf, filler_bytes, seed)) if filler_bytes > 0 else None
        for index, page in enumerate(pages):
            _add_page(pdf, page, fonts, filler if index == 0 else None)
        pdf.docinfo["/Creator"] = creator
        pdf.docinfo["/Producer"] = PRODUCER
        pdf.docinfo["/Title"] = path.stem
        pdf.docinfo["/CreationDate"] = _DATE
        pdf.docinfo["/ModDate"] = _DATE
        path.parent.mkdir(parents=True, exist_ok=True)
        pdf.save(path, deterministic_id=True)
    return path


def _random_page(
    rng: random.Random, marks: tuple[Mark, ...], plate: tuple[float, float]
) -> SamplePage:
    inks = list(PROCESS_INKS)
    if rng.random() < 0.3:
        inks.append(rng.choice(SPOT_INKS))
    if rng.random() < 0.15:
        inks.append("Varnish")
    if rng.random() < 0.25:
        marks = tuple(replace(mark, nested=True) for mark in marks)
    if rng.random() < 0.2:  # along the left edge, reading upwards
        marks = tuple(replace(mark, rotate=90, x_mm=15, y_mm=mark.x_mm + 20) for mark in marks)
    font = marks[0].font if marks else "embedded"
    return SamplePage(plate, tuple(inks), (*marks, *unread_marks(inks, plate, font)))


def unread_marks(
    inks: Sequence[str], plate_mm: tuple[float, float], font: str = "embedded"
) -> tuple[Mark, ...]:
    """Marks no rule reads, as Signa places them: the colour names, cut marks without text."""
    width, height = plate_mm
    corners = ((10, 10), (width - 10, 10), (10, height - 10), (width - 10, height - 10))
    return (
        Mark("tes_color", " ".join(inks), x_mm=width - 120, font=font),
        *(Mark("CutMark_2mm", "", x_mm=x, y_mm=y, font=font) for x, y in corners),
    )


def make_samples(directory: Path, count: int = 10, seed: int = 0) -> list[Path]:
    """Write `count` varied Signa plate files `<order>_<name>_<bureau>.pdf`; same seed, same files.

    Presses, papers, bureaus, page counts, inks (CMYK, sometimes a PANTONE or Varnish), both mark
    layouts and both fonts vary; the bureau in a file's name is the one its marks name.
    """
    rng = random.Random(seed)
    paths = []
    for order in rng.sample(range(10000, 100000), count):
        bureau, press = rng.choice(BUREAUS), rng.choice(sorted(PRESSES))
        font = "standard" if rng.random() < 0.2 else "embedded"
        marks = signa_marks(bureau, press, rng.choice(PAPERS[press]), rng.choice(LAYOUTS), font)
        pages = [_random_page(rng, marks, PRESSES[press]) for _ in range(rng.randint(1, 8))]
        name = f"{order}_{rng.choice(ORDER_NAMES)}_{bureau}.pdf"
        creator = rng.choice(SIGNA_VERSIONS)
        paths.append(write_sample(Path(directory) / name, pages, creator=creator))
    return paths


def try_it_samples(directory: Path) -> list[Path]:
    """The files README's "Try it" shows: Leonov's folder per press (a Speedmaster and a
    Planeta file) and Korol's naming template (plate width, plates, inks with a spot ink)."""
    cmyk_spot = (*PROCESS_INKS, "PANTONE Reflex Blue C")
    made = []
    for order, name, bureau, press, inks in (
        (31001, "Buklet A4", "Leonov", "Speedmaster", PROCESS_INKS),
        (31002, "Katalog", "Leonov", "Planeta", PROCESS_INKS),
        (31003, "Etiketka", "Korol", "Dominant", cmyk_spot),
    ):
        marks = signa_marks(bureau, press, PAPERS[press][0])
        page = SamplePage(PRESSES[press], inks, (*marks, *unread_marks(inks, PRESSES[press])))
        made.append(write_sample(Path(directory) / f"{order}_{name}_{bureau}.pdf", [page] * 2))
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make-samples", description="Write sample Signa Station plate PDFs into DIR."
    )
    parser.add_argument("directory", metavar="DIR", type=Path)
    parser.add_argument(
        "--count",
        type=int,
        default=10,
        help="how many random files (default 10), besides"
        " the three of README's Try it (Leonov per press, Korol's naming)",
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")
    for path in [
        *try_it_samples(args.directory),
        *make_samples(args.directory, args.count, args.seed),
    ]:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
