"""A preview per press, when one file carries plates for several presses."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pikepdf


def split_by_press(
    preview: Path, out_dir: Path, pages_by_press: Mapping[str, Sequence[int]]
) -> dict[str, str]:
    """Write `preview-<press>.pdf` with each press's pages (0-based); return press → file name.

    Only for two or more presses: a file for one press keeps its single preview.
    """
    if len(pages_by_press) < 2:
        return {}
    written: dict[str, str] = {}
    with pikepdf.open(preview) as source:
        for press, indexes in pages_by_press.items():
            name = f"preview-{press}.pdf".replace("/", "-")
            partial = out_dir / f".{name}.{os.getpid()}.tmp"
            with pikepdf.new() as part:
                part.pages.extend(source.pages[i] for i in indexes)
                part.save(partial)
            os.replace(partial, out_dir / name)
            written[press] = name
    return written
