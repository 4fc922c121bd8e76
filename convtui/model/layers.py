"""The layer catalogue: one frozen dataclass per layer type, with Keras 3's names and defaults.

Arguments are normalised and validated once, in the constructor (a LayerConfigError names the
field); `infer(input_shape)` is a pure function from the input shape to the output shape,
the weights, the cost and the sliding window (a ShapeError says what to change).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from convtui.errors import LayerConfigError, ShapeError
from convtui.model import arguments as args
from convtui.model.geometry import Padding, axis_pads, effective_kernel, transpose_output_side, window_output_side

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WeightInfo:
    """One weight tensor by its Keras name and layout."""

    name: str
    shape: Shape
    trainable: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class Window:
    """How one output pixel looks at the input, per axis, in input pixels (for the receptive field)."""

    kernel: tuple[float, float]
    stride: tuple[float, float]
    pad_before: tuple[float, float]


GLOBAL_WINDOW = "global"
"""The window of a layer whose every output sees the whole input (Flatten, global pooling)."""


@dataclass(frozen=True, slots=True)
class Inference:
    """What a layer does to a shape: the result of `Layer.infer`."""

    output_shape: Shape
    weights: tuple[WeightInfo, ...] = ()
    macs: int = 0
    window: Window | str | None = None  # None: pixel-wise, the receptive field is unchanged


def argument(convert: args.Converter, default: Any = MISSING, *, help: str = "") -> Any:
    """A layer field whose raw value goes through `convert` in the constructor."""
    return field(default=default, metadata={"convert": convert, "help": help})


@dataclass(frozen=True)
class Layer:
    """Base of every layer type; subclasses declare their Keras arguments as fields."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for spec in fields(self):
            convert = spec.metadata.get("convert")
            if convert is None:
                continue
            try:
                value = convert(getattr(self, spec.name))
            except ValueError as error:
                raise LayerConfigError(str(error), layer_type=self.type_name, field_name=spec.name) from None
            object.__setattr__(self, spec.name, value)
        self.check()

    def check(self) -> None:
        """Checks that involve several arguments (after each was normalised)."""

    def fail(self, field_name: str, message: str) -> LayerConfigError:
        return LayerConfigError(message, layer_type=self.type_name, field_name=field_name)

    def infer(self, input_shape: Shape) -> Inference:
        raise NotImplementedError

    def arguments(self) -> dict[str, Any]:
        """Every argument with its normalised value."""
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    def changed_arguments(self) -> dict[str, Any]:
        """The arguments that are required or differ from Keras's defaults (what a preset writes)."""
        return {
            spec.name: getattr(self, spec.name)
            for spec in fields(self)
            if spec.default is MISSING or normalised_default(self, spec.name) != getattr(self, spec.name)
        }

    def summary_parts(self) -> list[str]:
        """The key arguments, shortly, for a table cell: ["64", "3x3", "relu"]."""
        return []

    @property
    def label(self) -> str:
        parts = self.summary_parts()
        return f"{self.type_name}({', '.join(parts)})" if parts else self.type_name


def normalised_default(layer: Layer, name: str) -> Any:
    spec = next(spec for spec in fields(layer) if spec.name == name)
    convert = spec.metadata.get("convert")
    return convert(spec.default) if convert else spec.default


# --- shared shape helpers -------------------------------------------------------------------


def require_image(layer: Layer, shape: Shape) -> tuple[int, int, int]:
    """Layers that slide over (H, W, C) maps cannot follow Flatten or a global pooling."""
    if len(shape) != 3:
        raise ShapeError(
            f"{layer.type_name} needs an (height, width, channels) input but receives {shape};"
            " move it before Flatten / global pooling, or use Dense",
            layer_type=layer.type_name,
        )
    return shape[0], shape[1], shape[2]


def size_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def padding_text(padding: Padding, *, quoted: bool = False) -> str:
    if isinstance(padding, str):
        return f'"{padding}"' if quoted else padding
    return f"pad {size_text(padding)}"


def slide(
    layer: Layer,
    height: int,
    width: int,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    padding: Padding,
    dilation: tuple[int, int] = (1, 1),
    noun: str = "kernel",
) -> tuple[int, int, Window]:
    """Output sides and window of a sliding window; a ShapeError when it does not fit."""
    sides = []
    pads_before = []
    for axis, size in enumerate((height, width)):
        pads = axis_pads(padding, axis, size, kernel[axis], strides[axis], dilation[axis])
        sides.append(window_output_side(size, kernel[axis], strides[axis], dilation[axis], pads))
        pads_before.append(pads[0])
    if min(sides) <= 0:
        span = (effective_kernel(kernel[0], dilation[0]), effective_kernel(kernel[1], dilation[1]))
        dilated = f" (dilated to {size_text(span)})" if dilation != (1, 1) else ""
        raise ShapeError(
            f"the {size_text(kernel)} {noun}{dilated} does not fit the {height}x{width} input with padding"
            f" {padding_text(padding, quoted=True)}: output would be {sides[0]}x{sides[1]}; use padding = \"same\","
            f" a smaller {noun}, or fewer downsampling layers before it",
            layer_type=layer.type_name,
        )
    window = Window(
        kernel=(effective_kernel(kernel[0], dilation[0]), effective_kernel(kernel[1], dilation[1])),
        stride=(strides[0], strides[1]),
        pad_before=(pads_before[0], pads_before[1]),
    )
    return sides[0], sides[1], window


def conv_parts(
    filters: int | None,
    kernel_size: tuple[int, int],
    strides: tuple[int, int],
    padding: Padding,
    dilation_rate: tuple[int, int],
    activation: str | None,
    use_bias: bool,
) -> list[str]:
    parts = [str(filters)] if filters is not None else []
    parts.append(size_text(kernel_size))
    if strides != (1, 1):
        parts.append(f"stride {size_text(strides) if strides[0] != strides[1] else strides[0]}")
    if padding != "valid":
        parts.append(padding_text(padding))
    if dilation_rate != (1, 1):
        parts.append(f"dilation {dilation_rate[0] if dilation_rate[0] == dilation_rate[1] else size_text(dilation_rate)}")
    if activation:
        parts.append(activation)
    if not use_bias:
        parts.append("no bias")
    return parts


def bias_weights(use_bias: bool, size: int) -> tuple[WeightInfo, ...]:
    return (WeightInfo("bias", (size,)),) if use_bias else ()


def check_strides_with_dilation(layer: Layer, strides: tuple[int, int], dilation: tuple[int, int]) -> None:
    """Keras refuses strides > 1 together with dilation_rate > 1."""
    if max(strides) > 1 and max(dilation) > 1:
        raise layer.fail(
            "dilation_rate",
            f"strides {size_text(strides)} cannot be combined with dilation_rate {size_text(dilation)}"
            " (Keras allows strides > 1 only when dilation_rate is 1); set one of them to 1",
        )


# --- convolutions ---------------------------------------------------------------------------


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
        weights = (WeightInfo("depthwise_kernel", kernel), *bias_weights(self.use_bias, out_channels))
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
            WeightInfo("depthwise_kernel", depthwise),
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


# --- pooling --------------------------------------------------------------------------------


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


# --- everything else ------------------------------------------------------------------------


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
class Flatten(Layer):
    type_name: ClassVar[str] = "Flatten"
    description: ClassVar[str] = "lays the (H, W, C) map out as one vector, row by row"

    def infer(self, input_shape: Shape) -> Inference:
        window = GLOBAL_WINDOW if len(input_shape) > 1 else None
        return Inference((math.prod(input_shape),), (), 0, window)


@dataclass(frozen=True)
class Dropout(Layer):
    type_name: ClassVar[str] = "Dropout"
    description: ClassVar[str] = "zeroes a random fraction of values while training; does nothing at inference"

    rate: float = argument(args.number_in(0.0, 1.0), help="fraction dropped while training")

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        return [f"{self.rate:g}"]


@dataclass(frozen=True)
class Activation(Layer):
    type_name: ClassVar[str] = "Activation"
    description: ClassVar[str] = "applies a function to every value"

    activation: str = argument(args.required_activation, help="the function")

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        return [self.activation]


@dataclass(frozen=True)
class ReLU(Layer):
    type_name: ClassVar[str] = "ReLU"
    description: ClassVar[str] = "max(x, 0), optionally capped at max_value and leaky below threshold"

    max_value: float | None = argument(args.optional_number(0.0, 1e30), None, help="cap (6 gives ReLU6)")
    negative_slope: float = argument(args.number_in(0.0, 1e30), 0.0, help="slope below threshold")
    threshold: float = argument(args.number_in(0.0, 1e30), 0.0, help="values below are zeroed or leaked")

    def infer(self, input_shape: Shape) -> Inference:
        return Inference(input_shape)

    def summary_parts(self) -> list[str]:
        parts = [f"max {self.max_value:g}"] if self.max_value is not None else []
        if self.negative_slope:
            parts.append(f"slope {self.negative_slope:g}")
        if self.threshold:
            parts.append(f"threshold {self.threshold:g}")
        return parts


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


# --- the catalogue --------------------------------------------------------------------------

LAYER_TYPES: tuple[type[Layer], ...] = (
    Conv2D,
    DepthwiseConv2D,
    SeparableConv2D,
    Conv2DTranspose,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    Dense,
    Flatten,
    Dropout,
    Activation,
    ReLU,
    ZeroPadding2D,
    UpSampling2D,
)


def type_key(name: str) -> str:
    """Case- and underscore-insensitive key: "max_pooling2d" and "MaxPooling2D" are one type."""
    return name.lower().replace("_", "")


_TYPES_BY_KEY: dict[str, type[Layer]] = {
    type_key(name): layer_type for layer_type in LAYER_TYPES for name in (layer_type.type_name, *layer_type.aliases)
}


def layer_type_named(name: object) -> type[Layer]:
    """The layer class for a Keras type name or alias; a LayerConfigError with a suggestion otherwise."""
    if not isinstance(name, str):
        raise LayerConfigError(f"expected a layer type name, found {args.describe(name)}", field_name="type")
    found = _TYPES_BY_KEY.get(type_key(name))
    if found is None:
        guesses = difflib.get_close_matches(type_key(name), _TYPES_BY_KEY, n=1, cutoff=0.6)
        hint = f'did you mean "{_TYPES_BY_KEY[guesses[0]].type_name}"? ' if guesses else ""
        known = ", ".join(layer_type.type_name for layer_type in LAYER_TYPES)
        raise LayerConfigError(f'unknown layer type "{name}"; {hint}known types: {known}', field_name="type")
    return found


def argument_names(layer_type: type[Layer]) -> list[str]:
    return [spec.name for spec in fields(layer_type)]


def required_argument_names(layer_type: type[Layer]) -> list[str]:
    return [spec.name for spec in fields(layer_type) if spec.default is MISSING]


def layer_from_config(config: Mapping[str, Any]) -> Layer:
    """Build a layer from a preset table: `type` plus Keras arguments; unknown keys are errors."""
    layer_type = layer_type_named(config.get("type"))
    known = argument_names(layer_type)
    for key in config:
        if key != "type" and key not in known:
            guesses = difflib.get_close_matches(key, known, n=1)
            hint = f'did you mean "{guesses[0]}"?' if guesses else f"{layer_type.type_name} takes: {', '.join(known) or 'no arguments'}"
            raise LayerConfigError(f'unknown argument "{key}"; {hint}', layer_type=layer_type.type_name, field_name=key)
    for name in required_argument_names(layer_type):
        if name not in config:
            raise LayerConfigError(
                f"missing; {layer_type.type_name} needs {', '.join(required_argument_names(layer_type))}",
                layer_type=layer_type.type_name,
                field_name=name,
            )
    return layer_type(**{key: value for key, value in config.items() if key != "type"})


def layer_to_config(layer: Layer) -> dict[str, Any]:
    """The preset table of a layer: its type and the arguments that differ from the defaults."""
    return {"type": layer.type_name, **layer.changed_arguments()}
