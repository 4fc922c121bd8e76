"""`convtui run`: load a preset, an image and weights, run the engine, print one layer's feature maps."""

from __future__ import annotations

import argparse
import sys

import numpy as np
from rich.console import Console

from convtui.engine.forward import ForwardResult, check_memory, forward
from convtui.engine.images import LoadedImage, default_sample, image_summary_line, load_image
from convtui.engine.weights import StackWeights, initial_weights, load_weights_and_missing, save_arrays, weights_to_arrays
from convtui.errors import ConvtuiError, EngineError
from convtui.model.preset import load_preset, preset_weights_path
from convtui.model.stack import Stack, StackInfo
from convtui.render.run_report import default_layer_index, run_report


def stack_weights(stack: Stack, stack_info: StackInfo, preset: str, weights_path: str | None, seed: int) -> StackWeights:
    """--weights first, then the preset's own `weights = "..."` (relative to its file), else the seed.

    Weights a file lacks come from the seed, and a note on stderr lists them: whoever meant to
    load trained weights must not be shown seeded ones in silence.
    """
    if weights_path is None and (named := preset_weights_path(stack, preset)) is not None:
        weights_path = str(named)
    if weights_path is None:
        return initial_weights(stack_info, seed)
    weights, missing = load_weights_and_missing(weights_path, stack_info, seed)
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        print(f"convtui: note: {weights_path} lacks {len(missing)} weight(s), initialised from seed {seed}: {shown}", file=sys.stderr)
    return weights


def chosen_layer(stack_info: StackInfo, requested: int | None) -> int:
    count = len(stack_info.layers)
    if requested is None:
        index = default_layer_index(stack_info)
        if index is None:
            raise EngineError("no layer has a spatial map to show; choose one with --layer", field_name="--layer")
        return index
    if not 0 <= requested < count:
        raise EngineError(f"--layer {requested} is out of range: the stack has layers 0 to {count - 1}", field_name="--layer")
    return requested


def chosen_filters(requested: tuple[int | None, int | None] | None, count: int) -> range:
    if requested is None:
        return range(count)
    start, stop = requested
    chosen = range(count)[slice(start, stop)]
    if not chosen:
        raise EngineError(f"--filters {start}:{stop} selects nothing: the layer has filters 0 to {count - 1}", field_name="--filters")
    return chosen


def save_run(path: str, result: ForwardResult) -> None:
    arrays = {"input": result.input, **{f"layers.{index}.output": output for index, output in enumerate(result.outputs)}}
    arrays.update(weights_to_arrays(result.weights))
    save_arrays(arrays, path)


def run_command(arguments: argparse.Namespace) -> int:
    stack = load_preset(arguments.preset)
    stack_info = stack.infer()
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise ConvtuiError(invalid.error or "cannot apply", file=arguments.preset, layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    try:
        check_memory(stack_info, 1, arguments.max_memory)  # before the image and the weights are allocated
    except EngineError as error:
        raise error.located(file=arguments.preset) from None
    image: LoadedImage = load_image(arguments.image or default_sample(stack.input_shape), stack.input_shape)
    weights = stack_weights(stack, stack_info, arguments.preset, arguments.weights, arguments.seed)
    layer_index = chosen_layer(stack_info, arguments.layer)
    result = forward(stack_info, image.pixels, weights, max_memory=arguments.max_memory)
    if arguments.save:
        save_run(arguments.save, result)
    output: np.ndarray = result.outputs[layer_index][0]
    filters = chosen_filters(arguments.filters, output.shape[-1])
    console = Console(width=arguments.width, no_color=arguments.no_color)
    color = not arguments.no_color and console.is_terminal
    console.print(run_report(stack_info, image.pixels, image_summary_line(image), output, layer_index, filters, scale=arguments.scale, color=color))
    if arguments.save:
        print(f"saved input, {len(result.outputs)} layer outputs and the weights to {arguments.save}", file=sys.stderr)
    return 0
