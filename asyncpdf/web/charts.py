"""Bar charts as SVG, drawn on the server: no script and nothing fetched from elsewhere, so the
reports work without internet and print as they show.

A chart is a viewBox and no pixel size: it takes the width its page gives it. Several series
stack in each bar, in a fixed palette that stays distinguishable to colour-blind readers
(Okabe & Ito's); every bar says its month, series and value on hover.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence

PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#7f7f7f",
    "#f0e442",
)
WIDTH = 640
LEFT = 56  # the tick labels' room
RIGHT = 12
PLOT_TOP = 48  # below the title and the unit
PLOT_HEIGHT = 220
LABELS = 26  # the month labels' room under the plot
LEGEND_ROW = 20
BOTTOM = 8
BAR_SHARE = 0.7  # of each month's slot; the rest is the gap between bars
TICKS = 4  # about this many steps up the axis
TEXT = "#333"
GRID = "#ddd"
AXIS = "#666"
EMPTY = "No figures to show"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _num(value: float) -> str:
    """A value as people read it: 120, 95.17, 0.5."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: float, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least `maximum`, about TICKS steps; steps of 1, 2, 2.5
    or 5 times a power of ten (at least 1 when the values are `whole`). Just [0] for 0."""
    if maximum <= 0:
        return [0.0]
    rough = maximum / TICKS
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    if whole:
        step = max(step, 1.0)
    # Less a hair: float error in the division must not add a step above a round maximum.
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _legend(names: Sequence[str]) -> list[tuple[str, float, int]]:
    """Each name with its x and row, rows filled left to right across the plot's width."""
    placed: list[tuple[str, float, int]] = []
    x, row = float(LEFT), 0
    for name in names:
        width = 16 + 7.5 * len(name) + 18  # swatch, text (about 7.5 units a character), gap
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = float(LEFT), row + 1
        placed.append((name, x, row))
        x += width
    return placed


def bar_chart(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], unit: str
) -> str:
    """A complete SVG document: one bar per label, the series stacked in it (one <rect> per
    value above zero), a value axis with round ticks, and a legend when there are several."""
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    whole = all(float(v).is_integer() for values in series.values() for v in values)
    ticks = nice_ticks(max(totals, default=0.0), whole=whole)
    legend = _legend(list(series)) if len(series) > 1 else []
    rows = legend[-1][2] + 1 if legend else 0
    height = PLOT_TOP + PLOT_HEIGHT + LABELS + rows * LEGEND_ROW + BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="{_esc(title)}" font-family="system-ui, sans-serif" font-size="12"'
        f' fill="{TEXT}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="8" y="20" font-size="16" font-weight="bold">{_esc(title)}</text>',
        f'<text x="8" y="{PLOT_TOP - 12}">{_esc(unit)}</text>',
        *_axis(ticks),
        *_bars(labels, series, ticks[-1]),
        *_month_labels(labels),
        *_legend_marks(legend, PLOT_TOP + PLOT_HEIGHT + LABELS + LEGEND_ROW - 6),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _y(value: float, top: float) -> float:
    return PLOT_TOP + PLOT_HEIGHT - (value / top * PLOT_HEIGHT if top else 0.0)


def _axis(ticks: Sequence[float]) -> list[str]:
    top = ticks[-1]
    parts = []
    for tick in ticks:
        y = _y(tick, top)
        colour = AXIS if tick == 0 else GRID
        parts.append(
            f'<line x1="{LEFT}" y1="{_num(y)}" x2="{WIDTH - RIGHT}" y2="{_num(y)}"'
            f' stroke="{colour}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_num(y + 4)}" text-anchor="end">{_num(tick)}</text>'
        )
    if not top:
        middle = PLOT_TOP + PLOT_HEIGHT / 2
        parts.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2:g}" y="{middle:g}" text-anchor="middle"'
            f' font-size="13">{EMPTY}</text>'
        )
    return parts


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _slot(labels: Sequence[str]) -> float:
    return (WIDTH - LEFT - RIGHT) / max(len(labels), 1)


def _bars(labels: Sequence[str], series: Mapping[str, Sequence[float]], top: float) -> list[str]:
    slot = _slot(labels)
    width = slot * BAR_SHARE
    parts = []
    for i, label in enumerate(labels):
        x = LEFT + i * slot + (slot - width) / 2
        base = 0.0
        for index, (name, values) in enumerate(series.items()):
            value = values[i]
            if value <= 0:
                continue
            y, bottom = _y(base + value, top), _y(base, top)
            base += value
            tip = f"{label} {name}: {_num(value)}"
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(width)}"'
                f' height="{_num(bottom - y)}" fill="{_colour(index)}">'
                f"<title>{_esc(tip)}</title></rect>"
            )
    return parts


def _short(label: str) -> str:
    month = re.fullmatch(r"\d{4}-(\d{2})", label)
    return month[1] if month else label


def _month_labels(labels: Sequence[str]) -> list[str]:
    """Under each bar its label; of a "YYYY-MM" label just the month, which stays legible
    on a phone (the year is in the title, the whole label in each bar's tooltip)."""
    slot = _slot(labels)
    y = PLOT_TOP + PLOT_HEIGHT + 16
    return [
        f'<text x="{_num(LEFT + (i + 0.5) * slot)}" y="{y}" text-anchor="middle">'
        f"{_esc(_short(label))}</text>"
        for i, label in enumerate(labels)
    ]


def _legend_marks(legend: Sequence[tuple[str, float, int]], first_row_y: float) -> list[str]:
    """A round swatch (not a rect: rects are the bars) and the name of each series."""
    parts = []
    for index, (name, x, row) in enumerate(legend):
        y = first_row_y + row * LEGEND_ROW
        parts.append(
            f'<circle cx="{_num(x + 5)}" cy="{_num(y - 4)}" r="5" fill="{_colour(index)}"/>'
            f'<text x="{_num(x + 16)}" y="{_num(y)}">{_esc(name)}</text>'
        )
    return parts
