"""Line plots with axes, drawn in braille: each cell holds 2x4 dots, so a 40x8-cell plot has
80x32 points of resolution, enough to see a loss curve bend.

Many points that fall in one dot column are averaged (a noisy per-step loss reads as its trend);
successive columns are joined by straight lines. Where two series share a cell, the later one's
colour wins, so list the series that matters most last.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

BRAILLE_BASE = 0x2800
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], np.uint8)
"""The braille dot of (row, column) inside one cell: Unicode numbers them down, then across, with the bottom row last."""
DOTS_DOWN, DOTS_ACROSS = DOT_BITS.shape
AXIS_STYLE = Style(dim=True)
MIN_PLOT_COLUMNS = 8
TICK_GAP = 2
"""Blank cells at least between two tick labels of the x axis."""

Point = tuple[float, float]


@dataclass(frozen=True)
class Series:
    """One line of a plot: (x, y) points in x order, its name in the legend and its colour."""

    label: str
    points: Sequence[Point]
    style: str = "default"


def format_tick(value: float) -> str:
    """Short tick labels: 0, 0.5, 1.25, 1e+03."""
    return f"{value:.3g}"


def y_range_of(series: Sequence[Series]) -> tuple[float, float]:
    """From 0 (or the lowest value, when negative) to the highest, a little widened so the top point is not on the frame."""
    values = [y for line in series for _, y in line.points if math.isfinite(y)]
    low, high = min([0.0, *values]), max([0.0, *values])
    return (low, high + 0.05 * (high - low)) if high > low else (low, low + 1.0)


def x_ticks(low: float, high: float, columns: int, label_width: int) -> list[float]:
    """Whole-number ticks (every 1, 2, 5, 10, ...) as close as their labels allow."""
    span = max(high - low, 1e-12)
    most = max(1, columns // (label_width + TICK_GAP))
    step = next(size * 10**power for power in range(0, 12) for size in (1, 2, 5) if span / (size * 10**power) <= most)
    first = math.ceil(low / step) * step
    return [first + index * step for index in range(int((high - first) // step) + 1)]


def dots_of(points: Sequence[Point], x_range: tuple[float, float], y_range: tuple[float, float], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Dot columns and rows of the points (y down), one per dot column the points reach: the mean of the points in it."""
    finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    xs, ys = np.array(finite, np.float64).T
    (x_low, x_high), (y_low, y_high) = x_range, y_range
    columns = np.clip(np.rint((xs - x_low) / max(x_high - x_low, 1e-12) * (width - 1)), 0, width - 1).astype(np.int64)
    used = np.unique(columns)
    means = np.bincount(columns, ys, minlength=width)[used] / np.bincount(columns, minlength=width)[used]
    rows = np.clip(np.rint((y_high - means) / max(y_high - y_low, 1e-12) * (height - 1)), 0, height - 1).astype(np.int64)
    return used, rows


def line_mask(columns: np.ndarray, rows: np.ndarray, cells_across: int, cells_down: int) -> np.ndarray:
    """The braille bits per cell of the polyline through the dots (cells_down, cells_across)."""
    mask = np.zeros((cells_down, cells_across), np.uint8)
    if len(columns) == 0:
        return mask
    pieces_x, pieces_y = [columns[:1]], [rows[:1]]
    for (x0, y0), (x1, y1) in zip(zip(columns[:-1], rows[:-1]), zip(columns[1:], rows[1:])):
        count = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        pieces_x.append(np.rint(np.linspace(x0, x1, count)).astype(np.int64))
        pieces_y.append(np.rint(np.linspace(y0, y1, count)).astype(np.int64))
    xs, ys = np.concatenate(pieces_x), np.concatenate(pieces_y)
    np.bitwise_or.at(mask, (ys // DOTS_DOWN, xs // DOTS_ACROSS), DOT_BITS[ys % DOTS_DOWN, xs % DOTS_ACROSS])
    return mask


class LinePlot:
    """Series over a shared x axis, with a y axis of three ticks, an x axis of whole-number ticks and a legend.

    Args:
        series: The lines, drawn in order (the last on top).
        title: Shown before the legend on the first line.
        x_range: The x axis (e.g. 0 to the epochs planned), so the plot does not rescale as points arrive.
        y_range: The y axis; by default from 0 to the highest value.
        height: Lines of plot area (the axis, its labels and the title add three).
        width: Most cells wide, or None for the available width.
    """

    def __init__(
        self,
        series: Sequence[Series],
        *,
        title: str = "",
        x_range: tuple[float, float] = (0.0, 1.0),
        y_range: tuple[float, float] | None = None,
        height: int = 8,
        width: int | None = None,
    ) -> None:
        self.series = list(series)
        self.title = title
        self.x_range = x_range
        self.y_range = y_range or y_range_of(self.series)
        self.height = max(2, height)
        self.width = width

    def __repr__(self) -> str:
        return f"LinePlot({[line.label for line in self.series]}, x_range={self.x_range}, y_range={self.y_range})"

    def y_labels(self) -> list[str]:
        """Top, middle and bottom tick labels, right-aligned to one width."""
        low, high = self.y_range
        labels = [format_tick(high), format_tick((low + high) / 2), format_tick(low)]
        width = max(map(len, labels))
        return [label.rjust(width) for label in labels]

    def title_line(self) -> list[Segment]:
        legend = [piece for line in self.series for piece in (Segment("  "), Segment("━ ", Style.parse(line.style)), Segment(line.label))]
        return [Segment(self.title, Style(bold=True)), *legend]

    def plot_lines(self, columns: int) -> Iterator[list[Segment]]:
        """The plot area, each line led by its y tick label (or blanks) and the axis."""
        masks = [
            line_mask(*dots_of(line.points, self.x_range, self.y_range, columns * DOTS_ACROSS, self.height * DOTS_DOWN), columns, self.height)
            for line in self.series
        ]
        combined = np.bitwise_or.reduce(masks, axis=0) if masks else np.zeros((self.height, columns), np.uint8)
        top = np.full(combined.shape, -1)
        for index, mask in enumerate(masks):
            top[mask > 0] = index
        labels = self.y_labels()
        tick_rows = {0: labels[0], (self.height - 1) // 2: labels[1], self.height - 1: labels[2]}
        styles = [Style.parse(line.style) for line in self.series]
        for row in range(self.height):
            label = tick_rows.get(row)
            lead = [Segment(label if label is not None else " " * len(labels[0]), AXIS_STYLE), Segment("┤" if label is not None else "│", AXIS_STYLE)]
            cells = [Segment(chr(BRAILLE_BASE + int(bits)) if bits else " ", styles[owner] if owner >= 0 else None) for bits, owner in zip(combined[row], top[row])]
            yield lead + list(Segment.simplify(cells))

    def axis_lines(self, columns: int, lead: int) -> list[list[Segment]]:
        """The x axis with a tick under each whole-number label, and the labels centred on their ticks."""
        low, high = self.x_range
        label_width = max(len(format_tick(low)), len(format_tick(high)))
        ticks = x_ticks(low, high, columns, label_width)
        positions = [round((tick - low) / max(high - low, 1e-12) * (columns - 1)) for tick in ticks]
        axis = ["─"] * columns
        labels = [" "] * (columns + label_width)
        for tick, position in zip(ticks, positions):
            axis[position] = "┬"
            text = format_tick(tick)
            start = max(0, min(position - len(text) // 2, columns - len(text)))
            labels[start : start + len(text)] = text
        return [
            [Segment(" " * lead + "└" + "".join(axis), AXIS_STYLE)],
            [Segment(" " * (lead + 1) + "".join(labels[:columns]).rstrip(), AXIS_STYLE)],
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(self.width or options.max_width, options.max_width)
        lead = len(self.y_labels()[0])
        columns = max(MIN_PLOT_COLUMNS, width - lead - 1)
        for line in [self.title_line(), *self.plot_lines(columns), *self.axis_lines(columns, lead)]:
            yield from Segment.adjust_line_length(line, width)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = min(self.width or options.max_width, options.max_width)
        return Measurement(min(width, MIN_PLOT_COLUMNS + len(self.y_labels()[0]) + 1), width)
