"""Character encodings of PDF fonts: base encodings, glyph names, ToUnicode CMaps, decoders.

Pure data and parsing, no pikepdf: `pdftext` reads a font dictionary and builds the decoder.
The glyph-name list (Adobe Glyph List, including the Cyrillic `afii100xx` names) and the
StandardEncoding glyph order come from fontTools, which ships Adobe's own tables, so nothing
here is typed in by hand except the deviations of PDF's WinAnsi/MacRoman from Python's
cp1252/mac_roman codecs and the Symbol font's letters.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeGuard

from fontTools import agl
from fontTools.encodings.StandardEncoding import StandardEncoding as _STANDARD_NAMES

#: One entry per code 0–255; "" where the encoding defines nothing (or .notdef).
Encoding = tuple[str, ...]

# A CMap must not make us allocate or scan without bound (hostile files exist).
MAX_CMAP_ENTRIES = 100_000
_MAX_CODE_BYTES = 4
_CACHED_CMAP_BYTES = 64 * 1024


@lru_cache(maxsize=4096)
def glyph_to_unicode(name: str) -> str:
    """Unicode text of a glyph name (`A`, `afii10017`, `uni041C`, `u1F600`, `f_i`, `a.sc`).

    Names with no Unicode meaning (`.notdef`, `g12`, `cid42`) give "", never a guess.
    """
    if not name or name == ".notdef":
        return ""
    try:
        return str(agl.toUnicode(name))
    except (ValueError, KeyError, OverflowError):  # hostile names: uni + absurd hex
        return ""


# Tabs and line breaks have no glyph in any base encoding, but where a producer puts them in a
# string it separates words, and joining those words would be worse than a space.
_CONTROL_SPACES = dict.fromkeys(range(0x09, 0x0E), " ")


def _from_codec(codec: str, overrides: dict[int, str]) -> Encoding:
    table = []
    for code in range(256):
        if code in overrides:
            table.append(overrides[code])
        elif code < 0x20:
            table.append(_CONTROL_SPACES.get(code, ""))
        else:
            table.append(bytes([code]).decode(codec, errors="ignore"))
    return tuple(table)


def _standard() -> Encoding:
    names = (glyph_to_unicode(name) for name in _STANDARD_NAMES)
    return tuple(_CONTROL_SPACES.get(code, text) for code, text in enumerate(names))


# PDF 32000-1 Annex D: in WinAnsi every unused code above 0o40 is the bullet, 0xA0 is the space
# and 0xAD the hyphen (cp1252 has holes, NBSP and the soft hyphen there).
_BULLET = "\u2022"
WIN_ANSI: Encoding = _from_codec(
    "cp1252",
    {0x7F: _BULLET, 0x81: _BULLET, 0x8D: _BULLET, 0x8F: _BULLET, 0x90: _BULLET, 0x9D: _BULLET}
    | {0xA0: " ", 0xAD: "-"},
)
# PDF's MacRomanEncoding predates Apple's switch of 0xDB to the euro and has no Apple logo.
MAC_ROMAN: Encoding = _from_codec("mac_roman", {0x7F: "", 0xCA: " ", 0xDB: "\u00a4", 0xF0: ""})
STANDARD: Encoding = _standard()
# The Symbol font's built-in encoding for the printable ASCII range (Greek letters, math signs);
# its upper half is rarely used for text and stays unmapped. 0x60 (radical extender) is shown as
# an overline, the nearest character.
_SYMBOL_ASCII = (
    " !∀#∃%&∋()∗+,−./0123456789:;<=>?≅ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ[∴]⊥_"
    "‾αβχδεφγηιϕκλμνοπθρστυϖωξψζ{|}∼"
)
SYMBOL: Encoding = tuple(
    [_CONTROL_SPACES.get(code, "") for code in range(0x20)]
    + list(_SYMBOL_ASCII)
    + [""] * (256 - 0x7F)
)
NO_ENCODING: Encoding = ("",) * 256

BASE_ENCODINGS: dict[str, Encoding] = {
    "/WinAnsiEncoding": WIN_ANSI,
    "/MacRomanEncoding": MAC_ROMAN,
    "/StandardEncoding": STANDARD,
    # Expert sets hold small caps and figures; their glyph names are resolved via /Differences.
    "/MacExpertEncoding": STANDARD,
}


def apply_differences(base: Encoding, differences: list[int | str]) -> Encoding:
    """`base` with a /Differences array applied: a code, then names for consecutive codes."""
    table = list(base)
    code = -1
    for item in differences:
        if isinstance(item, int):
            code = item
        elif 0 <= code < 256:
            table[code] = glyph_to_unicode(item.removeprefix("/"))
            code += 1
    return tuple(table)


# ---- ToUnicode CMaps --------------------------------------------------------------------------

_TOKEN = re.compile(
    rb"""
      %[^\r\n]*                       # comment
    | (?P<dict><<|>>)
    | <(?P<hex>[0-9A-Fa-f\s]*)>       # hex string: codes and UTF-16BE destinations
    | (?P<open>\[) | (?P<close>\])
    | \((?:\\.|[^\\)])*\)?            # literal string (header only); unclosed: to the end
    | /(?P<name>[^\s/\[\]<>(){}%]*)
    | (?P<word>[^\s/\[\]<>(){}%]+)    # numbers and operators
    """,
    re.VERBOSE | re.DOTALL,
)

Token = bytes | str | list[bytes | str]


class _Word(bytes):
    """An operator or number in a CMap, told apart from a hex string's bytes."""


def _tokens(data: bytes) -> Iterator[Token]:
    """Hex strings as bytes, names as str, arrays as lists, operators and numbers as `_Word`."""
    array: list[bytes | str] | None = None
    for match in _TOKEN.finditer(data):
        kind = match.lastgroup
        if kind == "hex":
            raw = re.sub(rb"\s", b"", match.group("hex"))
            value: bytes | str = bytes.fromhex((raw + b"0" * (len(raw) % 2)).decode())
        elif kind == "name":
            value = "/" + match.group("name").decode("latin-1")
        elif kind == "open":
            array = []
            continue
        elif kind == "close":
            if array is not None:
                yield array
            array = None
            continue
        elif kind == "word" and array is None:
            yield _Word(match.group("word"))
            continue
        else:
            continue
        if array is not None:
            array.append(value)
        else:
            yield value


def _utf16(data: bytes | str) -> str:
    if isinstance(data, str):  # a glyph name as destination, allowed by the spec
        return glyph_to_unicode(data.removeprefix("/"))
    return data.decode("utf-16-be", errors="ignore")


class CodeTable(dict[int, str | None]):
    """Code -> text, filled from a ToUnicode map as `str.translate` meets new codes.

    A cache inside a shared map: the same CMap (and so this table) serves every page and file.
    """

    def __init__(self, tounicode: ToUnicode) -> None:
        super().__init__()
        self.tounicode = tounicode

    def __missing__(self, code: int) -> str | None:
        text = self.tounicode.lookup(code) or None  # None: translate drops the character
        if len(self) < MAX_CMAP_ENTRIES:
            self[code] = text
        return text


@dataclass(frozen=True)
class ToUnicode:
    """A parsed ToUnicode CMap: how to split a string into codes, and each code's text."""

    codespace: list[tuple[bytes, bytes]] = field(default_factory=list)
    chars: dict[int, str] = field(default_factory=dict)
    # (first code, last code, first destination as int, its byte length | the explicit list)
    ranges: list[tuple[int, int, int, int | list[str]]] = field(default_factory=list)

    # The ranges' first codes, sorted with them, for a binary search.
    starts: list[int] = field(default_factory=list, repr=False)
    #: Code -> text (None: unmapped) for `str.translate`, filled as codes are met.
    codes: CodeTable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", CodeTable(self))

    def lookup(self, code: int) -> str | None:
        """The code's text, or None when the CMap does not map it."""
        text = self.chars.get(code)
        if text is not None or not self.ranges:
            return text
        index = bisect_right(self.starts, code) - 1
        # Ranges do not overlap in sane CMaps; scan small ones fully in case they do.
        candidates = (
            self.ranges if len(self.ranges) <= 16 else self.ranges[max(index, 0) : index + 1]
        )
        for first, last, start, size in candidates:
            if first <= code <= last:
                if isinstance(size, list):
                    return size[code - first] if code - first < len(size) else None
                value = start + code - first
                return _utf16(value.to_bytes(size, "big")) if value < 1 << (8 * size) else None
        return None


def _add_range(cmap: ToUnicode, lo: bytes, hi: bytes, dst: Token) -> None:
    first, last = int.from_bytes(lo, "big"), int.from_bytes(hi, "big")
    if last < first:
        return
    if isinstance(dst, list):
        cmap.ranges.append((first, last, 0, [_utf16(item) for item in dst[: last - first + 1]]))
    elif isinstance(dst, bytes) and not isinstance(dst, _Word) and dst:
        cmap.ranges.append((first, last, int.from_bytes(dst, "big"), len(dst)))


def parse_tounicode(data: bytes) -> ToUnicode:
    """Parse codespace ranges, bfchar and bfrange (both forms) out of a CMap; never raises.

    The result is shared (do not change it): Signa embeds the same fonts in every page and
    file, so small CMaps are parsed once per process.
    """
    return _parse_cached(data) if len(data) <= _CACHED_CMAP_BYTES else _parse(data)


@lru_cache(maxsize=256)
def _parse_cached(data: bytes) -> ToUnicode:
    return _parse(data)


def _parse(data: bytes) -> ToUnicode:
    cmap = ToUnicode()
    operands: list[Token] = []
    for token in _tokens(data):
        if not isinstance(token, _Word):
            operands.append(token)
            continue
        if token == b"endcodespacerange":
            pairs = zip(operands[::2], operands[1::2], strict=False)
            cmap.codespace.extend(
                (lo, hi) for lo, hi in pairs if _is_code(lo) and _is_code(hi) and len(lo) == len(hi)
            )
        elif token == b"endbfchar":
            for src, dst in zip(operands[::2], operands[1::2], strict=False):
                if _is_code(src) and isinstance(dst, bytes | str):
                    cmap.chars[int.from_bytes(src, "big")] = _utf16(dst)
        elif token == b"endbfrange":
            for lo, hi, dst in zip(operands[::3], operands[1::3], operands[2::3], strict=False):
                if _is_code(lo) and _is_code(hi):
                    _add_range(cmap, lo, hi, dst)
        operands = []
        if len(cmap.chars) + len(cmap.ranges) > MAX_CMAP_ENTRIES:
            break
    cmap.ranges.sort(key=lambda entry: entry[0])
    cmap.starts.extend(entry[0] for entry in cmap.ranges)
    return cmap


def _is_code(token: Token) -> TypeGuard[bytes]:
    return isinstance(token, bytes) and 0 < len(token) <= _MAX_CODE_BYTES


def split_codes(data: bytes, codespace: list[tuple[bytes, bytes]], default: int) -> list[int]:
    """Cut a shown string into character codes by the codespace ranges (PDF 32000-1 9.7.6.2)."""
    lengths = sorted({len(lo) for lo, _ in codespace}) or [default]
    if len(lengths) == 1:
        size = lengths[0]
        return [int.from_bytes(data[i : i + size], "big") for i in range(0, len(data), size)]
    codes = []
    pos = 0
    while pos < len(data):
        size = next(
            (n for n in lengths if _in_codespace(data[pos : pos + n], codespace)), lengths[0]
        )
        codes.append(int.from_bytes(data[pos : pos + size], "big"))
        pos += size
    return codes


def _in_codespace(chunk: bytes, codespace: list[tuple[bytes, bytes]]) -> bool:
    return any(
        len(lo) == len(chunk) and all(a <= c <= b for a, c, b in zip(lo, chunk, hi, strict=True))
        for lo, hi in codespace
    )


# ---- decoders -------------------------------------------------------------------------------


class Font:
    """How one font turns shown bytes into text."""

    def __init__(self, name: str, readable: bool = True) -> None:
        self.name = name
        #: False when the font's codes cannot become text (CIDs without a ToUnicode map).
        self.readable = readable

    def decode(self, data: bytes) -> str:
        return ""


class SimpleFont(Font):
    """One byte per code through a 256-entry table (encoding with ToUnicode laid over it)."""

    def __init__(self, name: str, table: Encoding) -> None:
        super().__init__(name)
        self.table = table
        self._translation = _translation(table)

    def decode(self, data: bytes) -> str:
        # latin-1 turns each byte into the character of the same number; translate runs in C.
        return data.decode("latin-1").translate(self._translation)


@lru_cache(maxsize=64)
def _translation(table: Encoding) -> dict[int, str]:
    # Most fonts use one of a few tables; a translation is shared, never changed.
    return dict(enumerate(table))


class CompositeFont(Font):
    """Type 0: multi-byte codes split by the codespace, mapped by ToUnicode (or a Uni* CMap)."""

    def __init__(
        self,
        name: str,
        tounicode: ToUnicode | None,
        codespace: list[tuple[bytes, bytes]],
        codec: str | None = None,
    ) -> None:
        super().__init__(name, readable=tounicode is not None or codec is not None)
        self.tounicode = tounicode
        self.codespace = codespace
        self.codec = codec
        self._table = tounicode.codes if tounicode is not None else None
        lengths = {len(lo) for lo, _ in codespace} or {2}
        self._fixed = lengths.pop() if len(lengths) == 1 else 0

    def decode(self, data: bytes) -> str:
        if self._table is None:
            return data.decode(self.codec, errors="ignore") if self.codec else ""
        if self._fixed in (1, 2) and len(data) % self._fixed == 0:
            # Each code read as one character whose number is the code, then mapped in C.
            # utf-16-be would pair surrogate-range codes into one character: check the count.
            codec = "latin-1" if self._fixed == 1 else "utf-16-be"
            chars = data.decode(codec, errors="surrogatepass")
            if len(chars) * self._fixed == len(data):
                return chars.translate(self._table)
        table = self._table
        return "".join([table[code] or "" for code in split_codes(data, self.codespace, 2)])
