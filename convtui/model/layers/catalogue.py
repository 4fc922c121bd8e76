"""The catalogue: every layer type by its Keras name, and layers to and from preset tables.

Each family's module loads when one of its types is first named (`layer_class`, or an attribute
of `convtui.model.layers`): building a layer dataclass costs about 0.5 ms, so opening the seed
net, which needs the four convolutions of 30 types, starts about 14 ms sooner.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import MISSING, fields
from importlib import import_module
from typing import Any

from convtui.errors import LayerConfigError
from convtui.model import arguments as args
from convtui.model.keras_only import keras_only_message
from convtui.model.layers.base import Layer

FAMILY_OF_TYPE: dict[str, str] = {
    "Conv2D": "convolution",
    "DepthwiseConv2D": "convolution",
    "SeparableConv2D": "convolution",
    "Conv2DTranspose": "convolution",
    "MaxPooling2D": "pooling",
    "AveragePooling2D": "pooling",
    "GlobalAveragePooling2D": "pooling",
    "GlobalMaxPooling2D": "pooling",
    "BatchNormalization": "normalization",
    "Dense": "core",
    "Flatten": "reshaping",
    "Dropout": "core",
    "Activation": "activation",
    "ReLU": "activation",
    "ZeroPadding2D": "reshaping",
    "UpSampling2D": "reshaping",
    "Add": "merging",
    "Subtract": "merging",
    "Multiply": "merging",
    "Average": "merging",
    "Maximum": "merging",
    "Minimum": "merging",
    "Concatenate": "merging",
    "Rescaling": "normalization",
    "Normalization": "normalization",
    "LayerNormalization": "normalization",
    "Reshape": "reshaping",
    "Cropping2D": "reshaping",
    "Identity": "core",
    "LayerScale": "core",
}
"""Every layer type's Keras name (its class's name too), in the layer picker's order, and the module of its family."""


def type_key(name: str) -> str:
    """Case- and underscore-insensitive key: "max_pooling2d" and "MaxPooling2D" are one type."""
    return name.lower().replace("_", "")


def layer_class(type_name: str) -> type[Layer]:
    """The class of a type in FAMILY_OF_TYPE, its family's module loaded if it was not yet."""
    return getattr(import_module(f"convtui.model.layers.{FAMILY_OF_TYPE[type_name]}"), type_name)  # type: ignore[no-any-return]


@functools.cache
def layer_types() -> tuple[type[Layer], ...]:
    """Every layer type (LAYER_TYPES), every family loaded."""
    return tuple(layer_class(name) for name in FAMILY_OF_TYPE)


def __getattr__(name: str) -> Any:
    """LAYER_TYPES, built when first asked for (PEP 562)."""
    if name == "LAYER_TYPES":
        return layer_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_NAMES_BY_KEY: dict[str, str] = {type_key(name): name for name in FAMILY_OF_TYPE}


@functools.cache
def _types_by_key() -> dict[str, type[Layer]]:
    """Every type by the key of its name and of each alias ("Convolution2D", "MaxPool2D")."""
    return {type_key(name): layer_type for layer_type in layer_types() for name in (layer_type.type_name, *layer_type.aliases)}


def layer_type_named(name: object) -> type[Layer]:
    """The layer class for a Keras type name or alias; a LayerConfigError with a suggestion otherwise."""
    if not isinstance(name, str):
        raise LayerConfigError(f"expected a layer type name, found {args.describe(name)}", field_name="type")
    key = type_key(name)
    found = layer_class(_NAMES_BY_KEY[key]) if key in _NAMES_BY_KEY else _types_by_key().get(key)
    if found is None:
        guesses = difflib.get_close_matches(key, _types_by_key(), n=1, cutoff=0.6)
        hint = f'did you mean "{_types_by_key()[guesses[0]].type_name}"? ' if guesses else ""
        known = ", ".join(FAMILY_OF_TYPE)
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
            raise LayerConfigError(unknown_argument_message(key, layer_type, known), layer_type=layer_type.type_name, field_name=key)
    for name in required_argument_names(layer_type):
        if name not in config:
            raise LayerConfigError(
                f"missing; {layer_type.type_name} needs {', '.join(required_argument_names(layer_type))}",
                layer_type=layer_type.type_name,
                field_name=name,
            )
    return layer_type(**{key: value for key, value in config.items() if key != "type"})


def unknown_argument_message(key: str, layer_type: type[Layer], known: list[str]) -> str:
    """A Keras argument convtui does not support says so; a typo gets the argument it meant."""
    keras_only = keras_only_message(key, layer_type.type_name)
    if keras_only is not None:
        return keras_only
    guesses = difflib.get_close_matches(key, known, n=1)
    hint = f'did you mean "{guesses[0]}"?' if guesses else f"{layer_type.type_name} takes: {', '.join(known) or 'no arguments'}"
    return f'unknown argument "{key}"; {hint}'


def layer_to_config(layer: Layer) -> dict[str, Any]:
    """The preset table of a layer: its type and the arguments that differ from the defaults."""
    sequences = {spec.name for spec in fields(layer) if spec.metadata.get("sequence")}
    arguments = layer.changed_arguments()
    return {"type": layer.type_name, **{key: as_list(value) if key in sequences else value for key, value in arguments.items()}}


def as_list(value: Any) -> Any:
    """A sequence argument as a list, which the preset writer keeps whole; TOML has no null, so Keras's None is "None"."""
    return ["None" if item is None else item for item in value] if isinstance(value, tuple) else value
