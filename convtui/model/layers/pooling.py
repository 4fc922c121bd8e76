"""Pooling: max and average windows, and their global forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convtui.model import arguments as args
from convtui.model.layers.base import GLOBAL_WINDOW, Inference, Layer, Shape, argument, require_image, size_text, slide

@dataclass(frozen=True)
class Pooling2D(Layer):
    """Shared arguments and shapes of max and average pooling."""

    pool_size: tuple[int, int] = argument(args.positive_pair, (2, 2), help="window height and width")
    strides: tuple[int, int] | None = argument(args.optional_positive_pair, None, help="step (default: pool_size)")
    padding: str = argument(args.window_padding, "valid", help='"valid" or "same"')

    @property
    def step(self) -> tuple[int, int]:
        return self.strides if self.strides is not None else self.pool_size

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        out_h, out_w, window = slide(self, height, width, self.pool_size, self.step, self.padding, noun="pool window")
        return Inference((out_h, out_w, channels), (), 0, window)

    def summary_parts(self) -> list[str]:
        parts = [size_text(self.pool_size)]
        if self.step != self.pool_size:
            parts.append(f"stride {size_text(self.step) if self.step[0] != self.step[1] else self.step[0]}")
        if self.padding != "valid":
            parts.append(self.padding)
        return parts


@dataclass(frozen=True)
class MaxPooling2D(Pooling2D):
    type_name: ClassVar[str] = "MaxPooling2D"
    aliases: ClassVar[tuple[str, ...]] = ("MaxPool2D",)
    description: ClassVar[str] = "keeps the largest value of each window, channel by channel"


@dataclass(frozen=True)
class AveragePooling2D(Pooling2D):
    type_name: ClassVar[str] = "AveragePooling2D"
    aliases: ClassVar[tuple[str, ...]] = ("AvgPool2D",)
    description: ClassVar[str] = "averages each window, channel by channel"


@dataclass(frozen=True)
class GlobalPooling2D(Layer):
    """Shared shapes of the global poolings: one value per channel."""

    keepdims: bool = argument(args.boolean, False, help="keep the 1x1 spatial axes")

    def infer(self, input_shape: Shape) -> Inference:
        _, _, channels = require_image(self, input_shape)
        output = (1, 1, channels) if self.keepdims else (channels,)
        return Inference(output, (), 0, GLOBAL_WINDOW)

    def summary_parts(self) -> list[str]:
        return ["keepdims"] if self.keepdims else []


@dataclass(frozen=True)
class GlobalAveragePooling2D(GlobalPooling2D):
    type_name: ClassVar[str] = "GlobalAveragePooling2D"
    aliases: ClassVar[tuple[str, ...]] = ("GlobalAvgPool2D",)
    description: ClassVar[str] = "the mean of each channel over the whole map"


@dataclass(frozen=True)
class GlobalMaxPooling2D(GlobalPooling2D):
    type_name: ClassVar[str] = "GlobalMaxPooling2D"
    aliases: ClassVar[tuple[str, ...]] = ("GlobalMaxPool2D",)
    description: ClassVar[str] = "the maximum of each channel over the whole map"
