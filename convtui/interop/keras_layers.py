"""One Keras layer config to one convtui layer: same argument names, Keras's defaults dropped.

A Keras argument is either one of the convtui layer's own (copied), one that does not change
inference (names, dtypes, regularisers, initialisers but a known kernel one...: dropped), one
whose value must be neutral (channels_last, axis -1...), or a reason the layer cannot come.
A few Keras layers outside the catalogue compute exactly what a catalogue layer computes
(LeakyReLU, Softmax, ELU, SpatialDropout2D) and come as that, with a note; so do Keras 3's
tensor operations (`x + 3.0` as Rescaling, `inputs + x` as Add, `-x` as Rescaling(-1),
`keras.ops.relu(x)` as Activation("relu"), `maximum(x, 0)` as ReLU()).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from convtui.errors import ConvtuiError, LayerConfigError
from convtui.interop.keras_graph import KerasLayer, to_snake_case
from convtui.model.arguments import KERNEL_INITIALIZERS, describe_plain
from convtui.model.layers import Layer, argument_names, layer_from_config, layer_type_named

DROPPED_ARGUMENTS = frozenset(
    {"name", "trainable", "dtype", "seed", "noise_shape", "synchronized", "renorm_momentum", "renorm_clipping"}
    | {"batch_input_shape", "batch_shape"}  # the input shape, read by keras_graph
)
DROPPED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
INITIALIZER_KEYS = ("kernel_initializer", "depthwise_initializer")
"""Keras's names of the initialiser convtui calls kernel_initializer (pointwise_initializer is dropped)."""

NEUTRAL_VALUES: dict[str, tuple[Any, ...]] = {
    "data_format": ("channels_last", None),
    "axis": (-1, 3, (-1,), (3,)),
    "dilation_rate": ((1, 1), 1),  # only for layers where convtui has no dilation_rate (Conv2DTranspose)
    "output_padding": (None,),
    "renorm": (False,),
}
NOT_NEUTRAL_HINTS = {
    "data_format": "convtui computes channels_last (height, width, channels); rebuild the model with channels_last",
}


@dataclass(frozen=True)
class Translation:
    """The convtui layer (None when it cannot come), why not, and what the user should know."""

    layer: Layer | None
    reasons: tuple[str, ...] = ()
    note: str | None = None


def as_tuples(value: Any) -> Any:
    """JSON lists as tuples, so [1, 1] compares equal to (1, 1)."""
    return tuple(as_tuples(item) for item in value) if isinstance(value, list) else value


def initializer_name(value: Any) -> str | None:
    """"glorot_uniform" for "GlorotUniform" / {"class_name": "GlorotUniform", ...}; None when convtui does not know it."""
    name = value.get("class_name") if isinstance(value, dict) else value
    if not isinstance(name, str):
        return None
    snake = "".join(f"_{char.lower()}" if char.isupper() else char for char in name).lstrip("_")
    return snake if snake in KERNEL_INITIALIZERS else None


def activation_value(value: Any) -> Any:
    """Keras writes built-in activations by name; a dict is a custom function (kept, so the check names it)."""
    if isinstance(value, dict) and isinstance(value.get("config"), str):
        return value["config"]
    return value


def neutral(key: str, value: Any) -> bool:
    if key in NEUTRAL_VALUES:
        return as_tuples(value) in NEUTRAL_VALUES[key]
    return value is None or value is False or key in DROPPED_ARGUMENTS or key.endswith(DROPPED_SUFFIXES)


def catalogue_arguments(layer_type: type[Layer], config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The convtui table of a catalogue layer and the reasons it cannot come."""
    known = argument_names(layer_type)
    table: dict[str, Any] = {"type": layer_type.type_name}
    reasons = []
    for key, value in config.items():
        if key in INITIALIZER_KEYS and "kernel_initializer" in known:
            if initializer_name(value) is not None:
                table["kernel_initializer"] = initializer_name(value)
        elif key == "activation" and key in known:
            table[key] = activation_value(value)
        elif key in known:
            table[key] = as_tuples(value)
        elif not neutral(key, value):
            hint = NOT_NEUTRAL_HINTS.get(key, "convtui does not model it")
            reasons.append(f"{key} = {describe_plain(as_tuples(value))} is not supported: {hint}")
    return tidy(table), reasons


def tidy(table: dict[str, Any]) -> dict[str, Any]:
    """Keras's spelled-out defaults, written as convtui's: activation "linear" on a layer is none, pool strides = pool_size."""
    if table.get("activation") == "linear" and table["type"] != "Activation":
        del table["activation"]
    if table["type"] in ("MaxPooling2D", "AveragePooling2D") and table.get("strides") == table.get("pool_size", (2, 2)):
        table.pop("strides", None)
    return table


# --- Keras layers that are exactly a catalogue layer ----------------------------------------

Equivalent = Callable[[Mapping[str, Any]], tuple[dict[str, Any] | None, str]]


def leaky_relu(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    if not isinstance(slope, (int, float)) or not 0 <= slope <= 1:
        return None, f"negative_slope = {slope} is not supported; convtui's ReLU equals LeakyReLU for slopes from 0 to 1"
    return {"type": "ReLU", "negative_slope": slope}, f"imported as ReLU(negative_slope={slope:g}), which computes the same"


def softmax(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if as_tuples(config.get("axis", -1)) not in (-1, (-1,)):
        return None, f"softmax over axis {config.get('axis')} is not supported; convtui's softmax is on the last axis"
    return {"type": "Activation", "activation": "softmax"}, 'imported as Activation("softmax")'


def elu(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if config.get("alpha", 1.0) != 1.0:
        return None, f"alpha = {config.get('alpha')} is not supported; convtui's elu has alpha 1"
    return {"type": "Activation", "activation": "elu"}, 'imported as Activation("elu")'


def spatial_dropout(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if not neutral("data_format", config.get("data_format")):
        return None, f"data_format = \"channels_first\" is not supported: {NOT_NEUTRAL_HINTS['data_format']}"
    return {"type": "Dropout", "rate": config.get("rate")}, "imported as Dropout: both do nothing at inference"


EQUIVALENTS: dict[str, Equivalent] = {
    "LeakyReLU": leaky_relu,
    "Softmax": softmax,
    "ELU": elu,
    "SpatialDropout2D": spatial_dropout,
}


OPAQUE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")
"""Layers that hold Python code, which a saved config does not carry."""


def translate(class_name: str, config: Mapping[str, Any]) -> Translation:
    """The convtui layer for one Keras layer, or every reason it cannot be one."""
    note = None
    if class_name in OPAQUE_LAYERS:
        return Translation(None, (f"a {class_name} layer runs Python code the file does not hold; rebuild that step from catalogue layers",))
    if class_name in EQUIVALENTS:
        table, message = EQUIVALENTS[class_name](config)
        if table is None:
            return Translation(None, (message,))
        note = message
    else:
        try:
            layer_type = layer_type_named(class_name)
        except LayerConfigError:
            return Translation(None, ("not in convtui's catalogue",))
        table, reasons = catalogue_arguments(layer_type, config)
        if reasons:
            return Translation(None, tuple(reasons))
    return built(table, note)


def built(table: dict[str, Any], note: str | None = None) -> Translation:
    try:
        return Translation(layer_from_config(table), (), note)
    except ConvtuiError as error:
        return Translation(None, (f"{error.field_name or 'argument'}: {error.message}",))


def translate_layer(keras_layer: KerasLayer) -> Translation:
    """A node of the graph: an operation by its arguments and options, a layer by its config."""
    if keras_layer.is_operation:
        return translate_operation(keras_layer.class_name, keras_layer.arguments, keras_layer.config)
    return translate(keras_layer.class_name, keras_layer.config)


# --- Keras 3 operations ---------------------------------------------------------------------

Constant = float | tuple[float, ...]

OPERATION_MERGES = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply", "Maximum": "Maximum", "Minimum": "Minimum"}
"""Keras 3 operations between tensors that are a catalogue merge (ops.numpy.Add is layers.Add)."""
OPERATION_SYMBOLS = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "TrueDivide": "/"}
OPERATION_OPTION_DEFAULTS: dict[str, Any] = {"alpha": 1.0, "approximate": True, "axis": -1, "b": 4, "negative_slope": 0.2, "threshold": 0.5}
"""Keras 3's defaults of its activation operations' options (keras/src/ops/nn.py), for a config that leaves one out."""


def activation_operation(activation: str, **exact: Any) -> Equivalent:
    """An operation that is Activation(activation) when its options have the `exact` values (Keras's
    ops.gelu is the tanh form unless approximate=False; convtui's "gelu" is the exact one)."""

    def equivalent(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        for key, value in exact.items():
            if as_tuples(config.get(key)) != value:
                found = describe_plain(as_tuples(config.get(key)))
                return None, f"{key} = {found} is not supported; convtui's {activation} is Keras's with {key} = {describe_plain(value)}"
        return {"type": "Activation", "activation": activation}, f'imported as Activation("{activation}"), which computes the same'

    return equivalent


def negative(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    return {"type": "Rescaling", "scale": -1.0, "offset": 0.0}, "imported as Rescaling(scale=-1, offset=0), which computes the same"


ONE_TENSOR_OPERATIONS: dict[str, Equivalent] = {
    "Negative": negative,
    "Relu": activation_operation("relu"),
    "Relu6": activation_operation("relu6"),
    "LeakyRelu": leaky_relu,
    "Elu": elu,
    "Selu": activation_operation("selu"),
    "Celu": activation_operation("celu", alpha=1.0),
    "Gelu": activation_operation("gelu", approximate=False),
    "Sigmoid": activation_operation("sigmoid"),
    "HardSigmoid": activation_operation("hard_sigmoid"),
    "SparseSigmoid": activation_operation("sparse_sigmoid"),
    "LogSigmoid": activation_operation("log_sigmoid"),
    "Silu": activation_operation("silu"),  # ops.swish too
    "HardSilu": activation_operation("hard_silu"),  # ops.hard_swish too
    "Tanh": activation_operation("tanh"),
    "HardTanh": activation_operation("hard_tanh"),
    "TanhShrink": activation_operation("tanh_shrink"),
    "HardShrink": activation_operation("hard_shrink", threshold=0.5),
    "SoftShrink": activation_operation("soft_shrink", threshold=0.5),
    "Softplus": activation_operation("softplus"),
    "SparsePlus": activation_operation("sparse_plus"),
    "Squareplus": activation_operation("squareplus", b=4),
    "Softsign": activation_operation("softsign"),
    "Softmax": softmax,
    "LogSoftmax": activation_operation("log_softmax", axis=-1),
    "Exp": activation_operation("exponential"),
}
"""Keras 3 operations on one tensor (keras.ops.relu(x), -x) that a catalogue layer computes exactly."""


def translate_operation(class_name: str, arguments: tuple[str | Constant, ...], config: Mapping[str, Any] | None = None) -> Translation:
    """The catalogue layer an operation is, with a note naming both, or why it cannot be one; `config`
    holds the operation's options (softmax's axis, gelu's approximate)."""
    table, message = operation_equivalent(class_name, arguments, {**OPERATION_OPTION_DEFAULTS, **(config or {})})
    if table is None:
        return Translation(None, (message,))
    return built(table, f"the operation {written(class_name, arguments)} {message}")


def operation_equivalent(class_name: str, arguments: tuple[str | Constant, ...], config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The layer's table and "imported as ...", or None and the reason: an activation or -x of one tensor,
    a merge of two, a tensor and a number as Rescaling or ReLU."""
    tensors = [argument for argument in arguments if isinstance(argument, str)]
    constants = [argument for argument in arguments if not isinstance(argument, str)]
    if len(arguments) == 1 and tensors and class_name in ONE_TENSOR_OPERATIONS:
        return ONE_TENSOR_OPERATIONS[class_name](config)
    if len(arguments) == 2 and len(tensors) == 2 and class_name in OPERATION_MERGES:
        return imported_as({"type": OPERATION_MERGES[class_name]})
    if len(arguments) == 2 and len(tensors) == 1:
        table = with_constant(class_name, constants[0], constant_first=isinstance(arguments[1], str))
        if table is not None:
            return imported_as(table, rounding=OPERATION_SYMBOLS.get(class_name) == "/")
    shown = ", ".join(argument if isinstance(argument, str) else constant_text(argument) for argument in arguments)
    return None, (
        f"the operation {class_name}({shown}) is not in convtui's catalogue; convtui imports +, -, *, maximum and minimum"
        " between two tensors, +, -, *, x / c, maximum(x, 0) and minimum(x, c >= 0) with a number, -x and the activations"
        " of its catalogue (keras.ops.relu, sigmoid, softmax, ...): write the rest as Keras layers"
    )


def imported_as(table: dict[str, Any], rounding: bool = False) -> tuple[dict[str, Any], str]:
    """x / c is x * (1 / c): equal up to float32 rounding, and the note says so."""
    return table, f"imported as {call_text(table)}, which computes the same{' up to float32 rounding' if rounding else ''}"


def with_constant(class_name: str, constant: Constant, constant_first: bool) -> dict[str, Any] | None:
    """The layer for `x op c` (or `c op x`); None when no catalogue layer computes it exactly."""
    if class_name in ("Maximum", "Minimum"):
        return clamp(class_name, constant)
    if class_name not in OPERATION_SYMBOLS:
        return None
    scaling = rescaling(class_name, constant, constant_first)
    return None if scaling is None else {"type": "Rescaling", **scaling}


def clamp(class_name: str, constant: Constant) -> dict[str, Any] | None:
    """maximum(x, 0) is ReLU(); minimum(x, c) for c >= 0 is ReLU(max_value=c, negative_slope=1), which
    Keras computes as clip(relu(x), 0, c) - relu(-x): c above c, x below. Other constants are no ReLU."""
    if isinstance(constant, tuple):
        return None
    if class_name == "Maximum" and constant == 0:
        return {"type": "ReLU"}
    if class_name == "Minimum" and constant >= 0:
        return {"type": "ReLU", "max_value": constant, "negative_slope": 1.0}
    return None


def rescaling(class_name: str, constant: Constant, constant_first: bool) -> dict[str, Constant] | None:
    """Rescaling's scale and offset for `x op c` (or `c op x`); None when it is not x * scale + offset."""
    values = constant if isinstance(constant, tuple) else (constant,)
    if class_name == "Add":
        return {"scale": 1.0, "offset": constant}
    if class_name == "Multiply":
        return {"scale": constant, "offset": 0.0}
    if class_name == "Subtract":
        negated = tuple(-value for value in values)
        return {"scale": -1.0, "offset": constant} if constant_first else {"scale": 1.0, "offset": same_form(negated, constant)}
    if constant_first or 0.0 in values:  # c / x is not linear in x; x / 0 is no scale
        return None
    return {"scale": same_form(tuple(1.0 / value for value in values), constant), "offset": 0.0}


def written(class_name: str, arguments: tuple[str | Constant, ...]) -> str:
    """The operation as its note writes it, the same for every node it applies to (notes are grouped by
    text): a + b, x + 3, 1 - x, -x, maximum(x, 0), relu(x)."""
    names = iter(("a", "b") if sum(isinstance(argument, str) for argument in arguments) == 2 else ("x",))
    operands = [next(names) if isinstance(argument, str) else constant_text(argument) for argument in arguments]
    if class_name == "Negative":
        return "-x"
    if class_name in OPERATION_SYMBOLS and len(operands) == 2:
        return f"{operands[0]} {OPERATION_SYMBOLS[class_name]} {operands[1]}"
    return f"{to_snake_case(class_name)}({', '.join(operands)})"


def call_text(table: Mapping[str, Any]) -> str:
    """The layer as a Keras user writes it: Add(), ReLU(max_value=6, negative_slope=1), Rescaling(scale=1, offset=3)."""
    arguments = ", ".join(f"{key}={constant_text(value)}" for key, value in table.items() if key != "type")
    return f"{table['type']}({arguments})"


def same_form(values: tuple[float, ...], like: Constant) -> Constant:
    return values if isinstance(like, tuple) else values[0]


def constant_text(value: Constant) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{item:.6g}" for item in value) + "]"
    return f"{value:.6g}"
