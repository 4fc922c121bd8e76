"""The layer catalogue, one module per family as Keras lays out keras/src/layers/.

`from convtui.model.layers import Conv2D` and `layers.LAYER_TYPES` work for every type; the
families are base (what every layer shares), convolution, pooling, merging, normalization,
reshaping, activation and core; `catalogue` maps Keras type names to classes. A family's module
loads when one of its names is first used (see catalogue.py for why).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from convtui.model.layers.base import (
    GLOBAL_WINDOW,
    RELAYOUT_WINDOW,
    Inference,
    Layer,
    Shape,
    WeightInfo,
    Window,
    argument,
    normalised_default,
    require_image,
    size_text,
)
from convtui.model.layers.catalogue import (
    FAMILY_OF_TYPE,
    argument_names,
    layer_class,
    layer_from_config,
    layer_to_config,
    layer_type_named,
    layer_types,
    required_argument_names,
    type_key,
)

if TYPE_CHECKING:  # loaded on first use (__getattr__); named here for type checkers
    from convtui.model.layers.activation import Activation, ReLU
    from convtui.model.layers.catalogue import LAYER_TYPES
    from convtui.model.layers.convolution import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
    from convtui.model.layers.core import Dense, Dropout, Identity, LayerScale
    from convtui.model.layers.merging import (
        MERGE_TYPES,
        Add,
        Average,
        Concatenate,
        ElementwiseMerge,
        Maximum,
        Minimum,
        Multiply,
        Subtract,
        broadcast_shapes,
    )
    from convtui.model.layers.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
    from convtui.model.layers.pooling import (
        AveragePooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        GlobalPooling2D,
        MaxPooling2D,
        Pooling2D,
    )
    from convtui.model.layers.reshaping import Cropping2D, Flatten, Reshape, UpSampling2D, ZeroPadding2D

FAMILY_OF_HELPER: dict[str, str] = {
    "MERGE_TYPES": "merging",
    "ElementwiseMerge": "merging",
    "broadcast_shapes": "merging",
    "GlobalPooling2D": "pooling",
    "Pooling2D": "pooling",
}
"""The families' other public names: base classes and what the model and engine share."""


def __getattr__(name: str) -> Any:
    """A layer type or family helper, its family's module loaded on first use (see catalogue.py); LAYER_TYPES."""
    if name == "LAYER_TYPES":
        return layer_types()
    family = FAMILY_OF_TYPE.get(name) or FAMILY_OF_HELPER.get(name)
    if family is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{family}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Reshape",
    "Rescaling",
    "Normalization",
    "LayerScale",
    "LayerNormalization",
    "Identity",
    "Cropping2D",
    "MERGE_TYPES",
    "Add",
    "Average",
    "Concatenate",
    "ElementwiseMerge",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "broadcast_shapes",
    "GLOBAL_WINDOW",
    "RELAYOUT_WINDOW",
    "LAYER_TYPES",
    "Activation",
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "GlobalPooling2D",
    "Inference",
    "Layer",
    "MaxPooling2D",
    "Pooling2D",
    "ReLU",
    "SeparableConv2D",
    "Shape",
    "UpSampling2D",
    "WeightInfo",
    "Window",
    "ZeroPadding2D",
    "argument",
    "argument_names",
    "FAMILY_OF_TYPE",
    "layer_class",
    "layer_types",
    "layer_from_config",
    "layer_to_config",
    "layer_type_named",
    "normalised_default",
    "required_argument_names",
    "type_key",
    "require_image",
    "size_text",
]
