"""`convtui presets`: the built-in stacks, with their input, layers, params and description."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from convtui.cli.output import print_output

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table

HEADERS = ("Preset", "Input", "Layers", "Params")
"""The columns shown whole: a name is typed as it is shown, a figure read as one word."""
DESCRIPTION_MIN_WIDTH = 30
"""Narrower than this beside the other columns, each description goes on its own lines under its preset's row."""
DESCRIPTION_INDENT = 3
CELL_PADDING = 2
"""Rich's default: a space each side of every cell."""


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("presets", help="list the built-in presets", description="List the built-in presets.")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.model.preset import builtin_preset_names, load_preset

    stacks = [(name, load_preset(name)) for name in builtin_preset_names()]
    rows = [(name, "x".join(map(str, stack.input_shape)), str(len(stack.layers)), f"{stack.infer().total_params:,}") for name, stack in stacks]
    print_output(PresetList(rows, [stack.description for _, stack in stacks]), follow_columns=True)
    return 0


class PresetList:
    """The presets' table, its description column beside the others where it has DESCRIPTION_MIN_WIDTH columns,
    else each description under its row: the other columns are never narrowed."""

    def __init__(self, rows: Sequence[tuple[str, ...]], descriptions: Sequence[str]) -> None:
        self.rows = rows
        self.descriptions = descriptions

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.cells import cell_len
        from rich.padding import Padding
        from rich.text import Text

        widths = [max(map(cell_len, column)) for column in zip(HEADERS, *self.rows)]
        if options.max_width - sum(width + CELL_PADDING for width in widths) - CELL_PADDING >= DESCRIPTION_MIN_WIDTH:
            yield presets_table(widths, self.rows, self.descriptions)
            return
        for number, (row, description) in enumerate(zip(self.rows, self.descriptions)):
            yield presets_table(widths, [row], header=number == 0)
            yield Padding(Text(description), (0, 0, 0, DESCRIPTION_INDENT))


def presets_table(widths: Sequence[int], rows: Sequence[tuple[str, ...]], descriptions: Sequence[str] = (), *, header: bool = True) -> Table:
    """HEADERS at `widths`, the same in every table of a list, with a Description column when given descriptions."""
    from rich.table import Column, Table
    from rich.text import Text

    columns = [Column(name, width=width, no_wrap=True) for name, width in zip(HEADERS, widths)]
    table = Table(*columns, *(["Description"] if descriptions else []), box=None, header_style="bold", show_header=header)
    for number, row in enumerate(rows):
        table.add_row(*row, *([Text(descriptions[number])] if descriptions else []))
    return table
