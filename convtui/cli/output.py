"""What the commands print alike: the console of their output, and notes and warnings on stderr, one line each,
so that stdout stays the command's output."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from convtui.errors import ConvtuiError

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from convtui.model.info import StackInfo

PIPE_WIDTH = 200
"""Width of tables written to a file or a pipe without COLUMNS: wide enough that no column wraps."""
EXIT_INVALID_STACK = 1
"""A stack with a layer that cannot apply: summary and diff still print it; run cannot."""


def output_console(*, follow_columns: bool = False, width: int | None = None, no_color: bool | None = None) -> Console:
    """`width` when given (run's --width), else a terminal's own width; a pipe or file takes COLUMNS where the command
    follows it, else gets lines wide enough for the whole table, and text outside the tables (the summary's notes,
    --explain's formulas, run's headings) unwrapped: one line each, for grep.

    The commands that print tables or maps (diff, presets, summary, run) follow COLUMNS for a pipe (`follow_columns`):
    `COLUMNS=80 convtui diff a b | less` is unified, and `COLUMNS=80 convtui summary vgg16 | less` is the table of
    an 80-column terminal. A parent that imported readline (Python's REPL, pytest) hands its children COLUMNS, 80
    where it has no terminal: a test that reads a pipe's full width unsets it. A COLUMNS of 0 would print nothing.
    `no_color` None leaves colour to Rich, which honours NO_COLOR.
    """
    from rich.console import Console

    console = Console(width=width, no_color=no_color)
    columns = os.environ.get("COLUMNS", "")
    if width is not None or console.is_terminal or (follow_columns and columns.isdigit() and int(columns) > 0):
        return console
    return Console(width=PIPE_WIDTH, soft_wrap=True, no_color=no_color)


def print_output(renderable: RenderableType, *, follow_columns: bool = False) -> None:
    """Print to stdout; a file or pipe gets its lines without the spaces Rich pads every table cell with,
    which diffs, editors and `grep ' $'` would show."""
    console = output_console(follow_columns=follow_columns)
    console.print(renderable if console.is_terminal else TrailingSpacesCut(renderable))


class TrailingSpacesCut:
    """A renderable's lines, each ending at its last visible character."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.cells import cell_len
        from rich.segment import Segment

        for line in Segment.split_lines(console.render(self.renderable, options)):
            text = "".join(segment.text for segment in line if not segment.control)
            yield from Segment.adjust_line_length(line, cell_len(text.rstrip()), pad=False)
            yield Segment.line()


def print_notes(notes: tuple[str, ...]) -> None:
    """What an import changed goes to stderr, one line each."""
    for note in notes:
        print(f"convtui: note: {note}", file=sys.stderr)


def invalid_layer_error(stack_info: StackInfo, source: str) -> ConvtuiError | None:
    """The first layer that cannot apply, as the one-line error (exit 1) that summary and diff print and run raises."""
    invalid = stack_info.first_invalid
    if invalid is None:
        return None
    return ConvtuiError(
        invalid.error or "cannot apply", file=source, layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=EXIT_INVALID_STACK
    )


def report_invalid(stack_info: StackInfo, source: str) -> bool:
    """Say on stderr which layer cannot apply, for a command that still prints what it can (summary's table, diff's
    sides); True when one cannot, and the command exits EXIT_INVALID_STACK."""
    error = invalid_layer_error(stack_info, source)
    if error is not None:
        print(f"convtui: error: {error}", file=sys.stderr)
    return error is not None


def warn_split_blocks(stack_info: StackInfo, source: str) -> None:
    """One line on stderr per block whose layers are not consecutive: folded (--depth 1, the app), it is several rows
    under one name, each with part of its totals, which reads as one block unless said."""
    from convtui.model.blocks import block_runs, layer_range

    for name, runs in block_runs(stack_info).items():
        if len(runs) > 1:
            places = ", ".join(layer_range(run[0], run[-1]) for run in runs)
            print(
                f'convtui: warning: {source}: block "{name}" is split: its layers ({places}) are not consecutive, so folded it is '
                f"{len(runs)} rows; give its layers consecutive places, or the parts different block names",
                file=sys.stderr,
            )


def warn_unused(stack_info: StackInfo, source: str) -> None:
    """One line on stderr naming the layers nothing uses on the way to the output: a warning, not an error,
    as in Keras, which would leave them out of the model (and out of the totals, render.summary.unused_note)."""
    if not stack_info.unused:
        return
    from convtui.render.summary import unused_layers_text

    them = "it" if len(stack_info.unused) == 1 else "them"
    print(
        f"convtui: warning: {source}: {unused_layers_text(stack_info)} not used on the way to the output; Keras would leave "
        f"{them} out of the model and the totals do not count {them}: connect or delete {them}",
        file=sys.stderr,
    )
