"""The `convtui` command: the app by default, and `summary`, `presets`, `run` without a UI.

Errors the user can cause print one line on stderr and exit 2 (1 for a stack with an invalid
layer); nothing here imports textual unless the app is opened.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from convtui.errors import ConvtuiError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_INVALID_STACK = 1
EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look, then exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def add_summary_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "summary",
        help="print a stack's shapes, weights, params, MACs and receptive fields",
        description="Print the summary of a preset (a built-in name or a TOML file).",
    )
    parser.add_argument("preset", help="built-in preset name (see `convtui presets`) or path to a .toml file")
    parser.add_argument("--convention", choices=("keras", "torch"), default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.add_argument("--explain", action="store_true", help="add the worked formula behind every figure")
    parser.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table", help="output format")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="short for --format json")
    parser.set_defaults(handler=run_summary)


def add_presets_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("presets", help="list the built-in presets", description="List the built-in presets.")
    parser.set_defaults(handler=run_presets)


def add_app_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("app", help="open the interactive app (the default)", description="Open the app.")
    parser.add_argument("preset", nargs="?", default="seed-28x28x1", help="built-in preset name or .toml file")
    parser.set_defaults(handler=run_app)


COMMAND_BUILDERS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_app_command,
    add_summary_command,
    add_presets_command,
]


def build_parser() -> argparse.ArgumentParser:
    from convtui import __version__

    parser = OneLineParser(
        prog="convtui",
        description="Build a convolutional network and watch every shape, weight and feature map. "
        "`convtui [PRESET]` opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"convtui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for add_command in COMMAND_BUILDERS:
        add_command(commands)
    return parser


def with_default_command(argv: list[str], commands: Sequence[str]) -> list[str]:
    """`convtui` and `convtui PRESET` mean `convtui app [PRESET]`."""
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        return ["app", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    subcommands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    arguments = parser.parse_args(with_default_command(list(sys.argv[1:] if argv is None else argv), list(subcommands.choices)))
    try:
        return arguments.handler(arguments)
    except ConvtuiError as error:
        print(f"convtui: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


# --- handlers -------------------------------------------------------------------------------

PIPE_WIDTH = 200
"""Width of tables written to a file or a pipe: wide enough that no column wraps."""


def output_console() -> Console:
    """A terminal's own width; a pipe or file gets lines wide enough for the whole table."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)



def run_summary(arguments: argparse.Namespace) -> int:
    from convtui.model.preset import load_preset
    from convtui.render import summary

    stack = load_preset(arguments.preset)
    stack_info = stack.infer()
    convention = arguments.convention
    if arguments.format == "table":
        output_console().print(summary.summary_renderable(stack_info, convention, title=stack.name, with_formulas=arguments.explain))
    else:
        formatter = {"markdown": summary.summary_markdown, "csv": summary.summary_csv, "json": summary.summary_json}[arguments.format]
        sys.stdout.write(formatter(stack_info, convention))
    return 0 if stack_info.valid else EXIT_INVALID_STACK


def run_presets(arguments: argparse.Namespace) -> int:
    from rich.table import Table

    from convtui.model.preset import builtin_preset_names, load_preset

    table = Table("Preset", "Input", "Layers", "Params", "Description", box=None, header_style="bold")
    for name in builtin_preset_names():
        stack = load_preset(name)
        table.add_row(name, "x".join(map(str, stack.input_shape)), str(len(stack.layers)), f"{stack.infer().total_params:,}", stack.description)
    output_console().print(table)
    return 0


def run_app(arguments: argparse.Namespace) -> int:
    from convtui.model.preset import load_preset
    from convtui.tui.app import ConvtuiApp

    stack = load_preset(arguments.preset)
    ConvtuiApp(stack, source=arguments.preset).run()
    return 0
