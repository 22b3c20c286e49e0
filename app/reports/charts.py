"""Chart geometry for server-rendered SVG (templates/reports/_charts.html draws it).

Plain bars with the value written next to each, dark on light, so a chart reads the same in
grey-scale and without colour; a hidden value draws no bar and says "fewer than k" instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.reports.build import Cell

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 280
PLOT_WIDTH = 330
VALUE_WIDTH = 110
CHAR_WIDTH = 8.0


@dataclass(frozen=True)
class Bar:
    label: str
    cell: Cell
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    horizontal: bool
    label_width: int = LABEL_WIDTH
    table: str = ""  # the key of the report table with the same figures


def label_width(labels: list[str]) -> int:
    """Room for the longest label (at most 8 px a character at 13 px in DejaVu Sans, at most
    the 34 characters the template keeps), so short labels do not leave the bars far from
    the chart's title."""
    longest = max((min(len(label), 34) for label in labels), default=0)
    return max(80, min(LABEL_WIDTH, int(longest * CHAR_WIDTH) + 16))


def horizontal(title: str, items: list[tuple[str, Cell]], table: str = "") -> Chart:
    """One bar per category, longest first in the caller's order."""
    top = max((c.value or 0 for _, c in items), default=0) or 1
    left = label_width([label for label, _ in items])
    bars = [Bar(label, cell, left, i * (BAR_HEIGHT + GAP),
                PLOT_WIDTH * (cell.value or 0) / top, BAR_HEIGHT)
            for i, (label, cell) in enumerate(items)]
    return Chart(title, left + PLOT_WIDTH + VALUE_WIDTH,
                 max(1, len(items)) * (BAR_HEIGHT + GAP), bars, True, left, table=table)


def columns(title: str, items: list[tuple[str, Cell]], height: int = 180,
            table: str = "") -> Chart:
    """A column per month (the trend), labelled below."""
    width = max(1, len(items))
    step = min(48.0, 640 / width)
    top = max((c.value or 0 for _, c in items), default=0) or 1
    plot = height - 40
    bars = [Bar(label, cell, 10 + i * step, 20 + plot * (1 - (cell.value or 0) / top),
                step * 0.7, plot * (cell.value or 0) / top)
            for i, (label, cell) in enumerate(items)]
    return Chart(title, int(20 + step * width), height, bars, False, 0, table=table)
