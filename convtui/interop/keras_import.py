"""Opening a Keras model as a convtui stack, with its trained weights when the file has them.

Every problem (file, graph, layer, argument, weight) is collected before anything is returned,
so the user fixes them all from one message, and nothing half-imported ever exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convtui.engine.weights import StackWeights
from convtui.errors import PresetError
from convtui.interop.errors import CATALOGUE_ADVICE, Problems
from convtui.interop.imported import ImportedModel
from convtui.interop.keras_files import KerasModelFile, read_model_file
from convtui.interop.keras_graph import KerasGraph, KerasLayer, read_graph, rename_note
from convtui.interop.keras_layers import translate_layer
from convtui.model.layers import Layer, Shape
from convtui.model.stack import Stack, StackInfo, check_input_shape

DEFAULT_INPUT_SIDES = (224, 224, 3)
"""The input a model saved with an unknown size is imported at, side by side (ImageNet's 224x224, RGB)."""


def load_model_file(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None) -> ImportedModel:
    """A Keras model (.keras, model.to_json() .json, legacy .h5) as a stack; one ModelImportError lists every problem.

    `input_shape` (height, width, channels) replaces the file's; a model saved with an unknown
    size (keras.Input((None, None, 3))) is otherwise imported at 224x224, with a note.
    """
    file_path = Path(path)
    model_file = read_model_file(file_path)
    problems = Problems()
    graph = read_graph(model_file.model, problems)
    layers, notes = translate_layers(graph, problems)
    shape, shape_note = chosen_input_shape(graph.input_shape, input_shape, problems)
    problems.raise_if_any(str(path))
    stack = graph_stack(graph, layers, shape, file_path, problems)
    problems.raise_if_any(str(path))
    assert stack is not None  # graph_stack returns None only with a problem
    stack_info = stack.infer()
    check_shapes(stack_info, graph, problems)
    weights = stack_weights(stack_info, graph, model_file, problems)
    if problems and shape_note and input_shape is not None:
        problems.advise(f"the model was built for its input {shape_text(graph.input_shape)}, and at {shape_text(shape)} it does not fit: drop --input-shape, or give one it fits")
    problems.raise_if_any(str(path))
    if shape_note:
        notes.insert(0, shape_note)
    if weights is None:
        notes.append("the file has no weights: convtui starts from its seeded initial weights")
    return ImportedModel(stack, weights, tuple(notes))


def translate_layers(graph: KerasGraph, problems: Problems) -> tuple[list[Layer], list[str]]:
    """Every node's convtui layer, and what changed on the way (a rename, an operation or a layer imported
    as another): notes that say the same of several layers are one line, so a big model prints a few."""
    layers: list[Layer] = []
    noted: dict[str, list[KerasLayer]] = {}
    for keras_layer in graph.layers:
        translation = translate_layer(keras_layer)
        for reason in translation.reasons:
            problems.add(keras_layer.title, reason)
            problems.advise(CATALOGUE_ADVICE)
        if translation.layer is not None:
            layers.append(translation.layer)
        for note in (rename_note(keras_layer), translation.note):
            if note:
                noted.setdefault(note, []).append(keras_layer)
    return layers, [f"{layers_text(keras_layers)}: {note}" for note, keras_layers in noted.items()]


def layers_text(keras_layers: Sequence[KerasLayer]) -> str:
    """'layer 3 "add" (Add)' for one; '9 layers ("add", "add_1", "add_2" and 6 more)' for several."""
    if len(keras_layers) == 1:
        return keras_layers[0].title
    shown = ", ".join(f'"{layer.name}"' for layer in keras_layers[:3])
    more = f" and {len(keras_layers) - 3} more" if len(keras_layers) > 3 else ""
    return f"{len(keras_layers)} layers ({shown}{more})"


def chosen_input_shape(file_shape: tuple[Any, ...] | None, requested: Sequence[int] | None, problems: Problems) -> tuple[Shape, str | None]:
    """The input to import at: `requested`, else the file's, its unknown sides from DEFAULT_INPUT_SIDES (with a note)."""
    if requested is not None:
        shape = check_input_shape(tuple(requested))
        known = file_shape is not None and all(isinstance(side, int) for side in file_shape)
        differs = known and tuple(file_shape) != shape  # type: ignore[arg-type]
        return shape, f"imported at {shape_text(shape)} instead of the file's {shape_text(file_shape)}" if differs else None
    if file_shape is None:
        problems.model.append(
            "its input shape is unknown; give one with --input-shape H,W,C, or build the model with keras.Input(shape=(height, width, channels))"
        )
        return (1, 1, 1), None
    if len(file_shape) != 3 or not all(side is None or (isinstance(side, int) and side > 0) for side in file_shape):
        problems.model.append(
            f"its input shape is {shape_text(file_shape)} without the batch axis; convtui needs (height, width, channels):"
            " build the model with keras.Input(shape=(height, width, channels))"
        )
        return (1, 1, 1), None
    if None not in file_shape:
        return file_shape, None  # type: ignore[return-value]
    shape = tuple(default if side is None else side for side, default in zip(file_shape, DEFAULT_INPUT_SIDES))
    return shape, f"the model's input size is unknown {shape_text(file_shape)}: imported at {shape_text(shape)}; give another with --input-shape H,W,C"


def shape_text(shape: Sequence[Any] | None) -> str:
    return "(" + ", ".join("None" if side is None else str(side) for side in shape or ()) + ")"


def graph_stack(graph: KerasGraph, layers: list[Layer], shape: Shape, file_path: Path, problems: Problems) -> Stack | None:
    """The stack, named and connected as the Keras graph; a structure convtui refuses is the layer's problem."""
    try:
        return Stack(
            shape,
            tuple(layers),
            name=file_path.stem,
            description=f'imported from {file_path.name} (Keras model "{graph.model_name}")',
            names=tuple(layer.name for layer in graph.layers),
            inputs=tuple(layer.inputs for layer in graph.layers),
            blocks=tuple(layer.block for layer in graph.layers),
            outputs=graph.outputs,
        )
    except PresetError as error:
        title = graph.layers[error.layer_index].title if error.layer_index is not None else None
        if title is None:
            problems.model.append(error.message)
        else:
            problems.add(title, error.message)
        return None


def check_shapes(stack_info: StackInfo, graph: KerasGraph, problems: Problems) -> None:
    """A layer convtui finds invalid at this input cannot come: Keras would not have built it."""
    for info, keras_layer in zip(stack_info.layers, graph.layers):
        if info.status == "invalid":
            problems.add(keras_layer.title, info.error or "does not apply to its input")


def stack_weights(stack_info: StackInfo, graph: KerasGraph, model_file: KerasModelFile, problems: Problems) -> StackWeights | None:
    """The file's arrays by convtui layer index, in Keras's order; a layer whose arrays do not fit its weights is a problem."""
    if not model_file.weights:
        return None
    weights: StackWeights = {}
    for info, keras_layer in zip(stack_info.layers, graph.layers):
        if not info.weights:
            continue
        key = keras_layer.saving_key if model_file.weights_by == "saving_path" else keras_layer.legacy_key
        arrays = model_file.weights.get(key, [])
        found = [tuple(array.shape) for array in arrays]
        expected = [weight.shape for weight in info.weights]
        if found != expected:
            names = ", ".join(weight.name for weight in info.weights)
            problems.add(keras_layer.title, f"the file's weights have shapes {shapes_text(found)} but its {names} need {shapes_text(expected)}")
            continue
        weights[info.index] = {weight.name: np.asarray(array, np.float32) for weight, array in zip(info.weights, arrays)}
    return weights


def shapes_text(shapes: Sequence[tuple[int, ...]]) -> str:
    return "[" + ", ".join(str(shape) for shape in shapes) + "]" if shapes else "none"
