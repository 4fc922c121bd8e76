"""Worked formulas: every figure of a layer with the layer's own numbers put in, for learners.

`explain(stack_info, index, convention)` returns the formulas in reading order: where the
inputs come from (when not simply the layer above), output sides, channels (and why), or for a
merge how its inputs combine, each weight's layout, parameters, MACs and the receptive field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from convtui.model import layers as catalogue
from convtui.model.convention import Convention, display_shape, display_weight, shape_text
from convtui.model.geometry import axis_pads
from convtui.model.graph import INPUT_NAME
from convtui.model.layers import Layer, Shape, WeightInfo
from convtui.model.layers.base import numbers_text, shape_axes
from convtui.model.layers.merging import aligned_shape, rank_broadcast_text
from convtui.model.stack import INPUT_FIELD, LayerInfo, ReceptiveField, StackInfo

AXES = ("H", "W")


@dataclass(frozen=True, slots=True)
class Formula:
    """One figure: what it is, the arithmetic with the layer's numbers, and why (may be empty)."""

    quantity: str
    formula: str
    reason: str = ""


def explain(stack_info: StackInfo, layer: int | str, convention: Convention = "keras") -> list[Formula]:
    """The formulas of one layer, given by index or name (LayerNotFound for neither)."""
    info = stack_info.layer(layer)
    if not info.is_valid or info.input_shape is None or info.output_shape is None:
        return [Formula("error", info.error or "this layer cannot apply")]
    formulas = [Formula("does", what_it_does(info.layer, info.input_shape))]
    formulas += source_formulas(stack_info, info, convention)
    formulas += merge_formulas(info, convention) if info.layer.is_merge else shape_formulas(info, convention)
    formulas += weight_formulas(info, convention)
    formulas.append(params_formula(info))
    formulas.append(macs_formula(info))
    formulas.append(field_formula(stack_info, info))
    return formulas


def what_it_does(layer: Layer, input_shape: tuple[int, ...]) -> str:
    """The layer type's description; a grouped convolution's filters span their group's channels, not all of them."""
    if isinstance(layer, catalogue.Conv2D) and layer.groups > 1:
        per_group = input_shape[-1] // layer.groups
        return f"2-D convolution in {layer.groups} groups: each filter spans the {per_group} input channels of its group and sums over them"
    return layer.description


# --- inputs ---------------------------------------------------------------------------------


def source_formulas(stack_info: StackInfo, info: LayerInfo, convention: Convention) -> list[Formula]:
    """Where the inputs come from, by name: every input of a merge, the one input of another layer
    only when it is not simply the layer above (in a graph that is worth saying)."""
    above = stack_info.layers[info.index - 1].name if info.index else INPUT_NAME
    if not info.layer.is_merge and info.inputs == (above,):
        return []
    sources = "; ".join(
        f"{source_text(stack_info, name)}: {shape_text(display_shape(shape, convention))}"
        for name, shape in zip(info.inputs, info.input_shapes)
    )
    if info.layer.is_merge:
        return [Formula("inputs", sources)]
    return [Formula("input", sources, "named in its inputs: not the layer above")]


def source_text(stack_info: StackInfo, name: str) -> str:
    source = stack_info.named(name)
    return "the network's input" if source is None else f"{name} (layer {source.index})"


# --- shapes ---------------------------------------------------------------------------------


def shape_formulas(info: LayerInfo, convention: Convention) -> list[Formula]:
    layer, (source, result) = info.layer, (info.input_shape, info.output_shape)
    assert source is not None and result is not None
    formulas = spatial_formulas(layer, source, result)
    formulas += [formula for formula in (channel_formula(layer, source, result), value_formula(layer, source)) if formula is not None]
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
    if isinstance(layer, catalogue.Cropping2D):
        return [
            Formula(f"out {AXES[axis]}", f"{source[axis]} - {layer.cropping[axis][0]} - {layer.cropping[axis][1]} = {result[axis]}",
                    ("top", "left")[axis] + " and " + ("bottom", "right")[axis] + " edges removed")
            for axis in (0, 1)
        ]
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
        return Formula("out units", f"units = {layer.units}", dense_reason(layer, source))
    if isinstance(layer, catalogue.Flatten):
        return Formula("out", " * ".join(map(str, source)) + f" = {result[0]:,}", "the map laid out as one vector, row by row, channels last")
    if isinstance(layer, catalogue.GlobalPooling2D):
        return Formula("out C", f"{channels}", "one value per channel, pooled over the whole map")
    if isinstance(layer, (catalogue.Pooling2D, catalogue.ZeroPadding2D, catalogue.UpSampling2D, catalogue.Cropping2D)):
        return Formula("out C", f"{channels}", "each channel is processed separately")
    if isinstance(layer, catalogue.Reshape):
        return reshape_formula(layer, source, result)
    if isinstance(layer, catalogue.LayerNormalization):
        return Formula("out", "same shape", "each value is normalised with the others of its group, not on its own")
    if isinstance(layer, catalogue.Activation) and layer.activation == "softmax":
        return Formula("out", "same shape", f"softmax over the last axis: each position's {channels:,} values become positive and sum to 1")
    if source == result:
        return Formula("out", "same shape", "applies to each value separately")
    return None


def reshape_formula(layer: catalogue.Reshape, source: Shape, result: Shape) -> Formula:
    """The values are only laid out anew, so their count must match: the product check, and what -1 became."""
    count = math.prod(source)
    product = f"{'*'.join(map(str, result))} = " if len(result) > 1 else ""
    reason = f"the target {shape_text(result)} holds {product}{count:,} values too"
    if -1 in layer.target_shape:
        known = math.prod(side for side in layer.target_shape if side != -1)
        reason += f"; -1 became {count:,} / {known:,} = {result[layer.target_shape.index(-1)]:,}"
    return Formula("values", f"{'*'.join(map(str, source))} = {count:,}", reason)


EPSILON = 1e-7
"""Keras's backend.epsilon(): Normalization divides by at least this."""


def value_formula(layer: Layer, source: Shape) -> Formula | None:
    """What each output value is, for the layers whose arithmetic is the point: rescaling and normalising."""
    if isinstance(layer, catalogue.Rescaling):
        return rescaling_formula(layer)
    if isinstance(layer, catalogue.Normalization):
        divisor = f"max(sqrt(variance), {EPSILON:g})"
        formula = f"mean + x * {divisor}" if layer.invert else f"(x - mean) / {divisor}"
        if layer.mean is None:
            given = "mean and variance are weights (below), set by adapt() from the data"
        else:
            given = f"mean {numbers_text(layer.mean)} and variance {numbers_text(layer.variance)} are given, so no weights"  # type: ignore[arg-type]
        return Formula("value", formula, f"{given}; {statistics_text(layer, source)}")
    if isinstance(layer, catalogue.LayerNormalization):
        return layer_normalization_formula(layer, source)
    if isinstance(layer, catalogue.LayerScale):
        return Formula("value", "x * gamma", f"one learned scale per channel, started at {layer.init_values:g}")
    return None


def rescaling_formula(layer: catalogue.Rescaling) -> Formula:
    """x * scale + offset as a person writes it: x / 255 for 1/255, "- 1" for an offset of -1."""
    scale, offset = layer.scale, layer.offset
    divisor = 1 / scale if isinstance(scale, float) and scale else 0.0
    formula = f"x / {divisor:g}" if math.isfinite(divisor) and divisor > 1 and abs(divisor * 2 - round(divisor * 2)) < 1e-9 else f"x * {numbers_text(scale)}"
    if isinstance(offset, float) and offset < 0:
        formula += f" - {numbers_text(-offset)}"
    elif offset != 0:
        formula += f" + {numbers_text(offset)}"
    if isinstance(scale, tuple) or isinstance(offset, tuple):
        return Formula("value", formula, "a scale (and offset) per channel; nothing is learned")
    return Formula("value", formula, f"pixels 0..255 become {offset:.4g}..{255 * scale + offset:.4g}; nothing is learned")


def statistics_text(layer: catalogue.Normalization, source: Shape) -> str:
    """Which values share a mean and a variance: Keras's `axis` keeps its own statistics per position along it."""
    if not layer.axis:
        return "one mean and variance for every value"
    kept = shape_axes(layer, layer.axis, source)
    if kept == (len(source) - 1,):
        return f"one mean and variance per channel ({source[-1]:,})"
    return f"one mean and variance per position along axis {list(layer.axis)} ({math.prod(source[a] for a in kept):,})"


def layer_normalization_formula(layer: catalogue.LayerNormalization, source: Shape) -> Formula:
    """Keras's arithmetic (rms_scaling: without the mean and beta), and which values are normalised together."""
    kept = shape_axes(layer, layer.axis, source)
    group = math.prod(source[axis] for axis in kept)
    if layer.rms_scaling:
        formula = f"x / sqrt(variance + {layer.epsilon:g}) * gamma"
    else:
        formula = f"(x - mean) / sqrt(variance + {layer.epsilon:g})" + (" * gamma" if layer.scale else "") + (" + beta" if layer.center else "")
    where = f"each pixel's own {group:,} channels" if kept == (len(source) - 1,) and len(source) > 1 else f"the {group:,} values along axis {list(layer.axis)}"
    statistics = "the variance" if layer.rms_scaling else "mean and variance"
    return Formula("value", formula, f"{statistics} of {where}, computed anew for every image: nothing is kept, unlike BatchNormalization")


def dense_reason(layer: catalogue.Dense, source: Shape) -> str:
    """Dense on a map acts on the last axis at every pixel, as in Keras: say so, and what usually comes first."""
    features = source[-1]
    if len(source) == 1:
        return f"each unit is a weighted sum of all {features:,} inputs"
    positions = math.prod(source[:-1])
    return (
        f"Dense acts on the last axis, as in Keras: at each of the {positions:,} positions"
        f" ({'x'.join(map(str, source[:-1]))}) the same kernel turns that position's {features:,} values into"
        f" {layer.units} units; for one vector per image, Flatten or GlobalAveragePooling2D usually comes first"
    )


# --- merges ---------------------------------------------------------------------------------

AXIS_WORDS = (("out H", "rows"), ("out W", "columns"), ("out C", "channels"))
"""Per axis of an (H, W, C) map: the quantity a concatenation along it sets, and what it counts."""
TORCH_DIMS = (2, 3, 1)
"""torch.cat's dim for the H, W and C axes of Keras's map, with the batch axis (N, C, H, W)."""


def merge_formulas(info: LayerInfo, convention: Convention) -> list[Formula]:
    """How the inputs combine into the output shape, with each input's shape."""
    assert info.output_shape is not None
    if isinstance(info.layer, catalogue.Concatenate):
        formulas = [concatenate_formula(info.layer, info.input_shapes, info.output_shape, convention)]
    else:
        formulas = [elementwise_formula(info.layer, info.input_shapes, convention)]
        formulas += [broadcast_formula(info.layer, name, shape, info.output_shape, convention)
                     for name, shape in zip(info.inputs, info.input_shapes) if shape != info.output_shape]
    shapes = ", ".join(shape_text(display_shape(shape, convention)) for shape in info.input_shapes)
    formulas.append(Formula("output shape", f"{shapes} -> {shape_text(display_shape(info.output_shape, convention))}"))
    return formulas


def elementwise_formula(layer: Layer, shapes: tuple[Shape, ...], convention: Convention) -> Formula:
    """"(56, 56, 256) + (56, 56, 256), elementwise, no weights": the operation on the inputs' shapes."""
    assert isinstance(layer, catalogue.ElementwiseMerge)
    texts = [shape_text(display_shape(shape, convention)) for shape in shapes]
    operation = f"{layer.symbol}({', '.join(texts)})" if layer.symbol.isalpha() else f" {layer.symbol} ".join(texts)
    return Formula("merge", f"{operation}, elementwise, no weights", f"it {layer.verb} the values at the same position in its inputs")


def broadcast_formula(layer: Layer, name: str, shape: Shape, result: Shape, convention: Convention) -> Formula:
    """An input with sides of 1 is repeated along them, as NumPy broadcasts; a (1, 1, C) gate scales whole channels.
    A lower-rank input is lined up with the result's last axes first, as Keras expands it after the batch axis."""
    repeated = [axis for axis, (side, total) in enumerate(zip(aligned_shape(shape, len(result)), result)) if side != total]
    shown = f"{name}: {shape_text(display_shape(shape, convention))} -> {shape_text(display_shape(result, convention))}"
    lower_rank = rank_broadcast_text(shape, result)
    if len(result) == 3 and repeated == [0, 1]:
        verb = {"Multiply": "scales", "Add": "is added to"}.get(layer.type_name, "applies to")
        laid = f"{lower_rank}: each" if lower_rank else f"its sides of 1 are repeated over the {result[0]}x{result[1]} map: each"
        return Formula("broadcast", shown, f"{laid} of its {result[2]:,} values {verb} every pixel of one channel")
    if lower_rank:
        return Formula("broadcast", shown, f"{lower_rank} (Keras expands it after the batch axis)")
    axes = ", ".join(axis_name(axis, len(result)) for axis in repeated)
    return Formula("broadcast", shown, f"its sides of 1 are repeated along {axes}, as NumPy broadcasts")


def axis_name(axis: int, rank: int) -> str:
    """An axis of a shape without the batch axis: H, W, C for a map, else Keras's number (counting the batch)."""
    return "HWC"[axis] if rank == 3 else f"axis {axis + 1}"


def concatenate_formula(layer: catalogue.Concatenate, shapes: tuple[Shape, ...], result: Shape, convention: Convention) -> Formula:
    """"64 + 128 + 32 = 224 channels": the sides along the joined axis add up; the others must be equal."""
    axis = layer.shape_axis(len(result))
    assert axis is not None
    last = axis == len(result) - 1
    quantity, noun = AXIS_WORDS[axis] if len(result) == 3 else ("out" if last else f"out axis {layer.axis}", "values")
    sides = " + ".join(str(shape[axis]) for shape in shapes)
    others = [side for position, side in enumerate(result) if position != axis]
    same = f"; the other sides, {'x'.join(map(str, others))}, are the same in every input" if others else ""
    torch = f" (torch.cat dim={TORCH_DIMS[axis]})" if convention == "torch" and len(result) == 3 else ""
    return Formula(quantity, f"{sides} = {result[axis]:,} {noun}", f"joined along axis {layer.axis}{torch}{same}")


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
WEIGHT_REASONS = {
    ("Normalization", "mean"): "set by adapt() from the data, not by gradients: non-trainable",
    ("Normalization", "variance"): "set by adapt() from the data, not by gradients: non-trainable",
    ("Normalization", "count"): "how many samples adapt() has seen: one number, non-trainable (Keras counts it as a parameter)",
}


def weight_formulas(info: LayerInfo, convention: Convention) -> list[Formula]:
    layouts = TORCH_LAYOUTS if convention == "torch" else KERAS_LAYOUTS
    formulas = []
    for weight in info.weights:
        name, shape = display_weight(weight, convention)
        layout = layouts.get((info.layer.type_name, weight.name), "(C,)" if len(shape) == 1 else "")
        reason = WEIGHT_REASONS.get((info.layer.type_name, weight.name), "" if weight.trainable else STATISTICS_REASON)
        formulas.append(Formula(name, f"{layout} = {shape_text(shape)}".lstrip("= "), reason))
    return formulas


def product_text(weight: WeightInfo) -> str:
    return "*".join(str(side) for side in weight.shape) or "1"  # a scalar weight, as Normalization's count


def params_formula(info: LayerInfo) -> Formula:
    """The sum of the weights' sizes; a layer with one weight per channel (LayerScale's gamma) says so
    rather than "6 = 6"."""
    if not info.weights:
        return Formula("params", "0", "nothing to learn: a merge only combines its inputs" if info.layer.is_merge else "this layer has no weights")
    if len(info.weights) == 1 and info.weights[0].shape == info.output_shape[-1:]:  # type: ignore[index]
        return Formula("params", f"C = {info.params:,}", f"one {info.weights[0].name} per channel")
    terms = " + ".join(product_text(weight) for weight in info.weights)
    reason = ""
    if info.non_trainable_params:
        reason = f"trainable {info.trainable_params:,}, non-trainable {info.non_trainable_params:,}"
    elif isinstance(info.layer, catalogue.LayerNormalization) and len(info.weights) == 2:
        per = f"each of the {info.weights[0].size:,} channels" if info.weights[0].shape == info.output_shape[-1:] else "each value normalised together"  # type: ignore[index]
        reason = f"a gamma and a beta for {per}" + (" (2C)" if per.endswith("channels") else "")
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


def field_formula(stack_info: StackInfo, info: LayerInfo) -> Formula:
    """The receptive field from the input's (found by name); a merge's is its widest input's."""
    field = info.receptive_field
    if field is None:
        return UNTRACKED
    fields = {name: input_field(stack_info, name) for name in info.inputs}
    if len(fields) == 1 or None in fields.values():
        return receptive_field_formula(field, *fields.values(), stack_info.input_shape)  # type: ignore[arg-type]
    return merge_field_formula(field, fields)  # type: ignore[arg-type]


UNTRACKED = Formula(
    "receptive field",
    "not tracked",
    "a Flatten or Reshape above laid the values out anew, then a window spanned several of them (or a merge met a"
    " map's pixels): convtui does not follow which pixel each laid-out value came from, so it cannot say which"
    " pixels this output sees",
)


def input_field(stack_info: StackInfo, name: str) -> ReceptiveField | None:
    source = stack_info.named(name)
    return INPUT_FIELD if source is None else source.receptive_field


def merge_field_formula(field: ReceptiveField, fields: dict[str, ReceptiveField]) -> Formula:
    """"7x7, jump 2, through conv2d_1, the widest of its 2 inputs (add: 1x1)": which path sets the field."""
    widest_name = max(fields, key=lambda name: fields[name].area)
    others = ", ".join(f"{name}: {field_text(other)}" for name, other in fields.items() if name != widest_name)
    jump = "" if field.is_global or field.is_laid_out else f", jump {number(field.jump[0])}"
    return Formula(
        "receptive field",
        f"{field_text(field)}{jump}, through {widest_name}, the widest of its {len(fields)} inputs ({others})",
        "an output pixel depends on the same position in every input, so it sees what the widest path sees",
    )


def field_text(field: ReceptiveField) -> str:
    return "global" if field.is_global else f"{number(field.size[0])}x{number(field.size[1])}"


def receptive_field_formula(field: ReceptiveField, previous: ReceptiveField | None, input_shape: tuple[int, ...]) -> Formula:
    """How this layer's window grows its input's field; `previous` is None (not tracked) only before a global field."""
    if field.is_global:
        return Formula("receptive field", "global", f"every output depends on the whole {input_shape[0]}x{input_shape[1]} input")
    assert previous is not None
    size = field_text(field)
    if field.is_laid_out and not previous.is_laid_out:
        return Formula(
            "receptive field",
            f"{size} (unchanged), no jump",
            "each value is a copy of one pixel's value, so it sees what that pixel saw; laid out anew, a position is"
            " no pixel any more and neighbouring values need not be neighbouring fields, so there is no jump or start",
        )
    if field.size == previous.size and (field.is_laid_out or field.jump == previous.jump):
        laid_out = "; since a Flatten or Reshape above, a position is no pixel, so there is no jump" if field.is_laid_out else ""
        return Formula("receptive field", f"{size} (unchanged)", f"each output depends on one position of its input{laid_out}")
    growth = number((field.size[0] - previous.size[0]) / previous.jump[0] + 1)
    return Formula(
        "receptive field",
        f"{number(previous.size[0])} + ({growth}-1)*{number(previous.jump[0])} = {number(field.size[0])} input pixels"
        f" ({size}), jump {number(field.jump[0])}",
        "the window seen in the input by one output pixel; jump = input pixels between neighbouring outputs",
    )


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"
