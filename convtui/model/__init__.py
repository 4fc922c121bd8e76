"""The arithmetic of a layer stack: pure Python, no numpy, rich or textual, so it stays instant."""

from convtui.model.convention import CONVENTIONS, Convention, display_shape, display_weight
from convtui.model.layers import LAYER_TYPES, Layer, WeightInfo, layer_from_config, layer_to_config, layer_type_named
from convtui.model.preset import builtin_preset_names, load_preset, parse_preset, preset_text, save_preset
from convtui.model.stack import LayerInfo, ReceptiveField, Stack, StackInfo

__all__ = [
    "CONVENTIONS",
    "Convention",
    "LAYER_TYPES",
    "Layer",
    "LayerInfo",
    "ReceptiveField",
    "Stack",
    "StackInfo",
    "WeightInfo",
    "builtin_preset_names",
    "display_shape",
    "display_weight",
    "layer_from_config",
    "layer_to_config",
    "layer_type_named",
    "load_preset",
    "parse_preset",
    "preset_text",
    "save_preset",
]
