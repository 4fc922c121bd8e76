"""The base of every layer type: arguments normalised in the constructor, shapes from `infer`.

Arguments are normalised and validated once, in the constructor (a LayerConfigError names the
field); `infer(input_shape)` is a pure function from the input shape to the output shape,
the weights, the cost and the sliding window (a ShapeError says what to change).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from convtui.errors import LayerConfigError, ShapeError
from convtui.model import arguments as args
from convtui.model.geometry import Padding, axis_pads, effective_kernel, window_output_side

Shape = tuple[int, ...]

@dataclass(frozen=True, slots=True)
class WeightInfo:
    """One weight tensor by its Keras name and layout."""

    name: str
    shape: Shape
    trainable: bool = True
    depthwise: bool = False
    """A (kh, kw, C_in, depth_multiplier) kernel: one filter per input channel, no sum over channels."""
    initial_value: float | None = None
    """The constant Keras's build starts it at (a Constant / zeros / ones initialiser); None: by its name or drawn."""

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
"""The window of a layer whose every output sees the whole input (global pooling, Dense on a vector)."""
RELAYOUT_WINDOW = "relayout"
"""The window of a layer that lays the same values out in another shape (Flatten, Reshape): each output is a
copy of one input value, so it sees what that value saw, but its position no longer stands for a pixel."""


@dataclass(frozen=True, slots=True)
class Inference:
    """What a layer does to a shape: the result of `Layer.infer`."""

    output_shape: Shape
    weights: tuple[WeightInfo, ...] = ()
    macs: int = 0
    window: Window | str | None = None  # None: pixel-wise, the receptive field is unchanged


def argument(convert: args.Converter, default: Any = MISSING, *, help: str = "", sequence: bool = False) -> Any:
    """A layer field whose raw value goes through `convert` in the constructor.

    `sequence`: a list of any length (Reshape's target_shape, Normalization's mean), which a preset
    writes in full, where a pair such as kernel_size (3, 3) is written 3.
    """
    return field(default=default, metadata={"convert": convert, "help": help, "sequence": sequence})


@dataclass(frozen=True)
class Layer:
    """Base of every layer type; subclasses declare their Keras arguments as fields."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    min_inputs: ClassVar[int] = 1
    """How many inputs the layer takes: merges take several, every other layer one."""
    max_inputs: ClassVar[int | None] = 1

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

    def infer_inputs(self, input_shapes: tuple[Shape, ...], input_names: tuple[str, ...] = ()) -> Inference:
        """`infer` for the shapes of all its inputs (named, for messages): a merge overrides it, any other layer has one."""
        return self.infer(input_shapes[0])

    @property
    def is_merge(self) -> bool:
        return self.max_inputs != 1

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


def mixing_window(input_shape: Shape, axes: tuple[int, ...]) -> str | None:
    """The window of a layer that combines the values along `axes` (indices into the shape): global when they
    cover every position axis (a vector's one axis, or a map's all but the channels), else pixel-wise.

    A vector's values are positions laid out by Flatten, so softmax or Dense over it mixes every pixel's field.
    """
    positions = set(range(max(len(input_shape) - 1, 1)))
    return GLOBAL_WINDOW if positions <= set(axes) else None


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


Numbers = float | tuple[float, ...]
"""A number, or one per position along an axis (Rescaling's scale, Normalization's mean)."""


def shape_axes(layer: Layer, axes: tuple[int, ...], shape: Shape) -> tuple[int, ...]:
    """Keras axes (the batch axis is 0, -1 the last) as sorted indices into `shape`, which has no batch axis."""
    rank = len(shape)
    resolved = sorted(axis - 1 if axis > 0 else rank + axis for axis in axes)
    if any(not 0 <= axis < rank for axis in resolved) or len(set(resolved)) != len(resolved):
        raise ShapeError(
            f"axis {list(axes)} does not fit the input {shape}: use 1 to {rank} or -1 to -{rank}"
            " (Keras counts the batch axis as 0), each axis once",
            layer_type=layer.type_name,
            field_name="axis",
        )
    return tuple(resolved)


def numbers_text(values: Numbers) -> str:
    """3.0 as "3", (0.5, 0.25) as "[0.5, 0.25]": short, for a table cell."""
    if isinstance(values, tuple):
        return "[" + ", ".join(f"{value:.4g}" for value in values) + "]"
    return f"{values:.4g}"
