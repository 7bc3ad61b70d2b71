"""A page's /Rotate as the viewers apply it."""

from __future__ import annotations

import pikepdf


def page_rotation(page: pikepdf.Page) -> int:
    """0, 90, 180 or 270: how far the page is turned clockwise for display.

    pikepdf.open pushes an inherited /Rotate down to the page; odd values snap to 90°, and junk
    counts as no rotation (as viewers treat it).
    """
    try:
        return round(float(page.obj.get("/Rotate", 0)) / 90) * 90 % 360
    except (TypeError, ValueError):
        return 0
