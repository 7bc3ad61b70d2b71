"""An analysis as a person reads it: the file in one line, then one line per run of equal
pages, then the warnings and the error. `asyncpdf analyze` prints this."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from asyncpdf.pdf.model import Analysis, PageAnalysis


def describe(analysis: Analysis) -> str:
    head = f"{analysis.file}: " + ", ".join(_file_facts(analysis))
    lines = [head, *(f"  {line}" for line in _page_runs(analysis))]
    lines += [f"  warning: {warning}" for warning in analysis.warnings]
    if analysis.error:
        lines.append(f"  {'rejected' if analysis.rejected else 'error'}: {analysis.error}")
    return "\n".join(lines)


def _file_facts(analysis: Analysis) -> Iterator[str]:
    if analysis.pages:
        count = len(analysis.pages)
        yield f"{count} page{'s' if count != 1 else ''}, {analysis.plates} plates"
        yield f"bureau {analysis.bureau or '?'}"
    if analysis.order:
        yield f"order {analysis.order} {analysis.order_name!r}"
    if analysis.creator:
        yield f"made by {analysis.creator!r}"
    if not analysis.pages and not analysis.order and not analysis.creator:
        yield f"{analysis.size} bytes"


def _page_facts(page: PageAnalysis) -> str:
    plate = f"plate {page.plate_mm[0]}x{page.plate_mm[1]} mm"
    if page.paper_mm:
        paper = f"paper {page.paper_mm[0]:g}x{page.paper_mm[1]:g} mm"
    else:
        paper = "no paper size mark"
    inks = " ".join(page.inks) or "no inks"
    return f"{page.press or 'no press'}, {plate}, {paper}, {inks} ({page.plates} plates)"


def _page_runs(analysis: Analysis) -> Iterator[str]:
    numbered = enumerate((_page_facts(page) for page in analysis.pages), start=1)
    for facts, run in itertools.groupby(numbered, key=lambda item: item[1]):
        numbers = [number for number, _ in run]
        first, last = numbers[0], numbers[-1]
        label = f"page {first}" if first == last else f"pages {first}-{last}"
        yield f"{label}: {facts}"
