"""Reshaping: Flatten, ZeroPadding2D, UpSampling2D."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.model import arguments as args
from convtui.model.layers.base import GLOBAL_WINDOW, Inference, Layer, Shape, Window, argument, require_image, size_text

@dataclass(frozen=True)
class Flatten(Layer):
    type_name: ClassVar[str] = "Flatten"
    description: ClassVar[str] = "lays the (H, W, C) map out as one vector, row by row"

    def infer(self, input_shape: Shape) -> Inference:
        window = GLOBAL_WINDOW if len(input_shape) > 1 else None
        return Inference((math.prod(input_shape),), (), 0, window)


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    type_name: ClassVar[str] = "ZeroPadding2D"
    description: ClassVar[str] = "adds rows and columns of zeros around the map"

    padding: tuple[tuple[int, int], tuple[int, int]] = argument(
        args.zero_padding, ((1, 1), (1, 1)), help="int, [h, w] or [[top, bottom], [left, right]]"
    )

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        (top, bottom), (left, right) = self.padding
        window = Window(kernel=(1, 1), stride=(1, 1), pad_before=(top, left))
        return Inference((height + top + bottom, width + left + right, channels), (), 0, window)

    def summary_parts(self) -> list[str]:
        (top, bottom), (left, right) = self.padding
        if top == bottom == left == right:
            return [str(top)]
        return [f"[[{top}, {bottom}], [{left}, {right}]]"]


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
