"""Normalization layers: BatchNormalization, LayerNormalization, and the input scaling Keras files
under preprocessing (Rescaling, Normalization), which the applications put first in their graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Numbers, Shape, WeightInfo, argument, mixing_window, numbers_text, shape_axes


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


@dataclass(frozen=True)
class LayerNormalization(Layer):
    type_name: ClassVar[str] = "LayerNormalization"
    description: ClassVar[str] = "normalises each position over its own channels (mean 0, variance 1), then scales and shifts"

    axis: tuple[int, ...] = argument(args.keras_axes, -1, help="axes normalised together; -1: the channels", sequence=True)
    epsilon: float = argument(args.number_in(0.0, 1.0), 0.001, help="added to the variance")
    center: bool = argument(args.boolean, True, help="learn the shift beta")
    scale: bool = argument(args.boolean, True, help="learn the scale gamma")
    rms_scaling: bool = argument(args.boolean, False, help="Keras's deprecated form: x / sqrt(variance + epsilon) * gamma")

    def check(self) -> None:
        if min(self.axis) < 0 < max(self.axis):  # Keras sorts them as given: [-1, 1] would lay gamma out (C, H)
            raise self.fail("axis", f"mixes positive and negative axes ({list(self.axis)}); write them all positive or all negative")

    def infer(self, input_shape: Shape) -> Inference:
        """Statistics over every position (a flattened vector, or axis [1, 2, 3]) make each output see the whole input."""
        kept = shape_axes(self, self.axis, input_shape)
        shape = tuple(input_shape[axis] for axis in kept)
        weights = [WeightInfo("gamma", shape)] if self.scale or self.rms_scaling else []
        if self.center and not self.rms_scaling:
            weights.append(WeightInfo("beta", shape))
        return Inference(input_shape, tuple(weights), 0, mixing_window(input_shape, kept))

    def summary_parts(self) -> list[str]:
        parts = [] if self.axis == (-1,) else [f"axis {list(self.axis)}"]
        if self.epsilon != 0.001:
            parts.append(f"eps {self.epsilon:g}")
        if self.rms_scaling:
            parts.append("rms")
        parts += [f"no {name}" for name in ("center", "scale") if not getattr(self, name)]
        return parts


@dataclass(frozen=True)
class Rescaling(Layer):
    type_name: ClassVar[str] = "Rescaling"
    description: ClassVar[str] = "x * scale + offset: maps pixel values to the range a network expects (1/255 for [0, 1])"

    scale: Numbers = argument(args.number_or_list(), help="a number, or one per channel", sequence=True)
    offset: Numbers = argument(args.number_or_list(), 0.0, help="a number, or one per channel", sequence=True)

    def infer(self, input_shape: Shape) -> Inference:
        for name in ("scale", "offset"):
            check_broadcast(self, name, getattr(self, name), input_shape, -1)
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        """"/255" for a scale of 1/255, "x[0.5, 2]" per channel; the offset with its sign."""
        divisor = 1 / self.scale if isinstance(self.scale, float) and self.scale else 0.0
        whole = 1 < divisor < 1e9 and abs(divisor - round(divisor)) < 1e-9 * divisor
        parts = [f"/{round(divisor)}" if whole else f"x{numbers_text(self.scale)}"]
        if isinstance(self.offset, tuple):
            parts.append(f"+{numbers_text(self.offset)}")
        elif self.offset:
            parts.append(f"{self.offset:+.4g}")
        return parts


def normalization_axes(value: object) -> tuple[int, ...]:
    """Keras's Normalization axis, as it stores it: None (or []) keeps no axis, an int one, a list several."""
    return () if value is None or value == [] else args.keras_axes(value)


@dataclass(frozen=True)
class Normalization(Layer):
    type_name: ClassVar[str] = "Normalization"
    description: ClassVar[str] = (
        "(x - mean) / sqrt(variance) per channel, with the data set's statistics (given, or weights set by adapt())"
    )

    axis: tuple[int, ...] = argument(
        normalization_axes, -1, help="axes with their own mean; -1: per channel, [] or none: one for all", sequence=True
    )
    mean: Numbers | None = argument(args.optional(args.number_or_list()), None, help="fixed mean (else a weight)", sequence=True)
    variance: Numbers | None = argument(args.optional(args.number_or_list(0.0)), None, help="fixed variance (else a weight)", sequence=True)
    invert: bool = argument(args.boolean, False, help="undo the normalisation: mean + x * sqrt(variance)")

    def check(self) -> None:
        if (self.mean is None) != (self.variance is None):
            missing = "variance" if self.variance is None else "mean"
            raise self.fail(missing, "give both mean and variance, or neither (then both are weights, as adapt() sets them)")
        if value_count(self.mean) != value_count(self.variance):
            raise self.fail("variance", "give mean and variance the same shape: two numbers, or two lists of one length")
        if isinstance(self.mean, tuple) and not self.axis:
            raise self.fail("mean", "a list of means needs an axis to lay them along; give one number, or axis = -1")

    @property
    def has_weights(self) -> bool:
        """Without given statistics Keras makes mean, variance and count weights (non-trainable)."""
        return self.mean is None

    def infer(self, input_shape: Shape) -> Inference:
        kept = shape_axes(self, self.axis, input_shape)
        if not self.has_weights:
            if kept:
                check_broadcast(self, "mean", self.mean, input_shape, kept[-1])
            return Inference(input_shape)
        shape = tuple(input_shape[axis] for axis in kept)
        weights = (
            WeightInfo("mean", shape, False, initial_value=0.0),
            WeightInfo("variance", shape, False, initial_value=1.0),
            WeightInfo("count", (), False, initial_value=0.0),
        )
        return Inference(input_shape, weights)

    def summary_parts(self) -> list[str]:
        parts = [] if self.axis == (-1,) else [f"axis {list(self.axis) if self.axis else 'none'}"]
        if self.mean is not None and self.variance is not None:
            parts += [f"mean {numbers_text(self.mean)}", f"variance {numbers_text(self.variance)}"]
        if self.invert:
            parts.append("invert")
        return parts


def check_broadcast(layer: Layer, field_name: str, values: Numbers | None, shape: Shape, axis: int) -> None:
    """A list argument lies along one axis: it needs one value, or one per position along that axis."""
    if isinstance(values, tuple) and len(values) not in (1, shape[axis]):
        raise ShapeError(
            f"{field_name} has {len(values)} values but the input {shape} has {shape[axis]} along its axis;"
            f" give one number, or {shape[axis]} of them",
            layer_type=layer.type_name,
            field_name=field_name,
        )


def value_count(values: Numbers | None) -> int | None:
    """How many values a list argument holds; None for a single number (or nothing)."""
    return len(values) if isinstance(values, tuple) else None
