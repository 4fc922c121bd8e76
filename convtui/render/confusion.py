"""A confusion matrix as a table: rows the true classes, columns the predicted ones, then each
class's accuracy. Right answers (the diagonal) are green, mistakes shade from dim to red with
their share of the row, so the classes a network mixes up stand out at a glance. Where the output
cannot encode Unicode (PYTHONIOENCODING=ascii, a C locale) it is drawn in ASCII, as Rich draws its
own tables and bars there: writing "·" would stop the program with a UnicodeEncodeError.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

MAX_CLASSES = 20
"""Wider than this, a matrix no longer fits a terminal: only per-class accuracy is shown."""
NAME_WIDTH = 10
"""Class names are cut to this many cells in the column headers."""
MISTAKE_STYLES = ((0.02, "dim"), (0.1, "yellow"), (1.0, "bold red"))
"""(up to this share of the row, style) for the cells off the diagonal."""
EMPTY_CELL = {False: "·", True: "."}
"""A cell off the diagonal with no examples, by whether the output is ASCII only: quieter than a 0 among the mistakes."""


def mistake_style(share: float) -> str:
    return next(style for limit, style in MISTAKE_STYLES if share <= limit)


def used_classes(confusion: np.ndarray) -> list[int]:
    """The classes the data has or the predictions name: a class neither uses only takes room."""
    return [index for index in range(len(confusion)) if confusion[index].any() or confusion[:, index].any()]


def encodable(text: str, encoding: str) -> str:
    """`text` as `encoding` can write it, other characters as backslash escapes: a class is named after its folder,
    which may be in any script, and Python itself escapes what stderr cannot encode."""
    return text.encode(encoding, "backslashreplace").decode(encoding)


class ConfusionMatrix:
    """Counts of (true class, predicted class), with per-class accuracy; only the classes in use.

    Args:
        confusion: (classes, classes) counts, rows true, columns predicted.
        class_names: Names by class index; missing ones are the index.
        title: One line above the table where the width allows: wrapped at the width the matrix is given (a
            terminal's), not at the table's, which broke "Confusion matrix on the validation set: accuracy 0.5000"
            over two or three lines. Containers measure the matrix by its table only, so the title never widens it.
    """

    def __init__(self, confusion: np.ndarray, class_names: tuple[str, ...] = (), *, title: str = "") -> None:
        self.confusion = np.asarray(confusion)
        self.class_names = class_names
        self.title = title

    def __repr__(self) -> str:
        return f"ConfusionMatrix({self.confusion.shape[0]} classes, {int(self.confusion.sum())} examples)"

    def name(self, index: int, encoding: str) -> str:
        return encodable(self.class_names[index] if index < len(self.class_names) else str(index), encoding)

    def cell(self, row: int, column: int, ascii_only: bool) -> Text:
        count = int(self.confusion[row, column])
        if row == column:
            return Text(str(count), style="bold green" if count else "dim")
        if count == 0:
            return Text(EMPTY_CELL[ascii_only], style="dim")
        return Text(str(count), style=mistake_style(count / max(1, int(self.confusion[row].sum()))))

    def table(self, options: ConsoleOptions) -> Table:
        """The table without the title, in the characters `options`' encoding can write."""
        used = used_classes(self.confusion)
        shows_matrix = len(used) <= MAX_CLASSES
        table = Table(box=None, padding=(0, 1), header_style="bold")
        table.add_column("true \\ predicted")
        for column in used if shows_matrix else []:
            table.add_column(self.name(column, options.encoding)[:NAME_WIDTH], justify="right")
        table.add_column("accuracy", justify="right")
        totals = self.confusion.sum(axis=1)
        for row in used:
            accuracy = f"{self.confusion[row, row] / totals[row]:.2f}" if totals[row] else "-"
            cells = [self.cell(row, column, options.ascii_only) for column in used] if shows_matrix else []
            table.add_row(self.name(row, options.encoding), *cells, accuracy)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield Text(self.title, style="bold")
        yield self.table(options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(options))
