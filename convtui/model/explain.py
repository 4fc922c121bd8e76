"""Worked formulas: every figure of a layer with the layer's own numbers put in, for learners.

`explain(stack_info, index, convention)` returns the formulas in reading order: output sides,
channels (and why), each weight's layout, parameters, MACs and the receptive field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from convtui.model import layers as catalogue
from convtui.model.convention import Convention, display_shape, display_weight, shape_text
from convtui.model.geometry import axis_pads
from convtui.model.layers import Layer, WeightInfo
from convtui.model.stack import INPUT_FIELD, LayerInfo, ReceptiveField, StackInfo

AXES = ("H", "W")


@dataclass(frozen=True, slots=True)
class Formula:
    """One figure: what it is, the arithmetic with the layer's numbers, and why (may be empty)."""

    quantity: str
    formula: str
    reason: str = ""


def explain(stack_info: StackInfo, index: int, convention: Convention = "keras") -> list[Formula]:
    info = stack_info.layers[index]
    if not info.is_valid or info.input_shape is None or info.output_shape is None:
        return [Formula("error", info.error or "this layer cannot apply")]
    previous = stack_info.layers[index - 1].receptive_field if index else INPUT_FIELD
    formulas = [Formula("does", what_it_does(info.layer, info.input_shape))]
    formulas += shape_formulas(info, convention)
    formulas += weight_formulas(info, convention)
    formulas.append(params_formula(info))
    formulas.append(macs_formula(info))
    if info.receptive_field is not None and previous is not None:
        formulas.append(receptive_field_formula(info.receptive_field, previous, stack_info.input_shape))
    return formulas


def what_it_does(layer: Layer, input_shape: tuple[int, ...]) -> str:
    """The layer type's description; a grouped convolution's filters span their group's channels, not all of them."""
    if isinstance(layer, catalogue.Conv2D) and layer.groups > 1:
        per_group = input_shape[-1] // layer.groups
        return f"2-D convolution in {layer.groups} groups: each filter spans the {per_group} input channels of its group and sums over them"
    return layer.description


# --- shapes ---------------------------------------------------------------------------------


def shape_formulas(info: LayerInfo, convention: Convention) -> list[Formula]:
    layer, (source, result) = info.layer, (info.input_shape, info.output_shape)
    assert source is not None and result is not None
    formulas = spatial_formulas(layer, source, result)
    channel = channel_formula(layer, source, result)
    if channel is not None:
        formulas.append(channel)
    formulas.append(Formula("output shape", f"{shape_text(display_shape(source, convention))} -> {shape_text(display_shape(result, convention))}"))
    return formulas


def spatial_formulas(layer: Layer, source: tuple[int, ...], result: tuple[int, ...]) -> list[Formula]:
    if isinstance(layer, catalogue.Conv2DTranspose):
        return [transpose_side(layer, axis, source[axis], result[axis]) for axis in (0, 1)]
    window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if window is not None and len(source) == 3:
        return [window_side(layer, axis, source[axis], result[axis]) for axis in (0, 1)]
    if isinstance(layer, catalogue.ZeroPadding2D):
        return [
            Formula(f"out {AXES[axis]}", f"{source[axis]} + {layer.padding[axis][0]} + {layer.padding[axis][1]} = {result[axis]}")
            for axis in (0, 1)
        ]
    if isinstance(layer, catalogue.UpSampling2D):
        return [Formula(f"out {AXES[axis]}", f"{source[axis]} * {layer.size[axis]} = {result[axis]}") for axis in (0, 1)]
    return []


def window_side(layer: Layer, axis: int, size: int, result: int) -> Formula:
    kernel = (getattr(layer, "kernel_size", None) or getattr(layer, "pool_size"))[axis]
    stride = (layer.step if isinstance(layer, catalogue.Pooling2D) else getattr(layer, "strides"))[axis]
    dilation = getattr(layer, "dilation_rate", (1, 1))[axis]
    padding = getattr(layer, "padding")
    quantity = f"out {AXES[axis]}"
    if padding == "same":
        before, after = axis_pads(padding, axis, size, kernel, stride, dilation)
        odd = " (the odd pixel goes last)" if before != after else ""
        return Formula(quantity, f"ceil({size} / {stride}) = {result}", f'"same" pads {before} before and {after} after{odd}')
    before, after = axis_pads(padding, axis, size, kernel, stride, dilation)
    padded = f"{size} + {before + after}"
    span = f"{dilation}*({kernel}-1) - 1" if not isinstance(layer, catalogue.Pooling2D) else f"{kernel}"
    return Formula(quantity, f"floor(({padded} - {span}) / {stride}) + 1 = {result}", "one output per window position")


def transpose_side(layer: catalogue.Conv2DTranspose, axis: int, size: int, result: int) -> Formula:
    kernel, stride = layer.kernel_size[axis], layer.strides[axis]
    if layer.padding == "same":
        return Formula(f"out {AXES[axis]}", f"{size} * {stride} = {result}", '"same": the input side times the stride')
    return Formula(f"out {AXES[axis]}", f"{size} * {stride} + max({kernel} - {stride}, 0) = {result}", "each input pixel paints a kernel-sized patch")


def channel_formula(layer: Layer, source: tuple[int, ...], result: tuple[int, ...]) -> Formula | None:
    channels = source[-1]
    if isinstance(layer, catalogue.Conv2D):
        per_filter = channels // layer.groups
        kh, kw = layer.kernel_size
        if layer.groups == 1 and channels == 1:
            why = f"each of the {layer.filters} filters is {kh}x{kw}x1 and looks at the single input channel, giving one output channel"
        elif layer.groups == 1:
            why = f"each of the {layer.filters} filters is {kh}x{kw}x{channels} and sums over all {channels} input channels, giving one output channel"
        else:
            why = f"each filter is {kh}x{kw}x{per_filter} and sums over the {per_filter} channels of its group ({layer.groups} groups)"
        return Formula("out C", f"filters = {layer.filters}", why)
    if isinstance(layer, catalogue.DepthwiseConv2D):
        return Formula(
            "out C",
            f"{channels} * {layer.depth_multiplier} = {result[-1]}",
            "each input channel is convolved on its own, with its own filter(s); nothing is summed over channels",
        )
    if isinstance(layer, catalogue.SeparableConv2D):
        middle = channels * layer.depth_multiplier
        return Formula("out C", f"filters = {layer.filters}", f"{middle} depthwise maps (one per channel), then {layer.filters} pointwise 1x1x{middle} filters mix them")
    if isinstance(layer, catalogue.Conv2DTranspose):
        return Formula("out C", f"filters = {layer.filters}", f"each filter takes all {channels} input channels")
    if isinstance(layer, catalogue.Dense):
        positions = math.prod(source[:-1])
        where = "" if len(source) == 1 else f", the same kernel at each of the {positions:,} positions (Dense acts on the last axis)"
        return Formula("out units", f"units = {layer.units}", f"each unit is a weighted sum of all {channels:,} inputs{where}")
    if isinstance(layer, catalogue.Flatten):
        return Formula("out", " * ".join(map(str, source)) + f" = {result[0]:,}", "the map laid out as one vector, row by row, channels last")
    if isinstance(layer, catalogue.GlobalPooling2D):
        return Formula("out C", f"{channels}", "one value per channel, pooled over the whole map")
    if isinstance(layer, (catalogue.Pooling2D, catalogue.ZeroPadding2D, catalogue.UpSampling2D)):
        return Formula("out C", f"{channels}", "each channel is processed separately")
    if source == result:
        return Formula("out", "same shape", "applies to each value separately")
    return None


# --- weights and costs ----------------------------------------------------------------------

KERAS_LAYOUTS = {
    ("Conv2D", "kernel"): "(kh, kw, C_in/groups, filters)",
    ("Conv2DTranspose", "kernel"): "(kh, kw, filters, C_in)",
    ("Dense", "kernel"): "(inputs, units)",
    ("DepthwiseConv2D", "kernel"): "(kh, kw, C_in, depth_multiplier)",
    ("SeparableConv2D", "depthwise_kernel"): "(kh, kw, C_in, depth_multiplier)",
    ("SeparableConv2D", "pointwise_kernel"): "(1, 1, C_in*depth_multiplier, filters)",
}
TORCH_LAYOUTS = {
    ("Conv2D", "kernel"): "(filters, C_in/groups, kh, kw)",
    ("Conv2DTranspose", "kernel"): "(C_in, filters, kh, kw)",
    ("Dense", "kernel"): "(units, inputs)",
    ("DepthwiseConv2D", "kernel"): "(C_in*depth_multiplier, 1, kh, kw)",
    ("SeparableConv2D", "depthwise_kernel"): "(C_in*depth_multiplier, 1, kh, kw)",
    ("SeparableConv2D", "pointwise_kernel"): "(filters, C_in*depth_multiplier, 1, 1)",
}
STATISTICS_REASON = "a statistic updated while training, not by gradients: non-trainable (PyTorch keeps it as a buffer)"


def weight_formulas(info: LayerInfo, convention: Convention) -> list[Formula]:
    layouts = TORCH_LAYOUTS if convention == "torch" else KERAS_LAYOUTS
    formulas = []
    for weight in info.weights:
        name, shape = display_weight(weight, convention)
        layout = layouts.get((info.layer.type_name, weight.name), "(C,)" if len(shape) == 1 else "")
        formulas.append(Formula(name, f"{layout} = {shape_text(shape)}".lstrip("= "), "" if weight.trainable else STATISTICS_REASON))
    return formulas


def product_text(weight: WeightInfo) -> str:
    return "*".join(str(side) for side in weight.shape)


def params_formula(info: LayerInfo) -> Formula:
    if not info.weights:
        return Formula("params", "0", "this layer has no weights")
    terms = " + ".join(product_text(weight) for weight in info.weights)
    reason = ""
    if info.non_trainable_params:
        reason = f"trainable {info.trainable_params:,}, non-trainable {info.non_trainable_params:,}"
    return Formula("params", f"{terms} = {info.params:,}", reason)


def macs_formula(info: LayerInfo) -> Formula:
    kernels = [weight for weight in info.weights if len(weight.shape) > 1]
    if not info.macs or not kernels:
        return Formula("MACs", "0", "no weighted products (MACs count multiply-accumulates of weights, as torchinfo)")
    per_position = sum(weight.size for weight in kernels)
    positions = info.macs // per_position
    products = " + ".join(product_text(weight) for weight in kernels)
    products = f"({products})" if len(kernels) > 1 else products
    source = info.input_shape or ()
    if isinstance(info.layer, catalogue.Conv2DTranspose):
        where = f"{source[0]}*{source[1]} input pixels"
    elif len(info.output_shape or ()) == 3:
        where = f"{info.output_shape[0]}*{info.output_shape[1]} positions"  # type: ignore[index]
    else:
        where = f"{positions:,} position" + ("s" if positions != 1 else "")
    return Formula("MACs", f"{where} * {products} = {info.macs:,}", "one multiply-accumulate per weight per position")


def receptive_field_formula(field: ReceptiveField, previous: ReceptiveField, input_shape: tuple[int, ...]) -> Formula:
    if field.is_global:
        return Formula("receptive field", "global", f"every output depends on the whole {input_shape[0]}x{input_shape[1]} input")
    size = f"{number(field.size[0])}x{number(field.size[1])}"
    if field == previous:
        return Formula("receptive field", f"{size} (unchanged)", "each output depends on one position of its input")
    growth = number((field.size[0] - previous.size[0]) / previous.jump[0] + 1)
    return Formula(
        "receptive field",
        f"{number(previous.size[0])} + ({growth}-1)*{number(previous.jump[0])} = {number(field.size[0])} input pixels"
        f" ({size}), jump {number(field.jump[0])}",
        "the window seen in the input by one output pixel; jump = input pixels between neighbouring outputs",
    )


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"
