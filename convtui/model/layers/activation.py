"""Activation layers: Activation and ReLU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, argument, mixing_window

LAST_AXIS_ACTIVATIONS = ("softmax", "log_softmax")
"""Activations whose every output depends on all the values of the last axis."""

@dataclass(frozen=True)
class Activation(Layer):
    type_name: ClassVar[str] = "Activation"
    description: ClassVar[str] = "applies a function to every value"

    activation: str = argument(args.required_activation, help="the function")

    def infer(self, input_shape: Shape) -> Inference:
        """Softmax over a flattened vector mixes every position; any other activation is pixel-wise."""
        mixes = self.activation in LAST_AXIS_ACTIVATIONS
        return Inference(input_shape, window=mixing_window(input_shape, (len(input_shape) - 1,)) if mixes else None)

    def summary_parts(self) -> list[str]:
        return [self.activation]


@dataclass(frozen=True)
class ReLU(Layer):
    type_name: ClassVar[str] = "ReLU"
    description: ClassVar[str] = "max(x, 0), optionally capped at max_value and leaky below threshold"

    max_value: float | None = argument(args.optional_number(0.0, 1e30), None, help="cap (6 gives ReLU6)")
    negative_slope: float = argument(args.number_in(0.0, 1e30), 0.0, help="slope below threshold")
    threshold: float = argument(args.number_in(0.0, 1e30), 0.0, help="values below are zeroed or leaked")

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        parts = [f"max {self.max_value:g}"] if self.max_value is not None else []
        if self.negative_slope:
            parts.append(f"slope {self.negative_slope:g}")
        if self.threshold:
            parts.append(f"threshold {self.threshold:g}")
        return parts
