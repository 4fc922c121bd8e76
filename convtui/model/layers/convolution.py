"""Convolutions: Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from convtui.errors import ShapeError
from convtui.model import arguments as args
from convtui.model.geometry import Padding, transpose_output_side
from convtui.model.layers.base import (
    Inference,
    Layer,
    Shape,
    WeightInfo,
    Window,
    argument,
    bias_weights,
    check_strides_with_dilation,
    conv_parts,
    require_image,
    slide,
)

@dataclass(frozen=True)
class Conv2D(Layer):
    type_name: ClassVar[str] = "Conv2D"
    aliases: ClassVar[tuple[str, ...]] = ("Convolution2D",)
    description: ClassVar[str] = "2-D convolution: each filter spans all input channels and sums over them"

    filters: int = argument(args.positive_int, help="number of filters = output channels")
    kernel_size: tuple[int, int] = argument(args.positive_pair, help="filter height and width")
    strides: tuple[int, int] = argument(args.positive_pair, (1, 1), help="step between windows")
    padding: Padding = argument(args.conv_padding, "valid", help='"valid", "same" or explicit pixels')
    dilation_rate: tuple[int, int] = argument(args.positive_pair, (1, 1), help="gap between kernel taps")
    groups: int = argument(args.positive_int, 1, help="channel groups convolved separately")
    use_bias: bool = argument(args.boolean, True, help="add one bias per filter")
    activation: str | None = argument(args.activation, None, help="applied to the output")
    kernel_initializer: str = argument(args.kernel_initializer, "glorot_uniform", help="initial weights")

    def check(self) -> None:
        if self.filters % self.groups:
            raise self.fail("groups", f"filters ({self.filters}) must be divisible by groups ({self.groups})")
        check_strides_with_dilation(self, self.strides, self.dilation_rate)

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        if channels % self.groups:
            raise ShapeError(
                f"its {channels} input channels are not divisible by groups = {self.groups};"
                " change groups to a divisor of the input channels",
                layer_type=self.type_name,
                field_name="groups",
            )
        out_h, out_w, window = slide(self, height, width, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        kernel = (*self.kernel_size, channels // self.groups, self.filters)
        macs = out_h * out_w * math.prod(kernel)
        weights = (WeightInfo("kernel", kernel), *bias_weights(self.use_bias, self.filters))
        return Inference((out_h, out_w, self.filters), weights, macs, window)

    def summary_parts(self) -> list[str]:
        parts = conv_parts(
            self.filters, self.kernel_size, self.strides, self.padding, self.dilation_rate, self.activation, self.use_bias
        )
        if self.groups != 1:
            parts.insert(2, f"groups {self.groups}")
        return parts


@dataclass(frozen=True)
class DepthwiseConv2D(Layer):
    type_name: ClassVar[str] = "DepthwiseConv2D"
    description: ClassVar[str] = "one filter per input channel (times depth_multiplier), no sum over channels"

    kernel_size: tuple[int, int] = argument(args.positive_pair, help="filter height and width")
    strides: tuple[int, int] = argument(args.positive_pair, (1, 1), help="step between windows")
    padding: Padding = argument(args.conv_padding, "valid", help='"valid", "same" or explicit pixels')
    depth_multiplier: int = argument(args.positive_int, 1, help="filters per input channel")
    dilation_rate: tuple[int, int] = argument(args.positive_pair, (1, 1), help="gap between kernel taps")
    use_bias: bool = argument(args.boolean, True, help="add one bias per output channel")
    activation: str | None = argument(args.activation, None, help="applied to the output")
    kernel_initializer: str = argument(args.kernel_initializer, "glorot_uniform", help="initial weights")

    def check(self) -> None:
        check_strides_with_dilation(self, self.strides, self.dilation_rate)

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        out_h, out_w, window = slide(self, height, width, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        out_channels = channels * self.depth_multiplier
        kernel = (*self.kernel_size, channels, self.depth_multiplier)
        macs = out_h * out_w * math.prod(kernel)
        weights = (WeightInfo("kernel", kernel, depthwise=True), *bias_weights(self.use_bias, out_channels))
        return Inference((out_h, out_w, out_channels), weights, macs, window)

    def summary_parts(self) -> list[str]:
        parts = conv_parts(
            None, self.kernel_size, self.strides, self.padding, self.dilation_rate, self.activation, self.use_bias
        )
        if self.depth_multiplier != 1:
            parts.insert(1, f"x{self.depth_multiplier}")
        return parts


@dataclass(frozen=True)
class SeparableConv2D(Layer):
    type_name: ClassVar[str] = "SeparableConv2D"
    aliases: ClassVar[tuple[str, ...]] = ("SeparableConvolution2D",)
    description: ClassVar[str] = "a depthwise convolution then a 1x1 pointwise convolution that mixes channels"

    filters: int = argument(args.positive_int, help="number of output channels")
    kernel_size: tuple[int, int] = argument(args.positive_pair, help="depthwise filter height and width")
    strides: tuple[int, int] = argument(args.positive_pair, (1, 1), help="step between windows")
    padding: Padding = argument(args.conv_padding, "valid", help='"valid", "same" or explicit pixels')
    depth_multiplier: int = argument(args.positive_int, 1, help="depthwise filters per input channel")
    dilation_rate: tuple[int, int] = argument(args.positive_pair, (1, 1), help="gap between kernel taps")
    use_bias: bool = argument(args.boolean, True, help="add one bias per output channel")
    activation: str | None = argument(args.activation, None, help="applied to the output")
    kernel_initializer: str = argument(args.kernel_initializer, "glorot_uniform", help="initial weights")

    def check(self) -> None:
        check_strides_with_dilation(self, self.strides, self.dilation_rate)

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        out_h, out_w, window = slide(self, height, width, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        depthwise = (*self.kernel_size, channels, self.depth_multiplier)
        pointwise = (1, 1, channels * self.depth_multiplier, self.filters)
        macs = out_h * out_w * (math.prod(depthwise) + math.prod(pointwise))
        weights = (
            WeightInfo("depthwise_kernel", depthwise, depthwise=True),
            WeightInfo("pointwise_kernel", pointwise),
            *bias_weights(self.use_bias, self.filters),
        )
        return Inference((out_h, out_w, self.filters), weights, macs, window)

    def summary_parts(self) -> list[str]:
        return conv_parts(
            self.filters, self.kernel_size, self.strides, self.padding, self.dilation_rate, self.activation, self.use_bias
        )


@dataclass(frozen=True)
class Conv2DTranspose(Layer):
    type_name: ClassVar[str] = "Conv2DTranspose"
    aliases: ClassVar[tuple[str, ...]] = ("Convolution2DTranspose",)
    description: ClassVar[str] = "transposed convolution: each input pixel paints a kernel-sized patch, upsampling"

    filters: int = argument(args.positive_int, help="number of output channels")
    kernel_size: tuple[int, int] = argument(args.positive_pair, help="filter height and width")
    strides: tuple[int, int] = argument(args.positive_pair, (1, 1), help="upsampling factor")
    padding: str = argument(args.window_padding, "valid", help='"valid" or "same"')
    use_bias: bool = argument(args.boolean, True, help="add one bias per filter")
    activation: str | None = argument(args.activation, None, help="applied to the output")
    kernel_initializer: str = argument(args.kernel_initializer, "glorot_uniform", help="initial weights")

    def infer(self, input_shape: Shape) -> Inference:
        height, width, channels = require_image(self, input_shape)
        out_h = transpose_output_side(height, self.kernel_size[0], self.strides[0], self.padding)
        out_w = transpose_output_side(width, self.kernel_size[1], self.strides[1], self.padding)
        kernel = (*self.kernel_size, self.filters, channels)
        macs = height * width * math.prod(kernel)
        weights = (WeightInfo("kernel", kernel), *bias_weights(self.use_bias, self.filters))
        seen = tuple(float(math.ceil(k / s)) for k, s in zip(self.kernel_size, self.strides))
        window = Window(kernel=(seen[0], seen[1]), stride=(1 / self.strides[0], 1 / self.strides[1]), pad_before=(0, 0))
        return Inference((out_h, out_w, self.filters), weights, macs, window)

    def summary_parts(self) -> list[str]:
        return conv_parts(self.filters, self.kernel_size, self.strides, self.padding, (1, 1), self.activation, self.use_bias)
