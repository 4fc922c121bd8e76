"""`convtui summary`: a stack's shapes, weights, params, MACs and receptive fields, as a table, markdown, CSV or JSON.

It never imports numpy or textual: shape inference is pure Python, and instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from convtui.cli.options import MODEL_FILE_HELP, add_input_shape_option
from convtui.cli.output import EXIT_INVALID_STACK, print_notes, print_output, report_invalid, warn_split_blocks, warn_unused
from convtui.cli.sources import load_source
from convtui.cli.values import depth_value
from convtui.errors import ConvtuiError

if TYPE_CHECKING:
    from convtui.model.blocks import TableRow

MEANT_OPTIONS = {"--csv": "--format csv", "--markdown": "--format markdown", "--table": "--format table", "--formulas": "--explain"}
"""Options a user may guess (`--json` exists), and what says it: the parser suggests it in its one-line error."""


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "summary",
        help="print a stack's shapes, weights, params, MACs and receptive fields",
        description="Print the summary of a preset (a built-in name or a TOML file) or a Keras model file.",
    )
    parser.add_argument("preset", help=f"built-in preset name (see `convtui presets`), .toml file, or {MODEL_FILE_HELP}")
    parser.add_argument("--convention", choices=("keras", "torch"), default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.add_argument("--explain", action="store_true", help="add the worked formula behind every figure (table format only)")
    parser.add_argument(
        "--depth",
        type=depth_value,
        help="as torchinfo's depth: 1 folds each block into one row; 2 or none, every layer (table and markdown; json and csv list every layer)",
    )
    add_input_shape_option(parser)
    output_format = parser.add_mutually_exclusive_group()
    output_format.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table", help="output format")
    output_format.add_argument("--json", dest="format", action="store_const", const="json", help="short for --format json")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.model.blocks import depth_rows
    from convtui.render import summary

    if arguments.explain and arguments.format != "table":
        raise ConvtuiError(f"--explain adds the formulas to the table only, not to {arguments.format} output; drop --explain or the format option")
    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    stack = opened.stack
    stack_info = stack.infer()
    rows = depth_rows(stack_info, arguments.depth)
    refuse_folding(rows, arguments)
    print_notes(opened.notes)
    warn_unused(stack_info, arguments.preset)
    warn_split_blocks(stack_info, arguments.preset)
    convention = arguments.convention
    if arguments.format == "table":
        print_output(
            summary.summary_renderable(stack_info, convention, title=stack.name, with_formulas=arguments.explain, rows=rows), follow_columns=True
        )
    elif arguments.format == "markdown":
        sys.stdout.write(summary.summary_markdown(stack_info, convention, rows))
    else:
        sys.stdout.write({"csv": summary.summary_csv, "json": summary.summary_json}[arguments.format](stack_info, convention))
    return EXIT_INVALID_STACK if report_invalid(stack_info, arguments.preset) else 0


def refuse_folding(rows: list[TableRow], arguments: argparse.Namespace) -> None:
    """JSON and CSV keep one record per layer at any depth, for the scripts that read them: a --depth that folds
    nothing (a stack without blocks, or 2) changes nothing there; one that would fold a block says why it cannot."""
    if arguments.format not in ("csv", "json") or not any(row.is_folded for row in rows):
        return
    where = 'its block under "block", each block\'s totals under "blocks"' if arguments.format == "json" else "its block in the block column"
    raise ConvtuiError(
        f"--depth {arguments.depth} folds blocks in the table and markdown only: {arguments.format} keeps one record per layer "
        f"({where}), the same at any depth for the scripts that read it; drop --depth"
    )
