"""One Keras layer config to one convtui layer: same argument names, Keras's defaults dropped.

A Keras argument is either one of the convtui layer's own (copied), one that does not change
inference (names, dtypes, regularisers, initialisers but a known kernel one...: dropped), one
whose value must be neutral (channels_last, axis -1...), or a reason the layer cannot come.
A few Keras layers outside the catalogue compute exactly what a catalogue layer computes
(LeakyReLU, Softmax, ELU, SpatialDropout2D, Reshape to a vector) and come as that, with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from convtui.errors import ConvtuiError, LayerConfigError
from convtui.interop.python_source import literal
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


def reshape(config: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    target = as_tuples(config.get("target_shape"))
    if not (isinstance(target, tuple) and len(target) == 1):
        return None, f"Reshape to {literal(target)} is not supported; only a reshape to a vector (= Flatten) is"
    return {"type": "Flatten"}, f"Reshape({literal(target)}) imported as Flatten: a channels_last map reshaped to a vector is Flatten"


EQUIVALENTS: dict[str, Equivalent] = {
    "LeakyReLU": leaky_relu,
    "Softmax": softmax,
    "ELU": elu,
    "SpatialDropout2D": spatial_dropout,
    "Reshape": reshape,
}


def translate(class_name: str, config: Mapping[str, Any]) -> Translation:
    """The convtui layer for one Keras layer, or every reason it cannot be one."""
    note = None
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
    try:
        return Translation(layer_from_config(table), (), note)
    except ConvtuiError as error:
        return Translation(None, (f"{error.field_name or 'argument'}: {error.message}",))
