"""`convtui run`: load a preset or a Keras model, an image and weights, run the engine, print one layer's feature maps.

numpy, the engine and Rich are imported when the command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from convtui.cli.options import MODEL_FILE_HELP, add_forward_options
from convtui.cli.output import invalid_layer_error, output_console, print_notes, warn_unused
from convtui.cli.sources import chosen_seed, load_source, stack_weights
from convtui.cli.values import FilterRange, filter_range, positive_width, python_slice
from convtui.cli.writing import check_save_target
from convtui.errors import ConvtuiError, EngineError
from convtui.model.units import readable_size

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console

    from convtui.engine.forward import ForwardResult
    from convtui.model.info import StackInfo


def add_command(commands: argparse._SubParsersAction) -> None:
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
        help='whose outputs --save writes: "all" (default), "none", or indices, names and Python slices, comma-separated (0:3,-1,add)',
    )
    parser.add_argument("--compress", action="store_true", help="zip-compress the --save file (smaller, slower to write)")
    parser.add_argument("--force", action="store_true", help="overwrite the --save file if it exists")
    parser.add_argument(
        "--layer",
        help="layer to show: its name, or its index (-1 the last, as Python counts) (default: the last with a spatial map, else the last)",
    )
    parser.add_argument(
        "--filters",
        type=filter_range,
        help="filters to show, as a Python slice: A:B (A included, B excluded), A, -3: for the last three, ::2 for every second",
    )
    parser.add_argument("--scale", choices=("map", "layer"), default="map", help="normalise each map alone, or the layer's maps together")
    parser.add_argument("--no-color", action="store_true", help="plain ASCII ramp instead of colour cells")
    parser.add_argument("--width", type=positive_width, help="output width in columns (default: the terminal's)")
    parser.set_defaults(handler=handle)


def chosen_layer(stack_info: StackInfo, requested: str | None, source: str) -> int:
    """--layer by name, or as Python indexes a list (-1 the last), else the last spatial layer, else the last."""
    from convtui.render.run_report import default_layer_index

    if not stack_info.layers:
        raise EngineError("the stack has no layers to run; add a layer first", file=source)
    if requested is None:
        return default_layer_index(stack_info)
    index = named_layer(requested, stack_info, "--layer")
    if index is None:
        raise EngineError(f'--layer "{requested}" is not a layer name or index; {layer_hint(requested, stack_info)}')
    return index


def named_layer(text: str, stack_info: StackInfo, option: str) -> int | None:
    """The layer `text` names, by name or by index as Python counts (-1 the last); None when it is neither.
    --layer and --save-layers read a layer alike, so a name that works in one works in the other."""
    from convtui.model.info import LayerNotFound, layer_position

    names = [info.name for info in stack_info.layers]
    try:
        layer: int | str = text if text in names else int(text)
    except ValueError:
        return None
    try:
        return layer_position(names, layer)
    except LayerNotFound:  # an index out of range: the command's own words, its option and both ways of counting
        count = len(names)
        raise EngineError(f"{option} {layer} is out of range: the stack has layers 0 to {count - 1}, or -{count} to -1 from the end") from None


def layer_hint(text: str, stack_info: StackInfo) -> str:
    """'did you mean "conv2d_1"?' for a mistyped name, else how to write a layer."""
    import difflib

    guesses = difflib.get_close_matches(text, [info.name for info in stack_info.layers], n=1)
    return f'did you mean "{guesses[0]}"?' if guesses else f"give a layer name or an index from 0 to {len(stack_info.layers) - 1} (-1 the last)"


def chosen_filters(requested: FilterRange | None, count: int) -> range:
    if requested is None:
        return range(count)
    chosen = range(count)[requested.chosen]
    if not chosen:
        raise EngineError(f"--filters {requested.text} selects nothing: the layer has filters 0 to {count - 1}")
    return chosen


def saved_layers(text: str, stack_info: StackInfo) -> list[int]:
    """--save-layers: "all", "none", or indices, names and slices (as Python slices a list), comma-separated."""
    count = len(stack_info.layers)
    if text.strip() == "all":
        return list(range(count))
    if text.strip() == "none":
        return []
    chosen: list[int] = []
    for part in (part.strip() for part in text.split(",")):
        chosen += layers_named(part, stack_info, count)
    return sorted(set(chosen))


def layers_named(part: str, stack_info: StackInfo, count: int) -> list[int]:
    """One --save-layers part: a name, an index or a slice (A:B, A:B:STEP)."""
    index = named_layer(part, stack_info, "--save-layers: layer")
    if index is not None:
        return [index]
    try:
        return list(range(count))[python_slice(part)]
    except ValueError:
        raise EngineError(f'--save-layers: "{part}" is not a layer name, an index or a slice (A:B or A:B:STEP); use e.g. 0:3,-1,add') from None


def checked_save_options(arguments: argparse.Namespace) -> None:
    """--save's place, and whether it may replace a file, are checked before the run (a VGG16 run takes seconds);
    --save-layers, --compress or --force alone would do nothing."""
    if arguments.save:
        check_save_target(arguments.save, force=arguments.force)
        return
    given = [
        option
        for option, value in (("--save-layers", arguments.save_layers is not None), ("--compress", arguments.compress), ("--force", arguments.force))
        if value
    ]
    if given:
        options = ", ".join(given[:-1]) + (" and " if len(given) > 1 else "") + given[-1]
        raise ConvtuiError(f"{options} only {'chooses' if len(given) == 1 else 'choose'} what --save writes; add --save FILE.npz, or drop {options}")


def run_arrays(result: ForwardResult, layers: list[int]) -> dict[str, np.ndarray]:
    """The input, the chosen layers' outputs and every weight, under the keys `run --save` documents."""
    from convtui.engine.weights import weights_to_arrays

    arrays = {"input": result.input, **{f"layers.{index}.output": result.outputs[index] for index in layers}}
    arrays.update(weights_to_arrays(result.weights))
    return arrays


def save_run(path: str, arrays: dict[str, np.ndarray], layers: list[int], compressed: bool) -> None:
    """Say what is written and how large it is before writing: a VGG16 run is over 600 MB."""
    from convtui.engine.weights import save_arrays

    size = sum(array.nbytes for array in arrays.values())
    how = "compressing " if compressed else ""
    print(
        f"convtui: {how}{readable_size(size)} to {path}: the input, {len(layers)} layer output(s) and the weights"
        " (--save-layers chooses the outputs, --compress shrinks the file)",
        file=sys.stderr,
    )
    save_arrays(arrays, path, compressed=compressed)


def report_console(width: int | None, no_color: bool) -> Console:
    """--width, else a terminal's width, else COLUMNS, else the width of every piped command's output (output_console).
    --no-color turns colour off; without it Rich still honours NO_COLOR (passing False would override it)."""
    return output_console(follow_columns=True, width=width, no_color=True if no_color else None)


def shows_color(console: Console) -> bool:
    """Colour cells only where colour shows: on a pipe, a dumb terminal or under NO_COLOR the half blocks carry nothing."""
    return console.is_terminal and console.color_system is not None and not console.no_color


def handle(arguments: argparse.Namespace) -> int:
    from convtui.engine.forward import check_memory, forward
    from convtui.catalogue import default_sample
    from convtui.engine.images import image_summary_line, load_image
    from convtui.render.run_report import run_report

    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    stack = opened.stack
    stack_info = stack.infer()
    warn_unused(stack_info, arguments.preset)
    invalid = invalid_layer_error(stack_info, arguments.preset)
    if invalid is not None:
        raise invalid
    layer_index = chosen_layer(stack_info, arguments.layer, arguments.preset)
    checked_save_options(arguments)
    try:
        check_memory(stack_info, 1, arguments.max_memory)  # before the image and the weights are allocated
    except EngineError as error:
        raise error.located(file=arguments.preset) from None
    print_notes(opened.notes)
    image = load_image(arguments.image or default_sample(stack.input_shape), stack.input_shape)
    weights = stack_weights(opened, stack_info, arguments.preset, arguments.weights, chosen_seed(arguments.seed, opened))
    saved = saved_layers(arguments.save_layers or "all", stack_info) if arguments.save else []
    result = forward(stack_info, image.pixels, weights, max_memory=arguments.max_memory)
    if arguments.save:
        save_run(arguments.save, run_arrays(result, saved), saved, arguments.compress)
    output = result.outputs[layer_index][0]
    filters = chosen_filters(arguments.filters, output.shape[-1] if output.ndim == 3 else output.size)
    console = report_console(arguments.width, arguments.no_color)
    console.print(run_report(stack_info, image.pixels, image_summary_line(image), output, layer_index, filters, scale=arguments.scale, color=shows_color(console)))
    if arguments.save:
        print(f"saved the input, {len(saved)} layer output(s) and the weights to {arguments.save}", file=sys.stderr)
    return 0
