"""The arithmetic of a layer stack: pure Python, no numpy, rich or textual, so it stays instant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convtui.model.convention import CONVENTIONS, Convention, display_shape, display_weight
from convtui.model.layers import Layer, WeightInfo, layer_from_config, layer_to_config, layer_type_named
from convtui.model.preset import builtin_preset_names, load_preset, parse_preset, preset_text, save_preset
from convtui.model.stack import LayerInfo, LayerNotFound, ReceptiveField, Stack, StackInfo

if TYPE_CHECKING:
    from convtui.model.layers import LAYER_TYPES


def __getattr__(name: str) -> Any:
    """LAYER_TYPES, with every layer family loaded, only when asked for (see layers/catalogue.py)."""
    if name == "LAYER_TYPES":
        from convtui.model.layers import layer_types

        return layer_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONVENTIONS",
    "Convention",
    "LAYER_TYPES",
    "Layer",
    "LayerInfo",
    "LayerNotFound",
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
