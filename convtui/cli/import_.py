"""`convtui import`: turn a Keras model (.keras, .h5, model.to_json()) into a preset, NAME.toml, with its weights beside it as NAME.npz.

(The module's name ends in an underscore because `import` is Python's keyword.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from convtui.cli.options import add_input_shape_option
from convtui.cli.output import print_notes
from convtui.cli.writing import refuse_overwrite


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="turn a Keras model (.keras, .h5, model.to_json()) into a preset and its weights",
        description="Import a Keras model as a preset: NAME.toml, with its weights beside it as NAME.npz.",
    )
    parser.add_argument("model", help="a Keras 3 .keras file, a legacy .h5 file, or the JSON of model.to_json()")
    parser.add_argument("-o", "--output", help="the preset to write (default: the model's name + .toml, in the current folder)")
    parser.add_argument("--force", action="store_true", help="overwrite the preset and its .npz if they exist")
    add_input_shape_option(parser)
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.files import check_writable_place
    from convtui.interop import load_model_file, save_imported
    from convtui.interop.save_import import weights_path_for

    preset = Path(arguments.output) if arguments.output else Path(Path(arguments.model).stem + ".toml")
    check_writable_place(preset, "-o", "a .toml preset")  # before the import, which takes a while; names the file given, not its .npz
    imported = load_model_file(arguments.model, input_shape=arguments.input_shape)
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
