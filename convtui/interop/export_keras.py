"""A stack as Keras code: the Functional API, one call per node with its name, in file order.

convtui's arguments are Keras's, so most layers are written as they are; the exceptions are
commented where they appear (explicit convolution padding, the "edges" initialiser, Keras's
depthwise_initializer name). A chain is written the same way, its values passing through `x`.
With weights, each layer's arrays are set from the .npz (already in Keras layouts), by name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from convtui.interop.python_source import (
    INDENT,
    INPUT_VARIABLE,
    Step,
    call,
    commented,
    docstring,
    graph_walk,
    identifier,
    literal,
    unused_comment,
    weights_location,
)
from convtui.model.graph import INPUT_NAME
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
    "Reshape": ("target_shape",),
    "Rescaling": ("scale",),
    "LayerScale": ("init_values", "projection_dim"),
}
"""Written first and always: Keras's AveragePooling2D has no default pool_size, for one."""

INITIALIZER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "DepthwiseConv2D": ("depthwise_initializer",),
    "SeparableConv2D": ("depthwise_initializer", "pointwise_initializer"),
}
"""Keras's names for what convtui calls kernel_initializer."""

PAIR_ARGUMENTS = ("kernel_size", "strides", "pool_size", "dilation_rate", "padding", "size", "cropping")
"""Written as a person would, 3 for (3, 3); any other tuple (target_shape, axis, mean) as it is."""

CUSTOM_LAYERS: dict[str, str] = {
    "LayerScale": '''
@keras.saving.register_keras_serializable(package="convtui")
class LayerScale(keras.layers.Layer):
    """ConvNeXt's LayerScale, which keras.applications.convnext keeps to itself: each channel times a learned gamma."""

    def __init__(self, init_values: float, projection_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.init_values, self.projection_dim = init_values, projection_dim

    def build(self, input_shape: tuple) -> None:
        initializer = keras.initializers.Constant(self.init_values)
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializer, name="gamma")

    def call(self, x):
        return x * self.gamma

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}
''',
}
"""Layers convtui takes from outside keras.layers: the generated file defines them (saved models find them by name)."""


@dataclass(frozen=True)
class KerasCall:
    """One Keras layer constructor of a node, with its comment."""

    code: str
    comment: str = ""



BACKEND_CHOICE = (
    "import importlib.util",
    "import os",
    "",
    "# Keras 3 runs on TensorFlow, JAX or PyTorch and picks TensorFlow unless KERAS_BACKEND says otherwise:",
    "# take whichever one is installed, so the file runs where Keras is.",
    "if \"KERAS_BACKEND\" not in os.environ:",
    '    installed = [name for name in ("tensorflow", "jax", "torch") if importlib.util.find_spec(name)]',
    '    os.environ["KERAS_BACKEND"] = installed[0] if installed else "tensorflow"',
    "",
)
"""The generated file's first lines: a backend that is importable, set before `import keras`."""

def unique_name(wanted: str, taken: Collection[str]) -> str:
    """Keras refuses two layers of one name in a model: the helper layers a node needs get a free one."""
    candidate, number = wanted, 1
    while candidate in taken:
        candidate = f"{wanted}_{number}"
        number += 1
    return candidate


def layer_calls(layer: Layer, index: int, name: str, taken: set[str]) -> list[KerasCall]:
    """The Keras layer(s) of one node, each named; the node's own (which holds its weights) is last."""
    arguments = layer.changed_arguments()
    calls = []
    comment = f"layer {index}"
    if isinstance(arguments.get("padding"), tuple) and layer.type_name != "ZeroPadding2D":
        padding = arguments.pop("padding")
        pad_name = unique_name(f"{name}_pad", taken)
        taken.add(pad_name)
        pad_code = call("layers.ZeroPadding2D", [compact(padding)], {"name": pad_name})
        calls.append(KerasCall(pad_code, f"layer {index}: explicit padding {padding}, which Keras convolutions do not take"))
    initializer = arguments.pop("kernel_initializer", None)
    if initializer == "edges":
        comment += ': "edges" is convtui\'s filter bank, not a Keras initialiser; Keras starts from glorot_uniform'
    elif initializer is not None:
        arguments.update({key: initializer for key in INITIALIZER_ARGUMENTS.get(layer.type_name, ("kernel_initializer",))})
    positional = [keras_value(key, arguments.pop(key, getattr(layer, key))) for key in POSITIONAL_ARGUMENTS.get(layer.type_name, ())]
    keywords = {key: keras_value(key, value) for key, value in {**arguments, "name": name}.items()}
    constructor = layer.type_name if layer.type_name in CUSTOM_LAYERS else f"layers.{layer.type_name}"
    calls.append(KerasCall(call(constructor, positional, keywords), comment))
    return calls


def keras_value(argument: str, value: object) -> object:
    return compact(value) if argument in PAIR_ARGUMENTS else value


def step_lines(step: Step, taken: set[str]) -> list[str]:
    """`target = layers.X(...)(source)` for each call of the node; a merge is called on the list of its inputs."""
    calls = layer_calls(step.info.layer, step.info.index, step.info.name, taken)
    first_source = f"[{', '.join(step.sources)}]" if step.info.layer.is_merge else step.sources[0]
    sources = [first_source, *[step.target] * (len(calls) - 1)]
    return [commented(f"{step.target} = {keras_call.code}({source})", keras_call.comment) for keras_call, source in zip(calls, sources)]


def custom_layers(stack: Stack) -> list[str]:
    """The definitions of the custom layers the stack uses, each followed by two blank lines."""
    used = {layer.type_name for layer in stack.layers}
    return [source.strip("\n") + "\n\n" for name, source in CUSTOM_LAYERS.items() if name in used]


def model_outputs(outputs: tuple[str, ...]) -> str:
    return outputs[0] if len(outputs) == 1 else f"[{', '.join(outputs)}]"


def keras_source(stack: Stack, stack_info: StackInfo, weights_path: str | None) -> str:
    walk = graph_walk(stack_info)
    taken = {INPUT_NAME, *stack.names}
    body = [f"{INPUT_VARIABLE} = keras.Input(shape=INPUT_SHAPE, name={literal(INPUT_NAME)})"]
    body += [unused_comment(info) for info in walk.unused]
    for step in walk.steps:
        body += step_lines(step, taken)
    weight_keys = {
        step.info.name: tuple(f"layers.{step.info.index}.{weight.name}" for weight in step.info.weights)
        for step in walk.steps
        if step.info.weights
    }
    parts = [
        docstring(stack, ["Keras 3 code generated by convtui: `build_model()` returns the model; run this file to print its summary."]),
        "",
        *BACKEND_CHOICE,
        *(["from pathlib import Path", "", "import keras", "import numpy as np"] if weights_path else ["import keras"]),
        "from keras import layers",
        "",
        f"INPUT_SHAPE = {literal(stack.input_shape)}  # (height, width, channels): Keras's channels_last",
        *([f"WEIGHTS_FILE = {weights_location(weights_path)}  # convtui's .npz, in Keras layouts"] if weights_path else []),
        "",
        "",
        *custom_layers(stack),
        "def build_model() -> keras.Model:",
        *(f"{INDENT}{line}" for line in body),
        f"{INDENT}model = keras.Model({INPUT_VARIABLE}, {model_outputs(walk.outputs)}, name={literal(identifier(stack.name))})",
        *([f"{INDENT}load_weights(model)"] if weights_path else []),
        f"{INDENT}return model",
        "",
        *(weights_loader(weight_keys) if weights_path else []),
        "",
        'if __name__ == "__main__":',
        f"{INDENT}build_model().summary()",
    ]
    return "\n".join(parts) + "\n"


def weights_loader(weight_keys: dict[str, tuple[str, ...]]) -> list[str]:
    entries = [f"{INDENT}{literal(name)}: {literal(keys)}," for name, keys in weight_keys.items()]
    return [
        "",
        "# layer name -> the .npz keys of its weights, in Keras's order",
        "WEIGHT_KEYS = {",
        *entries,
        "}",
        "",
        "",
        "def load_weights(model: keras.Model, path: Path = WEIGHTS_FILE) -> None:",
        f'{INDENT}"""Set every layer\'s weights from convtui\'s .npz (keys layers.{{index}}.{{name}}, Keras layouts)."""',
        f"{INDENT}with np.load(path) as arrays:",
        f"{INDENT * 2}for name, keys in WEIGHT_KEYS.items():",
        f"{INDENT * 3}model.get_layer(name).set_weights([arrays[key] for key in keys])",
        "",
    ]
