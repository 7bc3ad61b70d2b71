"""Content-stream instructions as plain Python values, for the few small streams text is read from.

A mark's form is a few dozen bytes. pikepdf's parser is thorough but hands back pikepdf objects,
and building and then reading those costs ten times the text itself; this tokenizer reads the
stream with one regular expression and gives operands as Python values:

- numbers as `float`, strings (literal or hex, escapes resolved) as `bytes`,
- names as `str` with their `/` (`#xx` escapes resolved, as in resource dictionaries),
- arrays as `list`, dictionaries and `true`/`false`/`null` as None (nothing here reads them).

It never raises: a malformed stream yields the instructions that could be read, the way a
viewer draws what it can. Inline image data (`ID` … `EI`) is skipped, not tokenized.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator

Operand = float | bytes | str | list["Operand"] | None
Instruction = tuple[list[Operand], str]

_WHITE = rb"\x00\t\n\x0c\r "
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
# Group numbers, in the order of the alternatives below; whitespace and comments before a
# token are part of its match, so there is one match per token.
_NUMBER, _NAME, _WORD, _PLAIN, _LITERAL, _HEX, _OPEN, _CLOSE = range(1, 9)
_TOKEN = re.compile(
    rb"(?:[" + _WHITE + rb"]+|%[^\r\n]*)*"
    rb"(?:([+-]?(?:\d+\.?\d*|\.\d+))(?!" + _REGULAR + rb")"
    rb"|/(" + _REGULAR + rb"*)"
    rb"|(" + _REGULAR + rb"+)"  # an operator, or true/false/null, or garbage
    rb"|\(([^()\\]*)\)"  # the usual literal string: no escapes, no parentheses
    rb"|(\()"  # any other literal string: scanned by `_literal`
    rb"|<([0-9A-Fa-f" + _WHITE + rb"]*)>"
    rb"|(<<|\[)|(>>|\])"
    rb"|.)",  # a delimiter out of place: ignored, as readers do
    re.DOTALL,
)
_KEYWORD_OPERANDS = frozenset({b"true", b"false", b"null"})
_PARENTHESES = re.compile(rb"[()\\]")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_LINE_BREAKS = frozenset({b"\r\n", b"\r", b"\n"})
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_INLINE_IMAGE_END = re.compile(rb"[" + _WHITE + rb"]EI(?=[" + _WHITE + rb"]|\Z)")


def instructions(data: bytes, operators: Collection[str]) -> Iterator[Instruction]:
    """Each instruction whose operator is in `operators`, with its operands, in stream order."""
    operands: list[Operand] = []
    # Open arrays and dictionaries, innermost last; a list, not recursion, so depth is free.
    nesting: list[list[Operand]] = []
    pos = 0
    while pos < len(data):
        start, pos = pos, len(data)
        for match in _TOKEN.finditer(data, start):
            kind = match.lastindex or 0  # 0: a stray delimiter
            value: Operand
            if kind in _SCALARS:
                value = _SCALARS[kind](match.group(kind))
            elif kind == _WORD:
                word = match.group(kind)
                if word in _KEYWORD_OPERANDS:
                    value = None
                else:
                    op = word.decode("latin-1")
                    if op in operators:
                        yield operands, op
                    operands, nesting = [], []
                    if word == b"ID":  # inline image data: binary, up to `EI`; go on after it
                        image_end = _INLINE_IMAGE_END.search(data, match.end())
                        pos = image_end.end() if image_end else len(data)
                        break
                    continue
            elif kind == _LITERAL:
                value, pos = _literal(data, match.end())
                (nesting[-1] if nesting else operands).append(value)
                break  # go on where the string ends
            elif kind == _OPEN:
                nesting.append([])
                continue
            elif kind == _CLOSE and nesting:
                closed = nesting.pop()
                value = closed if match.group(kind) == b"]" else None
            else:  # a stray delimiter
                continue
            (nesting[-1] if nesting else operands).append(value)


def _name(raw: bytes) -> str:
    if b"#" in raw:
        raw = _NAME_ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode()), raw)
    return "/" + raw.decode("utf-8", errors="replace")


def _hex(digits: bytes) -> bytes:
    digits = digits.translate(None, b"\x00\t\n\x0c\r ")
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """The literal string from `start` (after its `(`) with balanced parentheses inside and
    escapes resolved, and where it ends. Unterminated, it runs to the end of the stream."""
    depth, pos = 1, start
    while True:
        found = _PARENTHESES.search(data, pos)
        if found is None:
            return _unescape(data[start:]), len(data)
        char, pos = found.group(), found.end()
        if char == b"\\":
            pos += 1
        elif char == b"(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return _unescape(data[start : pos - 1]), pos


_SCALARS: dict[int, Callable[[bytes], Operand]] = {
    _NUMBER: float,
    _NAME: _name,
    _PLAIN: bytes,
    _HEX: _hex,
}


def _unescape(raw: bytes) -> bytes:
    return _ESCAPE.sub(_escaped, raw) if b"\\" in raw else raw


def _escaped(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if b"0" <= code[:1] <= b"7":
        return bytes([int(code, 8) & 0xFF])
    if code in _LINE_BREAKS:  # a backslash at the end of a line continues the string
        return b""
    return _ESCAPES.get(code, code)
