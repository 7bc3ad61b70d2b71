"""Naming many things in one message: "pages 1, 3, 5 and 10 more"."""

from __future__ import annotations

from collections.abc import Sequence

MAX_NAMED = 10


def listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(item) for item in items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def pages(numbers: Sequence[int]) -> str:
    """1-based page numbers as a phrase: "page 2", "pages 1, 3"."""
    return f"{'page' if len(numbers) == 1 else 'pages'} {listed(numbers)}"
