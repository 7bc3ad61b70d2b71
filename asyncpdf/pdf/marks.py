"""Signa Station marks of a page: each `pssMO<n>_<m>` form's name and the text it draws.

Signa exports every mark as a form XObject in the page resources, named `pssMO<n>_<m>`, with the
operator's name for it in `/PieceInfo /HDAG_SignaMarkInfo /Private /CreationName`. Only those
forms' own (small) content streams are read; the page's content stream, which holds the whole
imposition, is never parsed, and nothing is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import pikepdf

from asyncpdf.pdf.text import TextReader, name_text

MARK_PREFIX = "/pssMO"
# One lookup in C++ instead of four from Python: this runs for every mark on every page.
_CREATION_NAME = pikepdf.NamePath.PieceInfo.HDAG_SignaMarkInfo.Private.CreationName
_NUMBERS = re.compile(r"\d+")
# /Resources may be inherited from the page tree; a hostile tree may be deep or cyclic.
_MAX_TREE_DEPTH = 32


def mark_name(xobject: pikepdf.Object) -> str | None:
    """The mark's CreationName, or None when the XObject carries none."""
    value = xobject.get(_CREATION_NAME)  # None, not an error, where the path is broken
    if isinstance(value, pikepdf.String):
        name = str(value)
    elif isinstance(value, pikepdf.Name):
        name = name_text(value).removeprefix("/")
    else:
        return None
    return name.strip() or None


def page_resources(page: pikepdf.Page) -> pikepdf.Dictionary | None:
    """The page's /Resources, inherited from its ancestors in the page tree if need be."""
    node: object = page.obj
    seen: set[tuple[int, int]] = set()
    for _ in range(_MAX_TREE_DEPTH):
        if not isinstance(node, pikepdf.Dictionary) or node.objgen in seen:
            return None
        resources = node.get("/Resources")
        if isinstance(resources, pikepdf.Dictionary):
            return resources
        if node.objgen != (0, 0):
            seen.add(node.objgen)
        node = node.get("/Parent")
    return None


@lru_cache(maxsize=1024)
def _drawing_order(key: str) -> tuple[tuple[int, ...], str]:
    # Signa numbers marks as it places them; the names sort naturally (pssMO2_1 < pssMO10_1).
    return tuple(int(n) for n in _NUMBERS.findall(key)), key


def page_marks(page: pikepdf.Page, *, reader: TextReader | None = None) -> list[tuple[str, str]]:
    """Every Signa mark on the page as (CreationName, the normalised text it draws, "" if it
    has none), in drawing order (taken from the numbers in the `pssMO<n>_<m>` names, since the
    page's content stream is not read). Names repeat where the operator placed a mark several
    times; marks without a CreationName are skipped. A shared `reader` keeps fonts parsed
    across pages and collects unreadable fonts."""
    resources = page_resources(page)
    xobjects = resources.get("/XObject") if resources is not None else None
    if not isinstance(xobjects, pikepdf.Dictionary):
        return []
    reader = reader if reader is not None else TextReader()
    found: list[tuple[str, str]] = []
    names: Iterable[str] = xobjects.keys()
    for key in sorted((k for k in names if k.startswith(MARK_PREFIX)), key=_drawing_order):
        form = xobjects[key]
        name = mark_name(form) if isinstance(form, pikepdf.Stream) else None
        if name is not None:
            found.append((name, reader.form_text(form, resources=resources)))
    return found


def texts_by_name(marks: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One text per mark name: the texts of marks sharing a name joined with a space, in
    drawing order (a long text Signa split over several marks reads as one)."""
    texts: dict[str, list[str]] = {}
    for name, text in marks:
        texts.setdefault(name, []).append(text)
    return {name: " ".join(filter(None, parts)) for name, parts in texts.items()}
