"""The catalogue: every layer type by its Keras name, and layers to and from preset tables."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from convtui.errors import LayerConfigError
from convtui.model import arguments as args
from convtui.model.layers.activation import Activation, ReLU
from convtui.model.layers.base import Layer
from convtui.model.layers.convolution import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from convtui.model.layers.core import Dense, Dropout, Identity, LayerScale
from convtui.model.layers.merging import MERGE_TYPES
from convtui.model.layers.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
from convtui.model.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from convtui.model.layers.reshaping import Cropping2D, Flatten, Reshape, UpSampling2D, ZeroPadding2D

LAYER_TYPES: tuple[type[Layer], ...] = (
    Conv2D,
    DepthwiseConv2D,
    SeparableConv2D,
    Conv2DTranspose,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    Dense,
    Flatten,
    Dropout,
    Activation,
    ReLU,
    ZeroPadding2D,
    UpSampling2D,
    *MERGE_TYPES,
    Rescaling,
    Normalization,
    LayerNormalization,
    Reshape,
    Cropping2D,
    Identity,
    LayerScale,
)


def type_key(name: str) -> str:
    """Case- and underscore-insensitive key: "max_pooling2d" and "MaxPooling2D" are one type."""
    return name.lower().replace("_", "")


_TYPES_BY_KEY: dict[str, type[Layer]] = {
    type_key(name): layer_type for layer_type in LAYER_TYPES for name in (layer_type.type_name, *layer_type.aliases)
}


def layer_type_named(name: object) -> type[Layer]:
    """The layer class for a Keras type name or alias; a LayerConfigError with a suggestion otherwise."""
    if not isinstance(name, str):
        raise LayerConfigError(f"expected a layer type name, found {args.describe(name)}", field_name="type")
    found = _TYPES_BY_KEY.get(type_key(name))
    if found is None:
        guesses = difflib.get_close_matches(type_key(name), _TYPES_BY_KEY, n=1, cutoff=0.6)
        hint = f'did you mean "{_TYPES_BY_KEY[guesses[0]].type_name}"? ' if guesses else ""
        known = ", ".join(layer_type.type_name for layer_type in LAYER_TYPES)
        raise LayerConfigError(f'unknown layer type "{name}"; {hint}known types: {known}', field_name="type")
    return found


def argument_names(layer_type: type[Layer]) -> list[str]:
    return [spec.name for spec in fields(layer_type)]


def required_argument_names(layer_type: type[Layer]) -> list[str]:
    return [spec.name for spec in fields(layer_type) if spec.default is MISSING]


def layer_from_config(config: Mapping[str, Any]) -> Layer:
    """Build a layer from a preset table: `type` plus Keras arguments; unknown keys are errors."""
    layer_type = layer_type_named(config.get("type"))
    known = argument_names(layer_type)
    for key in config:
        if key != "type" and key not in known:
            guesses = difflib.get_close_matches(key, known, n=1)
            hint = f'did you mean "{guesses[0]}"?' if guesses else f"{layer_type.type_name} takes: {', '.join(known) or 'no arguments'}"
            raise LayerConfigError(f'unknown argument "{key}"; {hint}', layer_type=layer_type.type_name, field_name=key)
    for name in required_argument_names(layer_type):
        if name not in config:
            raise LayerConfigError(
                f"missing; {layer_type.type_name} needs {', '.join(required_argument_names(layer_type))}",
                layer_type=layer_type.type_name,
                field_name=name,
            )
    return layer_type(**{key: value for key, value in config.items() if key != "type"})


def layer_to_config(layer: Layer) -> dict[str, Any]:
    """The preset table of a layer: its type and the arguments that differ from the defaults."""
    sequences = {spec.name for spec in fields(layer) if spec.metadata.get("sequence")}
    arguments = layer.changed_arguments()
    return {"type": layer.type_name, **{key: as_list(value) if key in sequences else value for key, value in arguments.items()}}


def as_list(value: Any) -> Any:
    """A sequence argument as a list, which the preset writer keeps whole; TOML has no null, so Keras's None is "None"."""
    return ["None" if item is None else item for item in value] if isinstance(value, tuple) else value
