"""Merging layers: several inputs, one output (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate), with Keras 3's shape rules.

Elementwise merges broadcast as Keras's `Merge._compute_elemwise_op_output_shape` does: on
each axis the sides must be equal or one of them 1, so a (1, 1, C) gate multiplies an
(H, W, C) map. `broadcast_shapes` is the one helper the model, the engine's checks and the
explanations use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, argument


def broadcast_shapes(shapes: tuple[Shape, ...]) -> Shape | None:
    """The elementwise result of equal-rank shapes, each axis equal or 1; None when they do not fit."""
    if len({len(shape) for shape in shapes}) != 1:
        return None
    result = []
    for sides in zip(*shapes):
        wider = {side for side in sides if side != 1}
        if len(wider) > 1:
            return None
        result.append(wider.pop() if wider else 1)
    return tuple(result)


def shapes_text(shapes: tuple[Shape, ...], joiner: str) -> str:
    return f" {joiner} ".join(str(shape) for shape in shapes)


@dataclass(frozen=True)
class ElementwiseMerge(Layer):
    """Shared shape rule of the elementwise merges: equal shapes, or sides of 1 that broadcast."""

    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None
    symbol: ClassVar[str] = "+"
    verb: ClassVar[str] = "adds"

    def infer(self, input_shape: Shape) -> Inference:
        return self.infer_inputs((input_shape,))

    def infer_inputs(self, input_shapes: tuple[Shape, ...], input_names: tuple[str, ...] = ()) -> Inference:
        output = broadcast_shapes(input_shapes)
        if output is None:
            names = input_names or tuple(f"input {number}" for number in range(len(input_shapes)))
            raise ShapeError(self.mismatch(input_shapes, names), layer_type=self.type_name, field_name="inputs")
        return Inference(output, (), 0, None)

    def mismatch(self, input_shapes: tuple[Shape, ...], names: tuple[str, ...]) -> str:
        """Why the shapes do not fit, naming what gives each, and what to change."""
        given = ", ".join(f"{name} gives {shape}" for name, shape in zip(names, input_shapes))
        if len({len(shape) for shape in input_shapes}) != 1:
            return (
                f"{self.type_name} needs inputs of the same rank: {given};"
                " give the smaller one the missing axes (Reshape, or keepdims=True on a global pooling)"
            )
        return f"{self.type_name} needs equal shapes (or sides of 1 that broadcast): {given}; {fitting_advice(input_shapes, names)}"


def fitting_advice(input_shapes: tuple[Shape, ...], names: tuple[str, ...]) -> str:
    """What makes the inputs fit: a 1x1 projection for channels, a strided one for sides."""
    target = max(input_shapes, key=math.prod)
    if len(target) != 3:
        return "make the shapes equal"
    smaller = [shape for shape in input_shapes if shape != target]
    smaller_names = ", ".join(name for name, shape in zip(names, input_shapes) if shape != target)
    strides = {
        (target_side, side) for shape in smaller for side, target_side in zip(shape[:2], target[:2]) if side != target_side
    }
    stride = ""
    if strides and all(side % target_side == 0 for target_side, side in strides):
        factors = {side // target_side for target_side, side in strides}
        if len(factors) == 1:
            stride = f", strides={factors.pop()}"
    if any(shape[:2] != target[:2] for shape in smaller) and not stride:
        return "make the heights and widths equal (padding=\"same\", or the same strides on both paths)"
    # Which input is the shortcut the shapes cannot tell (a main path made narrower is the smaller one too): both fixes.
    advice = f"put a Conv2D({target[2]}, 1x1{stride}) after {smaller_names} (on a residual's shortcut: ResNet's projection)"
    if len(input_shapes) == 2 and len(smaller) == 1 and smaller[0][:2] == target[:2]:
        target_name = next(name for name, shape in zip(names, input_shapes) if shape == target)
        advice += f", or make {target_name} give {smaller[0][2]} channels"
    return advice


@dataclass(frozen=True)
class Add(ElementwiseMerge):
    type_name: ClassVar[str] = "Add"
    description: ClassVar[str] = "adds its inputs elementwise (a residual connection): equal shapes in, the same shape out"


@dataclass(frozen=True)
class Subtract(ElementwiseMerge):
    type_name: ClassVar[str] = "Subtract"
    description: ClassVar[str] = "the first input minus the second, elementwise"
    max_inputs: ClassVar[int | None] = 2
    symbol: ClassVar[str] = "-"
    verb: ClassVar[str] = "subtracts"


@dataclass(frozen=True)
class Multiply(ElementwiseMerge):
    type_name: ClassVar[str] = "Multiply"
    description: ClassVar[str] = "multiplies its inputs elementwise (a (1, 1, C) gate scales each channel of a map)"
    symbol: ClassVar[str] = "*"
    verb: ClassVar[str] = "multiplies"


@dataclass(frozen=True)
class Average(ElementwiseMerge):
    type_name: ClassVar[str] = "Average"
    description: ClassVar[str] = "the elementwise mean of its inputs"
    symbol: ClassVar[str] = "avg"
    verb: ClassVar[str] = "averages"


@dataclass(frozen=True)
class Maximum(ElementwiseMerge):
    type_name: ClassVar[str] = "Maximum"
    description: ClassVar[str] = "the elementwise maximum of its inputs"
    symbol: ClassVar[str] = "max"
    verb: ClassVar[str] = "takes the maximum of"


@dataclass(frozen=True)
class Minimum(ElementwiseMerge):
    type_name: ClassVar[str] = "Minimum"
    description: ClassVar[str] = "the elementwise minimum of its inputs"
    symbol: ClassVar[str] = "min"
    verb: ClassVar[str] = "takes the minimum of"


@dataclass(frozen=True)
class Concatenate(Layer):
    type_name: ClassVar[str] = "Concatenate"
    description: ClassVar[str] = "joins its inputs along one axis (channels by default); the other sides must be equal"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    axis: int = argument(args.keras_axis, -1, help="-1 joins channels; 1, 2, 3 count the batch axis as Keras does")

    def shape_axis(self, rank: int) -> int | None:
        """The axis in a shape without the batch axis, or None when this rank has no such axis."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        return axis if 0 <= axis < rank else None

    def infer(self, input_shape: Shape) -> Inference:
        return self.infer_inputs((input_shape,))

    def infer_inputs(self, input_shapes: tuple[Shape, ...], input_names: tuple[str, ...] = ()) -> Inference:
        ranks = {len(shape) for shape in input_shapes}
        rank = ranks.pop() if len(ranks) == 1 else None
        axis = self.shape_axis(rank) if rank is not None else None
        if rank is None or axis is None:
            raise ShapeError(
                f"Concatenate needs inputs of one rank that have axis {self.axis}, receives {', '.join(map(str, input_shapes))}",
                layer_type=self.type_name,
                field_name="axis",
            )
        others = {shape[:axis] + shape[axis + 1 :] for shape in input_shapes}
        if len(others) != 1:
            raise ShapeError(
                f"Concatenate needs equal sides except on axis {self.axis}, receives {', '.join(map(str, input_shapes))};"
                " make the other sides equal (padding=\"same\", the same strides, or Cropping2D on the larger)",
                layer_type=self.type_name,
                field_name="inputs",
            )
        output = list(input_shapes[0])
        output[axis] = sum(shape[axis] for shape in input_shapes)
        return Inference(tuple(output), (), 0, None)

    def summary_parts(self) -> list[str]:
        return [] if self.axis == -1 else [f"axis {self.axis}"]


MERGE_TYPES: tuple[type[Layer], ...] = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)
