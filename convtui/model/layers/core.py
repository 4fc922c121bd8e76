"""Core layers: Dense, and Dropout (which does nothing at inference)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, WeightInfo, argument, bias_weights

@dataclass(frozen=True)
class Dense(Layer):
    type_name: ClassVar[str] = "Dense"
    description: ClassVar[str] = "every output unit is a weighted sum of all inputs (on the last axis)"

    units: int = argument(args.positive_int, help="number of output units")
    use_bias: bool = argument(args.boolean, True, help="add one bias per unit")
    activation: str | None = argument(args.activation, None, help="applied to the output")
    kernel_initializer: str = argument(args.kernel_initializer, "glorot_uniform", help="initial weights")

    def check(self) -> None:
        if self.kernel_initializer == "edges":
            raise self.fail("kernel_initializer", '"edges" is a bank of image filters, for convolutions only')

    def infer(self, input_shape: Shape) -> Inference:
        features = input_shape[-1]
        kernel = (features, self.units)
        macs = math.prod(input_shape[:-1]) * features * self.units
        weights = (WeightInfo("kernel", kernel), *bias_weights(self.use_bias, self.units))
        return Inference((*input_shape[:-1], self.units), weights, macs, None)

    def summary_parts(self) -> list[str]:
        parts = [str(self.units)]
        if self.activation:
            parts.append(self.activation)
        if not self.use_bias:
            parts.append("no bias")
        return parts


@dataclass(frozen=True)
class Dropout(Layer):
    type_name: ClassVar[str] = "Dropout"
    description: ClassVar[str] = "zeroes a random fraction of values while training; does nothing at inference"

    rate: float = argument(args.number_in(0.0, 1.0), help="fraction dropped while training")

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        return [f"{self.rate:g}"]
