"""`convtui export`: write a runnable Python file whose build_model() builds the stack in Keras or PyTorch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.cli.output import print_notes
from convtui.cli.sources import load_source
from convtui.cli.writing import refuse_overwrite
from convtui.errors import ConvtuiError
from convtui.interop.export import EXPORT_TARGETS

if TYPE_CHECKING:
    from convtui.model.stack import Stack


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export",
        help="write Keras or PyTorch code that builds the same model",
        description="Write a runnable Python file whose build_model() builds the stack in Keras or PyTorch.",
    )
    parser.add_argument("preset", help="built-in preset name, .toml file, or Keras model file")
    parser.add_argument("--to", required=True, choices=EXPORT_TARGETS, help="the framework of the code")
    parser.add_argument("-o", "--output", help="the .py file to write (default: print the code)")
    parser.add_argument("--force", action="store_true", help="overwrite the -o file if it exists")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        "--weights",
        help="an .npz (keys layers.{i}.{name}) the code loads (default: the preset's own weights file); its path is written"
        " relative to the -o file, or absolute when the code is printed",
    )
    weights.add_argument("--no-weights", action="store_true", help="leave the weights out, even when the preset names a weights file")
    parser.set_defaults(handler=handle)


def export_weights_path(arguments: argparse.Namespace, stack: Stack) -> Path | None:
    """--weights, else the preset's own `weights = "..."` (relative to its file), unless --no-weights."""
    from convtui.interop import is_model_file
    from convtui.model.preset import existing_preset_weights_path

    if arguments.no_weights:
        return None
    if arguments.weights:
        return Path(arguments.weights)
    if is_model_file(arguments.preset):
        return None
    return existing_preset_weights_path(stack, arguments.preset)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.files import write_text_atomically
    from convtui.interop import is_model_file
    from convtui.interop.export import check_weights_file, export_source, path_in_code

    opened = load_source(arguments.preset)
    print_notes(opened.notes)
    stack = opened.stack
    output = Path(arguments.output) if arguments.output else None
    if output is not None and not arguments.force:
        refuse_overwrite([output])
    weights = export_weights_path(arguments, stack)
    if weights is None and not arguments.no_weights and is_model_file(arguments.preset):
        print("convtui: note: the code builds the model without its weights; to carry them, `convtui import` it and export the preset", file=sys.stderr)
    if weights is not None:
        check_weights_file(weights, stack)
    try:
        source = export_source(stack, arguments.to, path_in_code(weights, output) if weights is not None else None)
    except ConvtuiError as error:
        raise error.located(file=arguments.preset) from None
    if output is None:
        sys.stdout.write(source)
        return 0
    write_text_atomically(output, source)
    print(f"wrote {output}; run it with `python {output}` to print the model's summary", file=sys.stderr)
    return 0
