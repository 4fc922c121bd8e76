"""Normalization layers: BatchNormalization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, WeightInfo, argument

@dataclass(frozen=True)
class BatchNormalization(Layer):
    type_name: ClassVar[str] = "BatchNormalization"
    description: ClassVar[str] = "normalises each channel with its moving mean and variance, then scales and shifts"

    epsilon: float = argument(args.number_in(0.0, 1.0), 0.001, help="added to the variance")
    momentum: float = argument(args.number_in(0.0, 1.0, include_maximum=True), 0.99, help="training only")
    center: bool = argument(args.boolean, True, help="learn the shift beta")
    scale: bool = argument(args.boolean, True, help="learn the scale gamma")

    def infer(self, input_shape: Shape) -> Inference:
        channels = input_shape[-1]
        learned = [WeightInfo("gamma", (channels,))] if self.scale else []
        if self.center:
            learned.append(WeightInfo("beta", (channels,)))
        statistics = (WeightInfo("moving_mean", (channels,), False), WeightInfo("moving_variance", (channels,), False))
        return Inference(input_shape, (*learned, *statistics), 0, None)
