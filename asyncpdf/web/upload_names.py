"""The name an uploaded file is kept under, made from the one its client sent.

A client names the file as it likes: a path (`../../etc/x.pdf`, `C:\\plates\\x.pdf`), control
characters that break the log, a right-to-left override that shows `fdp.exe` as `exe.pdf`, a
leading dot that hides the file, thousands of bytes. What is left is the last part of the path
in NFC, without any of those, at most MAX_BYTES of UTF-8, and ending in `.pdf`.
"""

from __future__ import annotations

import re
import unicodedata

from asyncpdf.errors import BadRequest

#: Well under the 255 bytes a file name may take, leaving room for what the spool adds.
MAX_BYTES = 200
EXTENSION = ".pdf"
# Cc: controls (NUL, newline, DEL); Cf: invisible formatting (the bidi overrides, zero-width
# joiners); Cs: halves of characters, which cannot be written as UTF-8; Zl, Zp: line breaks.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SEPARATORS = re.compile(r"[/\\]")
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")


def clean_upload_name(raw: str) -> str:
    """The client's file name made safe to keep; BadRequest when no PDF name is left."""
    name = _SEPARATORS.split(unicodedata.normalize("NFC", raw))[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _DROPPED)
    name = _EDGES.sub("", name)
    if not name:
        raise BadRequest(
            "the file's name has nothing left once folders, control characters and leading "
            "dots are taken out; name it like plates.pdf"
        )
    if not name.lower().endswith(EXTENSION):
        shown = name if len(name) <= 60 else f"{name[:30]}…{name[-20:]}"
        raise BadRequest(f"only PDF files are taken: the name must end in .pdf, not {shown!r}")
    stem, extension = name[: -len(EXTENSION)], name[-len(EXTENSION) :]
    room = MAX_BYTES - len(extension.encode())
    # Cut at a byte count, then drop a character the cut split in two.
    stem = stem.encode()[:room].decode("utf-8", "ignore")
    return _EDGES.sub("", stem) + extension
