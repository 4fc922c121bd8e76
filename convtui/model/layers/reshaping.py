"""Reshaping: Flatten, Reshape, ZeroPadding2D, Cropping2D, UpSampling2D."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.layers.base import RELAYOUT_WINDOW, Inference, Layer, Shape, Window, argument, require_image, size_text

EdgePairs = tuple[tuple[int, int], tuple[int, int]]
"""((top, bottom), (left, right)) rows and columns, as Keras normalises padding and cropping."""


@dataclass(frozen=True)
class Flatten(Layer):
    type_name: ClassVar[str] = "Flatten"
    description: ClassVar[str] = "lays the (H, W, C) map out as one vector, row by row"

    def infer(self, input_shape: Shape) -> Inference:
        window = RELAYOUT_WINDOW if len(input_shape) > 1 else None
        return Inference((math.prod(input_shape),), (), 0, window)


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    type_name: ClassVar[str] = "ZeroPadding2D"
    description: ClassVar[str] = "adds rows and columns of zeros around the map"

    padding: EdgePairs = argument(args.edge_pairs, ((1, 1), (1, 1)), help="int, [h, w] or [[top, bottom], [left, right]]")

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        (top, bottom), (left, right) = self.padding
        window = Window(kernel=(1, 1), stride=(1, 1), pad_before=(top, left))
        return Inference((height + top + bottom, width + left + right, channels), (), 0, window)

    def summary_parts(self) -> list[str]:
        return [edge_pairs_text(self.padding)]


@dataclass(frozen=True)
class Cropping2D(Layer):
    type_name: ClassVar[str] = "Cropping2D"
    description: ClassVar[str] = "removes rows and columns at the edges of the map (to match a skip connection's size)"

    cropping: EdgePairs = argument(args.edge_pairs, ((0, 0), (0, 0)), help="int, [h, w] or [[top, bottom], [left, right]]")

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        (top, bottom), (left, right) = self.cropping
        if top + bottom >= height or left + right >= width:
            raise ShapeError(
                f"cropping {top} + {bottom} rows and {left} + {right} columns leaves nothing of the {height}x{width}"
                " input; crop less than the height and the width",
                layer_type=self.type_name,
                field_name="cropping",
            )
        window = Window(kernel=(1, 1), stride=(1, 1), pad_before=(-top, -left))
        return Inference((height - top - bottom, width - left - right, channels), (), 0, window)

    def summary_parts(self) -> list[str]:
        return [edge_pairs_text(self.cropping)]


def edge_pairs_text(pairs: EdgePairs) -> str:
    """1 when every edge takes 1, else [[top, bottom], [left, right]]."""
    (top, bottom), (left, right) = pairs
    return str(top) if top == bottom == left == right else f"[[{top}, {bottom}], [{left}, {right}]]"


@dataclass(frozen=True)
class Reshape(Layer):
    type_name: ClassVar[str] = "Reshape"
    description: ClassVar[str] = "lays the same values out in another shape (-1: the side that keeps their count)"

    target_shape: tuple[int, ...] = argument(args.target_shape, help="sides without the batch axis; one may be -1", sequence=True)

    def infer(self, input_shape: Shape) -> Inference:
        count = math.prod(input_shape)
        known = math.prod(side for side in self.target_shape if side != -1)
        output = tuple(count // known if side == -1 else side for side in self.target_shape)
        if math.prod(output) != count:
            raise ShapeError(
                f"the input {input_shape} holds {count:,} values but target_shape {list(self.target_shape)} needs"
                f" {'a multiple of ' if -1 in self.target_shape else ''}{known:,}; make the counts equal (or use -1 for one side)",
                layer_type=self.type_name,
                field_name="target_shape",
            )
        keeps_pixels = output[: len(input_shape) - 1] == input_shape[:-1]
        return Inference(output, (), 0, None if keeps_pixels else RELAYOUT_WINDOW)

    def summary_parts(self) -> list[str]:
        return [str(self.target_shape)]


@dataclass(frozen=True)
class UpSampling2D(Layer):
    type_name: ClassVar[str] = "UpSampling2D"
    description: ClassVar[str] = "repeats (nearest) or interpolates (bilinear) pixels to enlarge the map"

    size: tuple[int, int] = argument(args.positive_pair, (2, 2), help="factor per axis")
    interpolation: str = argument(args.choice("nearest", "bilinear"), "nearest", help='"nearest" or "bilinear"')

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        seen = 2.0 if self.interpolation == "bilinear" else 1.0
        window = Window(kernel=(seen, seen), stride=(1 / self.size[0], 1 / self.size[1]), pad_before=(0, 0))
        return Inference((height * self.size[0], width * self.size[1], channels), (), 0, window)

    def summary_parts(self) -> list[str]:
        return [size_text(self.size), *([self.interpolation] if self.interpolation != "nearest" else [])]
