"""`convtui diff`: two stacks side by side, layer by layer, with the shapes, params and MACs that change."""

from __future__ import annotations

import argparse
from pathlib import Path

from convtui.cli.output import EXIT_INVALID_STACK, print_notes, print_output, report_invalid
from convtui.cli.sources import load_source
from convtui.model.convention import CONVENTIONS


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "diff",
        help="compare two stacks layer by layer: shapes, params and MACs that change",
        description="Show two stacks side by side, layer by layer, with the shapes, params and MACs that change."
        " Exits 1 when a layer of either stack cannot apply (one line on stderr for each), else 0.",
    )
    parser.add_argument("first", help="built-in preset name, .toml file, or Keras model file")
    parser.add_argument("second", help="the stack to compare it with")
    parser.add_argument("--convention", choices=CONVENTIONS, default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from convtui.model.diff import diff_stacks
    from convtui.render.diff import diff_renderable

    sources = (arguments.first, arguments.second)
    first, second = (load_source(source) for source in sources)
    print_notes(first.notes + second.notes)
    infos = (first.stack.infer(), second.stack.infer())
    diff = diff_stacks(*infos)
    titles = (Path(arguments.first).name, Path(arguments.second).name)
    print_output(diff_renderable(diff, arguments.convention, titles=titles), follow_columns=True)
    invalid = [report_invalid(stack_info, source) for stack_info, source in zip(infos, sources)]  # both sides said, not just the first
    return EXIT_INVALID_STACK if any(invalid) else 0
