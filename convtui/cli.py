"""The `convtui` command: the app by default, and `summary`, `presets`, `run` without a UI.

Errors the user can cause print one line on stderr and exit 2 (1 for a stack with an invalid
layer); nothing here imports textual unless the app is opened.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from convtui.commands.interop import add_diff_command, add_export_command, add_import_command, load_source, print_notes
from convtui.errors import ConvtuiError, printable

if TYPE_CHECKING:
    from rich.console import Console

EXIT_INVALID_STACK = 1
EXIT_USAGE = 2
MODEL_FILE_HELP = "Keras model (.keras, .h5, model.to_json()'s .json)"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look, then exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def add_summary_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "summary",
        help="print a stack's shapes, weights, params, MACs and receptive fields",
        description="Print the summary of a preset (a built-in name or a TOML file) or a Keras model file.",
    )
    parser.add_argument("preset", help=f"built-in preset name (see `convtui presets`), .toml file, or {MODEL_FILE_HELP}")
    parser.add_argument("--convention", choices=("keras", "torch"), default="keras", help="show shapes as Keras (H, W, C) or PyTorch (C, H, W)")
    parser.add_argument("--explain", action="store_true", help="add the worked formula behind every figure (table format only)")
    parser.add_argument(
        "--depth", type=depth_value, help="as torchinfo's depth: 1 folds each block into one row; 2 or none, every layer (table and markdown)"
    )
    add_input_shape_option(parser)
    output_format = parser.add_mutually_exclusive_group()
    output_format.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table", help="output format")
    output_format.add_argument("--json", dest="format", action="store_const", const="json", help="short for --format json")
    parser.set_defaults(handler=run_summary)


def add_presets_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("presets", help="list the built-in presets", description="List the built-in presets.")
    parser.set_defaults(handler=run_presets)


def add_app_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("app", help="open the interactive app (the default)", description="Open the app.")
    parser.add_argument("preset", nargs="?", default="seed-28x28x1", help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}")
    add_forward_options(parser)
    parser.set_defaults(handler=run_app)


def add_run_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run",
        help="run a stack on an image and print a layer's feature maps as heatmaps",
        description="Run a preset or a Keras model on an image with convtui's NumPy engine and print the feature maps.",
    )
    parser.add_argument("preset", help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}, which runs on its trained weights")
    add_forward_options(parser)
    parser.add_argument("--weights", help="load weights from an .npz (keys layers.{i}.{name}, Keras layouts) instead of the preset's or the model's")
    parser.add_argument("--save", help="write the input, the layers' outputs (see --save-layers) and every weight to an .npz")
    parser.add_argument(
        "--save-layers",
        default="all",
        help='whose outputs --save writes: "all" (default), "none", or indices, names and Python slices, comma-separated (0:3,-1,add)',
    )
    parser.add_argument("--compress", action="store_true", help="zip-compress the --save file (smaller, slower to write)")
    parser.add_argument(
        "--layer", type=int, help="layer index to show, -1 the last, as Python counts (default: the last with a spatial map, else the last)"
    )
    parser.add_argument("--filters", type=filter_range, help="filters to show, as a Python slice: A:B (A included, B excluded), A, or -3: for the last three")
    parser.add_argument("--scale", choices=("map", "layer"), default="map", help="normalise each map alone, or the layer's maps together")
    parser.add_argument("--no-color", action="store_true", help="plain ASCII ramp instead of colour cells")
    parser.add_argument("--width", type=positive_width, help="output width in columns (default: the terminal's)")
    parser.set_defaults(handler=run_run)


def add_input_shape_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        type=input_shape_value,
        metavar="H,W,C",
        help="the input's height, width and channels: replaces a preset's input_shape; a Keras model saved with an unknown size needs it (else 224,224)",
    )


def add_forward_options(parser: argparse.ArgumentParser) -> None:
    """What the forward pass runs on, shared by `run` and the app."""
    add_input_shape_option(parser)
    parser.add_argument("--image", type=non_empty, help="sample name (digit, shapes, checkerboard, gradient, scene) or PNG/JPEG/BMP/GIF/.npy path")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of the initial weights, for those no weights file or model gives (default 0)")
    parser.add_argument("--max-memory", type=memory_size, default="2G", help="refuse runs whose estimated peak exceeds this (default 2G)")


GENERATED_SETS = ("shapes", "digits", "stripes")
"""convtui.engine.datasets.GENERATED's names, written out so that building the parser imports no numpy (a test keeps them equal)."""
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rmsprop")
"""convtui.engine.optimizers.OPTIMIZERS's names, for the same reason."""


def add_train_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a stack on generated, folder or .npz data and save its weights",
        description="Train a preset or a Keras model with convtui's NumPy engine (Keras 3's training semantics) and save the weights as an .npz.",
    )
    parser.add_argument("preset", help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}")
    parser.add_argument(
        "--data",
        required=True,
        type=data_source,
        help=f"a generated set ({', '.join(GENERATED_SETS)}; NAME:COUNT for a size, e.g. digits:5000), a folder with one sub-folder"
        " of images per class, or an .npz with x and y (or Keras's mnist.npz)",
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training data (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="examples per step (default 32, as Keras)")
    parser.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="adam", help="Keras's optimiser, with its defaults (default adam)")
    parser.add_argument("--learning-rate", type=positive_float, help="replaces the optimiser's default (sgd 0.01; adam, adamw, rmsprop 0.001)")
    parser.add_argument(
        "--validation-split",
        type=split_fraction,
        default=0.1,
        help="the last fraction of the examples, kept for validation as Keras's fit keeps it (default 0.1; 0 trains on all);"
        " an .npz's x_test and y_test replace it",
    )
    parser.add_argument("--no-shuffle", action="store_true", help="keep the data's order: batch k is examples k*B to k*B+B-1")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of the initial weights, the generated data, the shuffling and dropout (default 0)")
    parser.add_argument("--weights", help="start from these weights (.npz, keys layers.{i}.{name}) instead of the preset's, the model's or the seed's")
    parser.add_argument("--save", help="the .npz to write, replaced if it exists (default: NAME-trained.npz in the current folder, never replaced)")
    add_input_shape_option(parser)
    parser.set_defaults(handler=run_train)


COMMAND_BUILDERS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_app_command,
    add_summary_command,
    add_run_command,
    add_train_command,
    add_presets_command,
    add_import_command,
    add_export_command,
    add_diff_command,
]


# --- argument types -------------------------------------------------------------------------

MEMORY_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30}


def memory_size(text: str) -> int:
    """"2G", "512M", "1.5GiB" or plain bytes."""
    number = text.strip().lower().rstrip("bikmg")
    unit = text.strip().lower()[len(number):]
    try:
        size = int(float(number) * MEMORY_UNITS[unit])
    except (ValueError, KeyError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size; write e.g. 2G, 512M or 1.5GiB") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive size; give at least one byte, e.g. 2G or 512M")
    return size


class FilterRange(NamedTuple):
    """--filters as a slice of the layer's filters, and as typed (for messages)."""

    start: int | None
    stop: int | None
    text: str


def filter_range(text: str) -> FilterRange:
    """"A:B", ":B", "A:" or "A" (one filter)."""
    start, colon, stop = text.partition(":")
    try:
        first = int(start) if start else None
        last = (int(stop) if stop else None) if colon else one_past(first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a filter range; write A:B, e.g. 0:16") from None
    return FilterRange(first, last, text)


def one_past(index: int | None) -> int | None:
    """The slice end that selects just `index` (-1, the last filter, ends at None, not at 0)."""
    return None if index is None or index == -1 else index + 1


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a sample name or a file path")
    return text


def data_source(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"is empty; give a generated set ({', '.join(GENERATED_SETS)}), a folder of class folders or an .npz file")
    return text


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number; give e.g. 0.001")
    return value


def split_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 (no validation) up to, not including, 1; give e.g. 0.1")
    return value


def seed_number(text: str) -> int:
    """The app's bound too, so a seed typed in one works in the other."""
    from convtui.engine.weights import MAX_SEED

    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed; give a whole number from 0 to {MAX_SEED:,}")
    return seed


def input_shape_value(text: str) -> tuple[int, ...]:
    """"224,224,3": height, width, channels, within the bounds a preset's input_shape has."""
    from convtui.errors import PresetError
    from convtui.model.stack import check_input_shape

    try:
        return check_input_shape([int(side) for side in text.split(",")])
    except (ValueError, PresetError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an input shape; write H,W,C with whole numbers, e.g. 224,224,3") from None


def whole_number_option(minimum: int, complaint: str) -> Callable[[str], int]:
    """An option's whole number of at least `minimum`; anything else is `'TEXT' complaint` in argparse's one line."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} {complaint}")
        return value

    return parse


positive_int = whole_number_option(1, "is not a positive whole number; give 1 or more")
depth_value = whole_number_option(1, "is not a depth; give 1 (blocks folded) or 2 (every layer)")
positive_width = whole_number_option(20, "is not a usable width; give 20 columns or more")


def build_parser() -> argparse.ArgumentParser:
    from convtui import __version__

    parser = OneLineParser(
        prog="convtui",
        description="Build a convolutional network and watch every shape, weight and feature map. "
        "`convtui [PRESET] [--seed N] [--image IMAGE] [--max-memory SIZE] [--input-shape H,W,C]` opens the app"
        " (the same as `convtui app ...`).",
    )
    parser.add_argument("--version", action="version", version=f"convtui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for add_command in COMMAND_BUILDERS:
        add_command(commands)
    return parser


TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


def with_default_command(argv: list[str], commands: Sequence[str]) -> list[str]:
    """`convtui`, `convtui PRESET` and `convtui --seed 3` mean `convtui app ...`."""
    if not argv or (argv[0] not in commands and argv[0] not in TOP_LEVEL_OPTIONS):
        return ["app", *argv]
    return argv


def mistyped_command(word: str, commands: Sequence[str]) -> str | None:
    """The command a first word was probably meant to be; None when it may be a stack to open (a file, a built-in)."""
    from convtui.model.preset import is_builtin_name

    looks_like_a_path = "." in word or "/" in word or "\\" in word  # net.toml, model.keras, sub/net: "no such file" says more
    if word in commands or word.startswith("-") or looks_like_a_path or Path(word).exists() or is_builtin_name(word):
        return None
    matches = difflib.get_close_matches(word, commands, n=1)
    return matches[0] if matches else None


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of `parser` that take a value (--max-memory, -o ...), not flags."""
    return {option for action in parser._actions if action.nargs != 0 for option in action.option_strings}


def with_attached_values(argv: list[str], options: set[str]) -> list[str]:
    """`--max-memory -3G` as `--max-memory=-3G`: argparse takes a value starting with a dash for an option.

    Attached, the value reaches its own validation, which says what is wrong with it.
    """
    joined: list[str] = []
    for argument in argv:
        option = joined[-1] if joined else ""
        if option in options and argument[:1] == "-" and argument[1:2].isdigit():
            joined[-1] = f"{option}={argument}" if option.startswith("--") else f"{option}{argument}"
        else:
            joined.append(argument)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    # NumPy asks the kernel for huge pages for every large array; the first touch of each can then
    # wait for memory compaction. convtui allocates every layer's output afresh (all are kept), and
    # `convtui run vgg16` took 0.73-1.26 s with them (median 1.15) and 0.88-0.93 s without. Read when
    # NumPy is imported, which no command has done yet; a value the user set is kept.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    parser = build_parser()
    subcommands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (meant := mistyped_command(argv[0], list(subcommands.choices))) is not None:
        parser.exit(EXIT_USAGE, f"convtui: error: unknown command '{printable(argv[0])}'; did you mean '{meant}'?\n")
    implied_app = not argv or argv[0] != "app"
    argv = with_default_command(argv, list(subcommands.choices))
    command = subcommands.choices.get(argv[0]) if argv else None
    if argv and argv[0] == "app" and implied_app:
        command.prog = "convtui"  # its errors point to `convtui --help`, the command the user typed
    if command is not None:
        argv = [argv[0], *with_attached_values(argv[1:], value_options(command))]
    arguments = parser.parse_args(argv)
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
    from convtui.commands import warn_unused
    from convtui.model.blocks import depth_rows
    from convtui.render import summary

    if arguments.explain and arguments.format != "table":
        raise ConvtuiError(f"--explain adds the formulas to the table only, not to {arguments.format} output; drop --explain or the format option")
    if arguments.depth is not None and arguments.format in ("csv", "json"):
        raise ConvtuiError(
            f"--depth folds the table and markdown only; {arguments.format} lists every layer with its block"
            + (" (and each block's totals)" if arguments.format == "json" else "") + "; drop --depth"
        )
    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    print_notes(opened.notes)
    stack = opened.stack
    stack_info = stack.infer()
    warn_unused(stack_info, arguments.preset)
    convention = arguments.convention
    rows = depth_rows(stack_info, arguments.depth)
    if arguments.format == "table":
        output_console().print(summary.summary_renderable(stack_info, convention, title=stack.name, with_formulas=arguments.explain, rows=rows))
    elif arguments.format == "markdown":
        sys.stdout.write(summary.summary_markdown(stack_info, convention, rows))
    else:
        sys.stdout.write({"csv": summary.summary_csv, "json": summary.summary_json}[arguments.format](stack_info, convention))
    invalid = stack_info.first_invalid
    if invalid is None:
        return 0
    error = ConvtuiError(invalid.error or "", file=arguments.preset, layer_index=invalid.index, layer_type=invalid.layer.type_name)
    print(f"convtui: error: {error}", file=sys.stderr)
    return EXIT_INVALID_STACK


def run_presets(arguments: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from convtui.model.preset import builtin_preset_names, load_preset

    table = Table("Preset", "Input", "Layers", "Params", "Description", box=None, header_style="bold")
    for name in builtin_preset_names():
        stack = load_preset(name)
        table.add_row(name, "x".join(map(str, stack.input_shape)), str(len(stack.layers)), f"{stack.infer().total_params:,}", Text(stack.description))
    output_console().print(table)
    return 0


def run_run(arguments: argparse.Namespace) -> int:
    from convtui.commands.run import run_command

    return run_command(arguments)


def run_train(arguments: argparse.Namespace) -> int:
    from convtui.commands.train import run_train as train_command

    return train_command(arguments)


def run_app(arguments: argparse.Namespace) -> int:
    """A preset (built-in name or .toml), or a Keras model file opened with its weights and import notes."""
    from convtui.tui.app import ConvtuiApp

    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    app = ConvtuiApp(
        opened.stack,
        weights=opened.weights,
        notes=opened.notes,
        source=arguments.preset,
        seed=arguments.seed,
        image=arguments.image,
        max_memory=arguments.max_memory,
    )
    app.run()
    return app.return_code or 0  # non-zero when the app ended on an error, so a crash is not a success
