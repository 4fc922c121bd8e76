"""`convtui import`, `convtui export` and `convtui diff`: the parsers and their handlers, and `load_source`, which every command uses.

Building the parsers imports nothing heavy (the CLI builds them on every start); each handler
imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.errors import ConvtuiError
from convtui.files import write_text_atomically
from convtui.interop.export import EXPORT_TARGETS
from convtui.model.convention import CONVENTIONS
from convtui.model.stack import Stack

if TYPE_CHECKING:
    from convtui.interop import ImportedModel


def add_import_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="turn a Keras model (.keras, .h5, model.to_json()) into a preset and its weights",
        description="Import a Keras model as a preset: NAME.toml, with its weights beside it as NAME.npz.",
    )
    parser.add_argument("model", help="a Keras 3 .keras file, a legacy .h5 file, or the JSON of model.to_json()")
    parser.add_argument("-o", "--output", help="the preset to write (default: the model's name + .toml, in the current folder)")
    parser.add_argument("--force", action="store_true", help="overwrite the preset and its .npz if they exist")
    from convtui.cli import add_input_shape_option  # cli.py imports this module: only once it is loaded

    add_input_shape_option(parser)
    parser.set_defaults(handler=run_import)


def add_export_command(commands: argparse._SubParsersAction) -> None:
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
    parser.set_defaults(handler=run_export)


def add_diff_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "diff",
        help="compare two stacks layer by layer: shapes, params and MACs that change",
        description="Show two stacks side by side, layer by layer, with the shapes, params and MACs that change.",
    )
    parser.add_argument("first", help="built-in preset name, .toml file, or Keras model file")
    parser.add_argument("second", help="the stack to compare it with")
    parser.add_argument("--convention", choices=CONVENTIONS, default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.set_defaults(handler=run_diff)


# --- shared ---------------------------------------------------------------------------------


def load_source(source: str, input_shape: Sequence[int] | None = None) -> ImportedModel:
    """What every command opens: a preset (built-in name or .toml), or a Keras model file with its trained weights and import notes.

    `input_shape` (--input-shape) replaces the preset's or the model's; a model saved with an
    unknown size is otherwise imported at 224x224, with a note. A preset comes without weights
    here; its own `weights = "..."` file is resolved by whoever reads it.
    """
    from convtui.interop import ImportedModel, is_model_file
    from convtui.model.preset import load_preset

    if is_model_file(source):
        from convtui.interop import load_model_file  # numpy comes with it: only for model files

        return load_model_file(source, input_shape=input_shape)
    stack = load_preset(source)
    return ImportedModel(stack.with_input_shape(tuple(input_shape)) if input_shape is not None else stack, None)


def refuse_overwrite(paths: list[Path]) -> None:
    """Writing commands never replace a file unasked (--force says so); a folder is never a file to write."""
    for path in paths:
        if path.is_dir():
            raise ConvtuiError("is a folder; give the path of a file to write with -o", file=str(path))
        if path.exists():
            raise ConvtuiError("already exists; pass --force to overwrite it, or choose another name with -o", file=str(path))


def print_notes(notes: tuple[str, ...]) -> None:
    """What an import changed goes to stderr, one line each, so stdout stays the command's output."""
    for note in notes:
        print(f"convtui: note: {note}", file=sys.stderr)


# --- handlers -------------------------------------------------------------------------------


def run_import(arguments: argparse.Namespace) -> int:
    from convtui.interop import load_model_file, save_imported
    from convtui.interop.save_import import weights_path_for

    imported = load_model_file(arguments.model, input_shape=arguments.input_shape)
    preset = Path(arguments.output) if arguments.output else Path(Path(arguments.model).stem + ".toml")
    if not arguments.force:
        refuse_overwrite([preset, *([weights_path_for(preset)] if imported.weights else [])])
    preset_path, weights_path = save_imported(imported, preset)
    print_notes(imported.notes)
    stack_info = imported.stack.infer()
    written = f"{preset_path} ({len(stack_info.layers)} layers, {stack_info.total_params:,} params)"
    if weights_path is not None:
        written += f" and its weights {weights_path}"
    print(f"wrote {written}; open it with `convtui {preset_path}`")
    return 0


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


def path_in_code(weights: Path, output: Path | None) -> str:
    """Relative to the written .py file (the pair can move together); absolute when the code goes to stdout."""
    if output is None:
        return str(weights.resolve())
    try:
        return Path(os.path.relpath(weights.resolve(), output.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return str(weights.resolve())


def run_export(arguments: argparse.Namespace) -> int:
    from convtui.interop import is_model_file
    from convtui.interop.export import check_weights_file, export_source

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


def run_diff(arguments: argparse.Namespace) -> int:
    from convtui.cli import output_console
    from convtui.model.diff import diff_stacks
    from convtui.render.diff import diff_renderable

    first, second = (load_source(source) for source in (arguments.first, arguments.second))
    print_notes(first.notes + second.notes)
    diff = diff_stacks(first.stack.infer(), second.stack.infer())
    titles = (Path(arguments.first).name, Path(arguments.second).name)
    output_console().print(diff_renderable(diff, arguments.convention, titles=titles))
    return 0
