"""`convtui diff`: two stacks side by side, layer by layer, with the shapes, params and MACs that change."""

from __future__ import annotations

import argparse
from pathlib import Path

from convtui.cli.output import print_notes, print_output
from convtui.cli.sources import load_source
from convtui.model.convention import CONVENTIONS


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "diff",
        help="compare two stacks layer by layer: shapes, params and MACs that change",
        description="Show two stacks side by side, layer by layer, with the shapes, params and MACs that change.",
    )
    parser.add_argument("first", help="built-in preset name, .toml file, or Keras model file")
    parser.add_argument("second", help="the stack to compare it with")
    parser.add_argument("--convention", choices=CONVENTIONS, default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.model.diff import diff_stacks
    from convtui.render.diff import diff_renderable

    first, second = (load_source(source) for source in (arguments.first, arguments.second))
    print_notes(first.notes + second.notes)
    diff = diff_stacks(first.stack.infer(), second.stack.infer())
    titles = (Path(arguments.first).name, Path(arguments.second).name)
    print_output(diff_renderable(diff, arguments.convention, titles=titles), follow_columns=True)
    return 0
