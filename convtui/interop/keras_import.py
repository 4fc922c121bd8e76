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
from convtui.interop.errors import Problems
from convtui.interop.imported import ImportedModel
from convtui.interop.keras_files import KerasModelFile, read_model_file
from convtui.interop.keras_graph import KerasChain, KerasLayer, read_chain
from convtui.interop.keras_layers import as_tuples, translate
from convtui.model.layers import Layer
from convtui.model.stack import Stack, StackInfo


def load_model_file(path: str | os.PathLike[str]) -> ImportedModel:
    """A Keras model (.keras, model.to_json() .json, legacy .h5) as a stack; one ModelImportError lists every problem."""
    file_path = Path(path)
    model_file = read_model_file(file_path)
    problems = Problems()
    chain = read_chain(model_file.model, problems)
    layers, notes = translate_layers(chain, problems)
    input_shape = checked_input_shape(chain.input_shape, problems)
    problems.raise_if_any(str(path))
    stack = Stack(
        input_shape,
        tuple(layers),
        name=file_path.stem,
        description=f'imported from {file_path.name} (Keras model "{chain.model_name}")',
    )
    stack_info = stack.infer()
    check_shapes(stack_info, chain, problems)
    weights = stack_weights(stack_info, chain, model_file, problems)
    problems.raise_if_any(str(path))
    if weights is None:
        notes.append("the file has no weights: convtui starts from its seeded initial weights")
    return ImportedModel(stack, weights, tuple(notes))


def translate_layers(chain: KerasChain, problems: Problems) -> tuple[list[Layer], list[str]]:
    layers, notes = [], []
    for keras_layer in chain.layers:
        translation = translate(keras_layer.class_name, keras_layer.config)
        for reason in translation.reasons:
            problems.add(keras_layer.title, reason)
        if translation.layer is not None:
            layers.append(translation.layer)
        if translation.note:
            notes.append(f"{keras_layer.title}: {translation.note}")
    return layers, notes


def checked_input_shape(shape: tuple[Any, ...] | None, problems: Problems) -> tuple[int, int, int]:
    if shape is None:
        return (1, 1, 1)  # already a problem: read_chain found no input shape
    if len(shape) == 3 and all(isinstance(side, int) and side > 0 for side in shape):
        return shape  # type: ignore[return-value]
    sides = ", ".join("None" if side is None else str(side) for side in shape)
    problems.model.append(
        f"its input shape is ({sides}) without the batch axis; convtui needs a fixed (height, width, channels):"
        " build the model with keras.Input(shape=(height, width, channels))"
    )
    return (1, 1, 1)


def check_shapes(stack_info: StackInfo, chain: KerasChain, problems: Problems) -> None:
    """A layer convtui finds invalid, or a Reshape whose size is not the whole map, cannot come."""
    for info, keras_layer in zip(stack_info.layers, chain.layers):
        if info.status == "invalid":
            problems.add(keras_layer.title, info.error or "does not apply to its input")
        target = as_tuples(keras_layer.config.get("target_shape")) if keras_layer.class_name == "Reshape" else None
        if target and target[0] != -1 and info.output_shape and info.output_shape != target:
            problems.add(keras_layer.title, f"reshapes {info.input_shape} to {target}, which is not Flatten's {info.output_shape}")


def stack_weights(stack_info: StackInfo, chain: KerasChain, model_file: KerasModelFile, problems: Problems) -> StackWeights | None:
    """The file's arrays by convtui layer index; a layer whose arrays do not fit its weights is a problem."""
    if not model_file.weights:
        return None
    weights: StackWeights = {}
    for info, keras_layer in zip(stack_info.layers, chain.layers):
        if not info.weights:
            continue
        arrays = model_file.weights.get(layer_key(keras_layer, model_file), [])
        found = [tuple(array.shape) for array in arrays]
        expected = [weight.shape for weight in info.weights]
        if found != expected:
            names = ", ".join(weight.name for weight in info.weights)
            problems.add(keras_layer.title, f"the file's weights have shapes {shapes_text(found)} but its {names} need {shapes_text(expected)}")
            continue
        weights[info.index] = {weight.name: np.asarray(array, np.float32) for weight, array in zip(info.weights, arrays)}
    return weights


def layer_key(keras_layer: KerasLayer, model_file: KerasModelFile) -> str:
    return keras_layer.saving_key if model_file.weights_by == "saving_path" else keras_layer.name


def shapes_text(shapes: Sequence[tuple[int, ...]]) -> str:
    return "[" + ", ".join(str(shape) for shape in shapes) + "]" if shapes else "none"
