"""Core layers: Dense, Identity, ConvNeXt's LayerScale, and Dropout (which does nothing at inference)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, WeightInfo, argument, bias_weights, mixing_window

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
        """Each unit sums the last axis: a pixel's channels on a map, every position of a flattened vector."""
        features = input_shape[-1]
        kernel = (features, self.units)
        macs = math.prod(input_shape[:-1]) * features * self.units
        weights = (WeightInfo("kernel", kernel), *bias_weights(self.use_bias, self.units))
        return Inference((*input_shape[:-1], self.units), weights, macs, mixing_window(input_shape, (len(input_shape) - 1,)))

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

    rate: float = argument(args.number_in(0.0, 1.0, include_maximum=True), help="fraction dropped while training")
    noise_shape: tuple[int | None, ...] | None = argument(
        args.noise_shape, None, help='mask shape, batch axis first; 1 shares a draw along an axis, "None" takes the input\'s side',
        sequence=True,
    )
    seed: int | None = argument(args.optional_seed, None, help="seed of the training mask")

    def infer(self, input_shape: Shape) -> Inference:
        """The mask must broadcast over the input: Keras checks it only when training, but a wrong one is a mistake now."""
        if self.noise_shape is not None and not noise_shape_fits(self.noise_shape, input_shape):
            raise ShapeError(
                f"noise_shape {noise_shape_text(self.noise_shape)} does not fit the input (batch, {', '.join(map(str, input_shape))}):"
                f" give {len(input_shape) + 1} sides, batch first, each 1, None or the input's side",
                layer_type=self.type_name,
                field_name="noise_shape",
            )
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        parts = [f"{self.rate:g}"]
        if self.noise_shape is not None:
            parts.append(f"noise {noise_shape_text(self.noise_shape)}")
        return parts


def noise_shape_fits(noise_shape: tuple[int | None, ...], input_shape: Shape) -> bool:
    sides = noise_shape[1:]
    return len(sides) == len(input_shape) and all(side in (None, 1, size) for side, size in zip(sides, input_shape))


def noise_shape_text(noise_shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join(str(side) for side in noise_shape) + ")"


@dataclass(frozen=True)
class Identity(Layer):
    type_name: ClassVar[str] = "Identity"
    description: ClassVar[str] = "passes its input through unchanged (a named placeholder in a graph)"

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)


@dataclass(frozen=True)
class LayerScale(Layer):
    """keras.applications.convnext's LayerScale (not in keras.layers): a learned per-channel scale."""

    type_name: ClassVar[str] = "LayerScale"
    description: ClassVar[str] = "multiplies each channel by a learned scale gamma, started small (ConvNeXt's residual branches)"

    init_values: float = argument(args.any_number, help="gamma's starting value (ConvNeXt: 1e-6)")
    projection_dim: int = argument(args.positive_int, help="channels, the length of gamma")

    def infer(self, input_shape: Shape) -> Inference:
        if input_shape[-1] != self.projection_dim:
            raise ShapeError(
                f"projection_dim is {self.projection_dim} but the input {input_shape} has {input_shape[-1]} channels;"
                f" set projection_dim = {input_shape[-1]}",
                layer_type=self.type_name,
                field_name="projection_dim",
            )
        gamma = WeightInfo("gamma", (self.projection_dim,), initial_value=self.init_values)
        return Inference(input_shape, (gamma,), 0, None)

    def summary_parts(self) -> list[str]:
        return [f"{self.init_values:g}", str(self.projection_dim)]
