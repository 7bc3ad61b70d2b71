"""Text a form XObject draws, decoded through its fonts the way a reader would see it.

Only the text-showing operators are followed; nothing is rendered and positions are not
computed, so the result is the text in content order with a space wherever the stream moves to
a new line or text object, or kerns by a word-sized gap. Decoding prefers, per font: its
ToUnicode CMap, then its /Encoding (name or /BaseEncoding + /Differences), then the font's
built-in encoding (StandardEncoding, Symbol, or the array inside an embedded Type 1 program).
Type 0 fonts without ToUnicode show CIDs, not text: they give nothing, and their names are
collected in `TextReader.unreadable` so the caller can warn. Malformed content never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

import pikepdf

from asyncpdf.pdf.encodings import (
    BASE_ENCODINGS,
    NO_ENCODING,
    STANDARD,
    SYMBOL,
    CompositeFont,
    Encoding,
    Font,
    SimpleFont,
    ToUnicode,
    apply_differences,
    glyph_to_unicode,
    parse_tounicode,
)

MAX_DEPTH = 8
#: Forms read per top-level call at most; bounds a tree of forms that draw each other repeatedly.
MAX_FORMS = 256
#: A TJ adjustment below this (thousandths of an em) is a gap between words.
WORD_GAP = -200
# parse_content_stream drops every other operator in C++, so path-heavy marks stay cheap.
_OPERATORS = "BT ET Tf Tj TJ ' \" Td TD T* Tm Do q Q gs"
_BREAKS = frozenset({"BT", "ET", "Td", "TD", "T*", "Tm"})
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
# Fonts map ligature glyphs to U+FB00..; patterns matching mark texts expect the plain letters.
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_IDENTITY = frozenset({"/Identity-H", "/Identity-V"})
# Predefined Unicode CMaps: the codes already are text in this codec.
_UNICODE_CMAPS = (("UCS2", "utf-16-be"), ("UTF16", "utf-16-be"), ("UTF8", "utf-8"))
_T1_ENCODING_ENTRY = re.compile(rb"dup\s+(\d{1,3})\s*/([^\s/\[\]{}()<>%]+)\s+put")
#: What a name that is not UTF-8 is read as (see `name_text`).
LEGACY_ENCODING = "cp1251"
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_ReadErrors = (pikepdf.PikepdfError, KeyError, ValueError, TypeError)  # ValueError: codecs too
ObjKey = tuple[int, int]


def normalise(text: str) -> str:
    """Runs of whitespace and control characters become one space, ligatures their letters."""
    return _SPACES.sub(" ", text.translate(_LIGATURES)).strip()


def form_text(
    xobject: pikepdf.Object,
    *,
    resources: pikepdf.Dictionary | None = None,
    max_depth: int = MAX_DEPTH,
) -> str:
    """The normalised text a form XObject draws (nested forms included); "" if none is readable.

    `resources` is what a form without its own /Resources inherits (the page's, usually).
    """
    return TextReader(max_depth=max_depth).form_text(xobject, resources=resources)


@dataclass
class _Walk:
    """One top-level read: the forms on the current path, the output, what is left to spend."""

    out: list[str] = field(default_factory=list)
    path: set[ObjKey] = field(default_factory=set)
    forms_left: int = MAX_FORMS


class TextReader:
    """Reads text from forms, caching fonts and CMaps by object id for as long as it lives.

    Use one per page (or per file) so shared fonts are parsed once. After reading,
    `unreadable` names fonts whose text could not be decoded and `problems` says which
    streams could not be read, for the caller's warnings.
    """

    def __init__(self, *, max_depth: int = MAX_DEPTH, max_forms: int = MAX_FORMS) -> None:
        self.max_depth = max_depth
        self.max_forms = max_forms
        self.unreadable: set[str] = set()
        self.problems: list[str] = []
        self._fonts: dict[ObjKey, Font] = {}
        self._cmaps: dict[ObjKey, ToUnicode | None] = {}
        self._texts: dict[tuple[bytes, bytes], str] = {}

    def form_text(
        self, xobject: pikepdf.Object, *, resources: pikepdf.Dictionary | None = None
    ) -> str:
        """See `form_text`."""
        key = _memo_key(xobject)
        if key is not None and key in self._texts:
            return self._texts[key]
        walk = _Walk(forms_left=self.max_forms)
        chain = [resources] if isinstance(resources, pikepdf.Dictionary) else []
        self._form(xobject, chain, None, 0, walk)
        text = normalise("".join(walk.out))
        if key is not None:
            self._texts[key] = text
        return text

    # ---- content streams ----------------------------------------------------------------------

    def _form(
        self,
        form: pikepdf.Object,
        inherited: Sequence[pikepdf.Object],
        font: Font | None,
        depth: int,
        walk: _Walk,
    ) -> None:
        if depth > self.max_depth or not isinstance(form, pikepdf.Stream):
            return
        if name_text(form.get("/Subtype")) != "/Form":  # an image: bytes, no text
            return
        key = form.objgen
        if key in walk.path:  # a form that draws itself, directly or through others
            return
        if walk.forms_left <= 0:  # a small tree of forms drawing each other many times
            self.problems.append(f"form {key[0]} {key[1]} R: more than {self.max_forms} forms")
            return
        walk.forms_left -= 1
        own = _get(form, "/Resources")
        own = own if isinstance(own, pikepdf.Dictionary) else None
        if not self._may_show_text(form, own, font):
            return
        chain = [own, *inherited] if own is not None else inherited
        try:
            # A broken stream yields what parsed before the damage (qpdf warns once, per Python's
            # default filter; catch_warnings here would cost more than the parse itself).
            instructions = pikepdf.parse_content_stream(form, _OPERATORS)
        except (*_ReadErrors, UserWarning) as exc:  # UserWarning: under `-W error`
            self.problems.append(f"form {key[0]} {key[1]} R: {exc}")
            return
        walk.path.add(key)
        try:
            self._run(instructions, chain, font, depth, walk)
        finally:
            walk.path.discard(key)

    def _may_show_text(
        self, form: pikepdf.Stream, own: pikepdf.Dictionary | None, font: Font | None
    ) -> bool:
        """Cheap checks first: most marks are paths only (crop marks, colour bars)."""
        if own is not None and "/Font" in own:
            return True
        if font is None and own is not None and "/XObject" not in own and "/ExtGState" not in own:
            return False  # no font of its own, none inherited, no way to get one
        try:
            data = form.read_bytes()
        except _ReadErrors as exc:
            self.problems.append(f"form {form.objgen[0]} {form.objgen[1]} R: {exc}")
            return False
        return b"T" in data or b"Do" in data  # Tf Tj TJ, or a nested form

    def _run(
        self,
        instructions: Iterable[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage],
        chain: Sequence[pikepdf.Object],
        font: Font | None,
        depth: int,
        walk: _Walk,
    ) -> None:
        out = walk.out
        saved: list[Font | None] = []
        for instruction in instructions:
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue  # an inline image
            try:
                op = str(instruction.operator)
            except UnicodeDecodeError:  # binary junk that qpdf took for an operator
                continue
            operands = cast(Sequence[object], instruction.operands)
            if op in _BREAKS:
                out.append(" ")
            elif op in ("Tj", "TJ", "'", '"'):
                self._show(font, op, operands, out)
            elif op == "Tf":
                font = self._font(_resource(chain, "/Font", operands[:1]))
            elif op == "q":
                saved.append(font)
            elif op == "Q" and saved:
                font = saved.pop()
            elif op == "gs":
                font = self._state_font(chain, operands) or font
            elif op == "Do":
                form = _resource(chain, "/XObject", operands[:1])
                if form is not None:
                    out.append(" ")
                    # A form starts with the graphics state, font included, of where it is drawn.
                    self._form(form, chain, font, depth + 1, walk)
                    out.append(" ")

    def _show(self, font: Font | None, op: str, operands: Sequence[object], out: list[str]) -> None:
        if op in ("'", '"'):  # these move to the next line first
            out.append(" ")
        items: Iterable[object] = operands[-1:]
        if op == "TJ":
            items = operands[0] if operands and isinstance(operands[0], pikepdf.Array) else ()
        for item in items:
            if isinstance(item, pikepdf.String):
                if font is None:
                    self.unreadable.add("(no font or a missing one)")
                    continue
                if not font.readable:
                    self.unreadable.add(font.name)
                out.append(font.decode(bytes(item)))
            elif isinstance(item, int | Decimal | float) and item < WORD_GAP:
                out.append(" ")

    def _state_font(
        self, chain: Sequence[pikepdf.Object], operands: Sequence[object]
    ) -> Font | None:
        state = _resource(chain, "/ExtGState", operands[:1])
        entry = _get(state, "/Font") if state is not None else None
        if isinstance(entry, pikepdf.Array) and len(entry) == 2:
            return self._font(entry[0])
        return None

    # ---- fonts --------------------------------------------------------------------------------

    def _font(self, font: pikepdf.Object | None) -> Font | None:
        if not isinstance(font, pikepdf.Dictionary):
            return None
        key = font.objgen
        cached = self._fonts.get(key) if key != (0, 0) else None
        if cached is None:
            try:
                cached = self._load_font(font)
            except _ReadErrors as exc:
                self.problems.append(f"font {name_text(font.get('/BaseFont'))}: {exc}")
                cached = Font(name_text(font.get("/BaseFont")) or "(broken font)", readable=False)
            if key != (0, 0):
                self._fonts[key] = cached
        return cached

    def _load_font(self, font: pikepdf.Dictionary) -> Font:
        name = (
            name_text(font.get("/BaseFont")) or name_text(font.get("/Subtype")) or "(unnamed font)"
        )
        tounicode = self._cmap(_get(font, "/ToUnicode"))
        if name_text(font.get("/Subtype")) == "/Type0":
            return self._composite(font, name, tounicode)
        table = _simple_encoding(font, name)
        if tounicode is not None:
            table = tuple(
                text if (text := tounicode.lookup(code)) is not None else table[code]
                for code in range(256)
            )
        return SimpleFont(name, table)

    def _composite(self, font: pikepdf.Dictionary, name: str, tounicode: ToUnicode | None) -> Font:
        encoding = font.get("/Encoding")
        encoding_name = name_text(encoding)
        if encoding_name in _IDENTITY:
            codespace = [(b"\x00\x00", b"\xff\xff")]
        elif (embedded := self._cmap(encoding)) is not None and embedded.codespace:
            codespace = embedded.codespace
        else:
            codespace = tounicode.codespace if tounicode is not None else []
        codec = next((c for mark, c in _UNICODE_CMAPS if mark in encoding_name), None)
        if not encoding_name.startswith("/Uni"):
            codec = None
        return CompositeFont(name, tounicode, codespace, codec)

    def _cmap(self, stream: pikepdf.Object | None) -> ToUnicode | None:
        if not isinstance(stream, pikepdf.Stream):
            return None
        key = stream.objgen
        if key in self._cmaps:
            return self._cmaps[key]
        try:
            cmap: ToUnicode | None = parse_tounicode(stream.read_bytes())
        except _ReadErrors as exc:
            self.problems.append(f"CMap {key[0]} {key[1]} R: {exc}")
            cmap = None
        self._cmaps[key] = cmap
        return cmap


def name_text(value: object) -> str:
    """A name as text, slash included ("" for anything else). Names are bytes, and Signa on a
    Russian Windows may write them in Windows-1251 (a spot colour "Лак"): those are read so."""
    # Compared as str by callers: comparing pikepdf Names costs as much as reading the dictionary.
    if not isinstance(value, pikepdf.Name):
        return ""
    try:
        return str(value)
    except UnicodeDecodeError:
        raw = _NAME_ESCAPE.sub(lambda code: bytes.fromhex(code[1].decode()), value.unparse())
        return raw.decode(LEGACY_ENCODING, errors="replace")


def _get(obj: pikepdf.Object, key: str) -> pikepdf.Object | None:
    """`obj.get(key)` for keys that are often missing: pikepdf raises and catches inside for
    those, which costs five times the lookup."""
    return obj.get(key) if key in obj else None


def _memo_key(form: pikepdf.Object) -> tuple[bytes, bytes] | None:
    """Signa repeats the same mark on every page as a new form with the same content and the
    same fonts: such a form's text is known from the first one. None where the text could
    depend on more than the form's content and its own resources (a form that inherits them).
    The content is taken decoded: the same raw bytes under another /Filter are other content."""
    if not isinstance(form, pikepdf.Stream):
        return None
    try:
        own = form.get("/Resources")
        if not isinstance(own, pikepdf.Dictionary):
            return None
        return form.read_bytes(), own.unparse()
    except _ReadErrors:
        return None


def _resource(
    chain: Sequence[pikepdf.Object], category: str, names: Sequence[object]
) -> pikepdf.Object | None:
    """A named resource, from the form's own dictionary first, then the inherited ones."""
    if not names or not isinstance(names[0], pikepdf.Name):
        return None
    key = names[0]  # looked up as it is: its bytes need not be UTF-8
    for resources in chain:
        group = resources.get(category)
        found: pikepdf.Object | None = (
            group.get(key) if isinstance(group, pikepdf.Dictionary) else None
        )
        if found is not None:
            return found
    return None


def _builtin_encoding(font: pikepdf.Dictionary, name: str) -> Encoding:
    """The font's own encoding: Symbol's, an embedded Type 1 program's array, else Standard."""
    plain = name.split("+", 1)[-1].removeprefix("/")
    if plain.startswith("Symbol"):
        return SYMBOL
    if plain.startswith(("ZapfDingbats", "Dingbats")):
        return NO_ENCODING
    descriptor = _get(font, "/FontDescriptor")
    program = descriptor.get("/FontFile") if isinstance(descriptor, pikepdf.Dictionary) else None
    if isinstance(program, pikepdf.Stream):
        return _type1_encoding(program) or STANDARD
    return STANDARD


def _type1_encoding(program: pikepdf.Stream) -> Encoding | None:
    # The encoding array sits in the cleartext part (the first /Length1 bytes) of a Type 1 font.
    length1 = program.get("/Length1")
    clear = program.read_bytes()[: int(length1) if isinstance(length1, int) else 65536]
    if b"/Encoding StandardEncoding" in clear:
        return STANDARD
    entries = _T1_ENCODING_ENTRY.findall(clear)
    if not entries:
        return None
    table = list(NO_ENCODING)
    for code, glyph in entries:
        if int(code) < 256:
            table[int(code)] = glyph_to_unicode(glyph.decode("latin-1"))
    return tuple(table)


def _simple_encoding(font: pikepdf.Dictionary, name: str) -> Encoding:
    encoding = _get(font, "/Encoding")
    if (named := BASE_ENCODINGS.get(name_text(encoding))) is not None:
        return named
    if not isinstance(encoding, pikepdf.Dictionary):
        return _builtin_encoding(font, name)
    base_name = name_text(_get(encoding, "/BaseEncoding"))
    table = BASE_ENCODINGS.get(base_name) or _builtin_encoding(font, name)
    differences = _get(encoding, "/Differences")
    if isinstance(differences, pikepdf.Array):
        items: list[int | str] = []
        for item in differences:
            if isinstance(item, int | Decimal):
                items.append(int(item))
            elif isinstance(item, pikepdf.Name):
                items.append(name_text(item))
        table = apply_differences(table, items)
    return table
