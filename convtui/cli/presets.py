"""`convtui presets`: the built-in stacks, with their input, layers, params and description."""

from __future__ import annotations

import argparse

from convtui.cli.output import print_output


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("presets", help="list the built-in presets", description="List the built-in presets.")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from convtui.model.preset import builtin_preset_names, load_preset

    table = Table("Preset", "Input", "Layers", "Params", "Description", box=None, header_style="bold")
    for name in builtin_preset_names():
        stack = load_preset(name)
        table.add_row(name, "x".join(map(str, stack.input_shape)), str(len(stack.layers)), f"{stack.infer().total_params:,}", Text(stack.description))
    print_output(table, follow_columns=True)
    return 0
