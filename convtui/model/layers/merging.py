"""Merging layers: several inputs, one output (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate), with Keras 3's shape rules.

Elementwise merges broadcast as Keras's `Merge._compute_elemwise_op_output_shape` does, NumPy's
rule on the shapes without the batch axis: the shapes are lined up from their last axis, a
shorter one counts as having sides of 1 in front, and on each axis the sides must be equal or
one of them 1. So a (1, 1, C) gate multiplies an (H, W, C) map, and so does a (C,) gate straight
from a Dense: Keras's `call` expands a lower-rank input after the batch axis, (N, C) to
(N, 1, 1, C), until the ranks match. `broadcast_shapes` is the one helper the model, the
engine's checks and the explanations use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.layers.base import Inference, Layer, Shape, argument


def aligned_shape(shape: Shape, rank: int) -> Shape:
    """`shape` with sides of 1 in front up to `rank` axes: how Keras lines up a lower-rank input (it expands the
    tensor at axis 1, just after the batch, so the input's own axes stay the last ones)."""
    return (1,) * (rank - len(shape)) + tuple(shape)


def broadcast_shapes(shapes: tuple[Shape, ...]) -> Shape | None:
    """The elementwise result of shapes of any ranks, lined up from the last axis, each axis equal or 1; None when they
    do not fit."""
    rank = max(len(shape) for shape in shapes)
    result = []
    for sides in zip(*(aligned_shape(shape, rank) for shape in shapes)):
        wider = {side for side in sides if side != 1}
        if len(wider) > 1:
            return None
        result.append(wider.pop() if wider else 1)
    return tuple(result)


def rank_broadcast_text(shape: Shape, result: Shape) -> str | None:
    """How a lower-rank input meets the result, or None when it has the result's rank: "the (8,) input is laid along the
    last axis, broadcast over 16x16" (Keras expands it after the batch axis, so its axes are the last ones)."""
    if len(shape) >= len(result):
        return None
    axes = "the last axis" if len(shape) == 1 else f"the last {len(shape)} axes"
    repeated = [total for side, total in zip(aligned_shape(shape, len(result)), result) if side != total]
    over = f", broadcast over {'x'.join(map(str, repeated))}" if repeated else ""
    return f"the {shape} input is laid along {axes}{over}"


def shapes_text(shapes: tuple[Shape, ...], joiner: str) -> str:
    return f" {joiner} ".join(str(shape) for shape in shapes)


@dataclass(frozen=True)
class ElementwiseMerge(Layer):
    """Shared shape rule of the elementwise merges: equal shapes, or sides of 1 that broadcast, the ranks lined up from
    the last axis."""

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
        """Why the shapes do not fit, naming what gives each, and what to change: the highest-rank inputs first, as a
        map's own sides (a projection fixes those), then how the lower-rank ones line up with them."""
        given = ", ".join(f"{name} gives {shape}" for name, shape in zip(names, input_shapes))
        rank = max(len(shape) for shape in input_shapes)
        widest = [(name, shape) for name, shape in zip(names, input_shapes) if len(shape) == rank]
        target = broadcast_shapes(tuple(shape for _, shape in widest))
        if target is None:
            advice = fitting_advice(tuple(shape for _, shape in widest), tuple(name for name, _ in widest))
            return f"{self.type_name} needs equal shapes (or sides of 1 that broadcast): {given}; {advice}"
        return f"{self.type_name} {rank_mismatch(input_shapes, names, target, given)}"


def rank_mismatch(input_shapes: tuple[Shape, ...], names: tuple[str, ...], target: Shape, given: str) -> str:
    """Lower-rank inputs that do not fit `target`, what the highest-rank ones give: the axis, counted from the last,
    where the sides differ, and the side to give there (a lower-rank input's axes meet the others' last ones, as Keras
    expands it after the batch)."""
    aligned = [aligned_shape(shape, len(target)) for shape in input_shapes]
    axis = max(axis for axis in range(len(target)) if len({shape[axis] for shape in aligned} - {1}) > 1)
    sides = [shape[axis] for shape in aligned]
    wanted = target[axis] if target[axis] != 1 else next(side for side in sides if side != 1)
    offenders = [(name, shape) for name, shape, side in zip(names, input_shapes, sides) if side not in (1, wanted)]
    last = axis == len(target) - 1
    place = "the last axis" if last else f"axis {axis - len(target)}"
    hint = f" (Dense({wanted}) for a gate on the channels)" if last and all(len(shape) == 1 for _, shape in offenders) else ""
    return (
        f"lines up its inputs' last axes (a lower-rank input is laid along the others' last axes): {given};"
        f" on {place} the sides are {' and '.join(map(str, dict.fromkeys(side for side in sides if side != 1)))},"
        f" where each axis must be equal or 1: make {', '.join(name for name, _ in offenders)} give {wanted} there{hint},"
        " or Reshape it so its sides line up"
    )


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
    description: ClassVar[str] = "multiplies its inputs elementwise (a (1, 1, C) or (C,) gate scales each channel of a map)"
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
