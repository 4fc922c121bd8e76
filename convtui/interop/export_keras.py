"""A stack as Keras code: keras.Sequential with keras.Input and the layers' own arguments.

convtui's arguments are Keras's, so most layers are written as they are; the exceptions are
commented where they appear (explicit convolution padding, the "edges" initialiser, Keras's
depthwise_initializer name). With weights, each layer's arrays are set from the .npz (already
in Keras layouts).
"""

from __future__ import annotations

from convtui.interop.python_source import INDENT, call, commented, docstring, identifier, literal, weights_location
from convtui.model.layers import Layer
from convtui.model.preset import compact
from convtui.model.stack import Stack, StackInfo

POSITIONAL_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size"),
    "SeparableConv2D": ("filters", "kernel_size"),
    "Conv2DTranspose": ("filters", "kernel_size"),
    "DepthwiseConv2D": ("kernel_size",),
    "MaxPooling2D": ("pool_size",),
    "AveragePooling2D": ("pool_size",),
    "Dense": ("units",),
    "Dropout": ("rate",),
    "Activation": ("activation",),
}
"""Written first and always: Keras's AveragePooling2D has no default pool_size, for one."""

INITIALIZER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "DepthwiseConv2D": ("depthwise_initializer",),
    "SeparableConv2D": ("depthwise_initializer", "pointwise_initializer"),
}
"""Keras's names for what convtui calls kernel_initializer."""


def layer_lines(layer: Layer, index: int) -> list[str]:
    """The Keras layer(s) of one convtui layer, each with its comment; the weighted one is last."""
    arguments = layer.changed_arguments()
    lines = []
    comment = f"layer {index}"
    if isinstance(arguments.get("padding"), tuple) and layer.type_name != "ZeroPadding2D":
        padding = arguments.pop("padding")
        lines.append(commented(call("layers.ZeroPadding2D", [compact(padding)]) + ",", f"layer {index}: explicit padding {padding}, which Keras convolutions do not take"))
    initializer = arguments.pop("kernel_initializer", None)
    if initializer == "edges":
        comment += ': "edges" is convtui\'s filter bank, not a Keras initialiser; Keras starts from glorot_uniform'
    elif initializer is not None:
        arguments.update({name: initializer for name in INITIALIZER_ARGUMENTS.get(layer.type_name, ("kernel_initializer",))})
    positional = [arguments.pop(name, getattr(layer, name)) for name in POSITIONAL_ARGUMENTS.get(layer.type_name, ())]
    code = call(f"layers.{layer.type_name}", [compact(value) for value in positional], {name: compact(value) for name, value in arguments.items()})
    lines.append(commented(code + ",", comment))
    return lines


def keras_source(stack: Stack, stack_info: StackInfo, weights_path: str | None) -> str:
    body: list[str] = []
    weight_keys: dict[int, tuple[str, ...]] = {}
    for info in stack_info.layers:
        lines = layer_lines(info.layer, info.index)
        body += lines
        if info.weights:
            weight_keys[len(body) - 1] = tuple(f"layers.{info.index}.{weight.name}" for weight in info.weights)
    parts = [
        docstring(stack, "Keras 3", ["`build_model()` returns the model; run this file to print its summary."]),
        "",
        *(["from pathlib import Path", "", "import keras", "import numpy as np"] if weights_path else ["import keras"]),
        "from keras import layers",
        "",
        f"INPUT_SHAPE = {literal(stack.input_shape)}  # (height, width, channels): Keras's channels_last",
        *([f"WEIGHTS_FILE = {weights_location(weights_path)}  # convtui's .npz, in Keras layouts"] if weights_path else []),
        "",
        "",
        "def build_model() -> keras.Sequential:",
        f"{INDENT}model = keras.Sequential(",
        f"{INDENT * 2}[",
        f"{INDENT * 3}keras.Input(shape=INPUT_SHAPE),",
        *(f"{INDENT * 3}{line}" for line in body),
        f"{INDENT * 2}],",
        f"{INDENT * 2}name={literal(identifier(stack.name))},",
        f"{INDENT})",
        *([f"{INDENT}load_weights(model)"] if weights_path else []),
        f"{INDENT}return model",
        "",
        *(weights_loader(weight_keys) if weights_path else []),
        "",
        'if __name__ == "__main__":',
        f"{INDENT}build_model().summary()",
    ]
    return "\n".join(parts) + "\n"


def weights_loader(weight_keys: dict[int, tuple[str, ...]]) -> list[str]:
    entries = [f"{INDENT}{position}: {literal(keys)}," for position, keys in weight_keys.items()]
    return [
        "",
        "# model.layers position -> the .npz keys of its weights, in Keras's order",
        "WEIGHT_KEYS = {",
        *entries,
        "}",
        "",
        "",
        "def load_weights(model: keras.Sequential, path: Path = WEIGHTS_FILE) -> None:",
        f'{INDENT}"""Set every layer\'s weights from convtui\'s .npz (keys layers.{{index}}.{{name}}, Keras layouts)."""',
        f"{INDENT}with np.load(path) as arrays:",
        f"{INDENT * 2}for position, keys in WEIGHT_KEYS.items():",
        f"{INDENT * 3}model.layers[position].set_weights([arrays[key] for key in keys])",
        "",
    ]
