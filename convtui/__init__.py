"""convtui: build a convolutional network, see every shape, weight and cost, run it on an image.

The model (shapes, parameters, presets) imports nothing heavy; the engine (numpy) is loaded
only when one of its functions (`forward`, `initial_weights`, `preset_weights`, ...) is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convtui.startup import collection_paused

with collection_paused():  # see startup.py
    from convtui.errors import ConvtuiError, EngineError, LayerConfigError, PresetError, ShapeError
    from convtui.model import Layer, LayerInfo, LayerNotFound, Stack, StackInfo, builtin_preset_names, load_preset, save_preset

if TYPE_CHECKING:
    from convtui.model.layers import LAYER_TYPES

__version__ = "0.1.0"

_ENGINE_NAMES = {"forward", "initial_weights", "load_image", "load_weights", "preset_weights"}


def infer(stack: Stack) -> StackInfo:
    """Propagate shapes, weights and costs through a stack (the same as `stack.infer()`)."""
    return stack.infer()


def __getattr__(name: str) -> Any:
    """The engine's functions (numpy loads with them) and LAYER_TYPES (every layer family), on first use."""
    if name == "LAYER_TYPES":
        from convtui.model import layers

        return layers.LAYER_TYPES
    if name in _ENGINE_NAMES:
        from convtui import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'convtui' has no attribute {name!r}")


__all__ = [
    "ConvtuiError",
    "EngineError",
    "LAYER_TYPES",
    "Layer",
    "LayerConfigError",
    "LayerInfo",
    "LayerNotFound",
    "PresetError",
    "ShapeError",
    "Stack",
    "StackInfo",
    "builtin_preset_names",
    "infer",
    "load_preset",
    "save_preset",
    *sorted(_ENGINE_NAMES),
]
