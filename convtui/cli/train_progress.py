"""What `convtui train` prints while it trains: in a terminal a live row for the epoch under way, printed for good
when the epoch ends; on a pipe or in a file one line per epoch, until the pipe's reader goes away (ClosedOutput).
Imported when the command runs (Rich with it).

A row shows every figure at any width from 80 columns: short names (acc, val loss) below FULL_NAMES_FROM columns,
and two lines (the bar, then the figures) below ONE_LINE_FROM or where one does not fit, rather than Rich's ellipses.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from convtui.render.text import packed

if TYPE_CHECKING:
    from convtui.engine.train import EpochReport, Evaluation, StepReport

ECHO_ROOM = 4
"""Columns a live row leaves free on its right. The terminal echoes each Ctrl+C as ^C after the row; a row the echo
pushes past the edge wraps, and every redraw then leaves a copy of it above (three copies after two Ctrl+C)."""
BAR_WIDTH = 12
"""The bar's width when a row takes one line: the same in every row, so their figures line up."""
WIDEST_BAR = 40
"""The bar's widest on a line of its own, as Rich's default."""
ONE_LINE_FROM = 120
"""Width from which a row takes one line where it fits: an epoch's end with validation does (112 columns for epoch 1/5
of 563 steps), so that running and ended rows take the same lines."""
FULL_NAMES_FROM = 140
"""Width from which the figures' names are spelt out: an epoch's end with validation still fits on one line."""
SHORT_NAMES = {"accuracy": "acc", "validation loss": "val loss", "validation accuracy": "val acc"}


def print_between_words(words: Sequence[str], console: Console | None = None) -> None:
    """`words` on stderr (or `console`), wrapped between words in a terminal; one line on a pipe or in a file, for grep."""
    console = console or Console(stderr=True)
    lines = packed(words, console.width) if console.is_terminal else [" ".join(words)]
    console.print(Text("\n".join(lines)), soft_wrap=True)


# --- on a pipe or in a file ---------------------------------------------------------------------


class ClosedOutput:
    """Says when the reader of stdout has gone (`| head`, a pager quit early), so that training stops and saves.

    Rich's own answer to a broken pipe is to exit at once with status 1, silently, in the middle of training: every
    step was lost. A closed pipe is how a reader says it wants no more, and Unix tools stop on it (SIGPIPE), so training
    stops after its current step as after a Ctrl+C and what was trained is saved. Training on to the last epoch instead
    would hold the shell, which waits for the whole pipeline, with nothing on the screen for as long as it takes.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.closed = False
        console.on_broken_pipe = self.on_broken_pipe  # type: ignore[method-assign]  # Rich's hook for this

    def on_broken_pipe(self) -> None:
        """Print nothing more, and point stdout at /dev/null, as Rich does: Python's flush at exit would fail again."""
        self.closed = True
        self.console.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def figures(loss: float, accuracy: float, validation: Evaluation | None, rate: float) -> str:
    checked = f"validation loss {validation.loss:.4f}, validation accuracy {validation.accuracy:.4f}" if validation else "validation -"
    return f"loss {loss:.4f}, accuracy {accuracy:.4f}, {checked}, {rate:,.0f} examples/s"


def epoch_line(report: EpochReport, steps: int) -> str:
    cut = f" (stopped after {report.steps} of {steps} steps)" if report.steps < steps else ""
    return f"epoch {report.epoch}/{report.epochs}{cut}: {figures(report.loss, report.accuracy, report.validation, report.examples_per_second)}, {report.seconds:.1f} s"


# --- in a terminal ------------------------------------------------------------------------------


def figure_words(loss: float, accuracy: float, validation: Evaluation | None, rate: float, *, short: bool) -> list[str]:
    """Each figure with its name, a comma after all but the last: the words a row wraps between."""
    named = {"loss": loss, "accuracy": accuracy}
    if validation is not None:
        named |= {"validation loss": validation.loss, "validation accuracy": validation.accuracy}
    return [f"{SHORT_NAMES.get(name, name) if short else name} {value:.4f}," for name, value in named.items()] + [f"{rate:,.0f} examples/s"]


def time_left(seconds: float | None) -> str:
    """h:mm:ss as Rich's progress writes it; dashes before a second step gives the pace."""
    if seconds is None:
        return "-:--:-- left"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{rest:02d} left"


@dataclass(frozen=True)
class EpochRow:
    """An epoch's bar, steps, figures and time (left, or taken once it ended), laid out for the width it is given."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    accuracy: float
    validation: Evaluation | None
    rate: float
    time: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width - ECHO_ROOM
        words = figure_words(self.loss, self.accuracy, self.validation, self.rate, short=options.max_width < FULL_NAMES_FROM)
        head, count = f"epoch {self.epoch:>{len(str(self.epochs))}}/{self.epochs}", f"{self.step:>{len(str(self.steps))}}/{self.steps}"
        around_bar = cell_len(head) + cell_len(count) + 3  # a space either side of the bar and one after the count
        tail = f"{' '.join(words)}, {self.time}"
        if options.max_width >= ONE_LINE_FROM and around_bar + BAR_WIDTH + cell_len(tail) <= width:
            yield self.line(head, BAR_WIDTH, count, tail)
            return
        yield self.line(head, max(1, min(WIDEST_BAR, width - around_bar - cell_len(self.time))), count, self.time)
        yield Text("\n".join(packed(words, width)))

    def line(self, head: str, bar_width: int, count: str, tail: str) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_row(Text(head), ProgressBar(self.steps, self.step, width=bar_width), Text(count), Text(tail))
        return grid


class Reporter:
    """A live row for the epoch under way in a terminal, printed for good when the epoch ends; one line per epoch on
    a pipe or in a file."""

    def __init__(self, console: Console, steps: int) -> None:
        self.console = console
        self.steps = steps
        self.row: EpochRow | None = None
        self.first_step_at = 0.0
        self.live = Live(console=console, refresh_per_second=10, get_renderable=lambda: self.row or Group())  # nothing, not a blank line, between epochs

    def on_step(self, report: StepReport) -> None:
        if not self.console.is_terminal:
            return
        now = time.perf_counter()
        if report.step == 1:
            self.first_step_at = now
        left = (now - self.first_step_at) / (report.step - 1) * (report.steps - report.step) if report.step > 1 else None
        self.row = EpochRow(
            report.epoch, report.epochs, report.step, report.steps, report.loss, report.accuracy, None, report.examples_per_second, time_left(left)
        )

    def on_epoch(self, report: EpochReport) -> None:
        if not self.console.is_terminal:
            self.console.print(epoch_line(report, self.steps), highlight=False)
            return
        self.row = None
        self.console.print(
            EpochRow(
                report.epoch, report.epochs, report.steps, self.steps, report.loss, report.accuracy, report.validation, report.examples_per_second,
                f"{report.seconds:.1f} s",
            )
        )  # fmt: skip

    @contextmanager
    def shown(self) -> Iterator[None]:
        if not self.console.is_terminal:
            yield
            return
        with self.live:
            yield
