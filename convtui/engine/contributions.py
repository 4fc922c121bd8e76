"""The explain view's drill-down: one output value of a convolution, taken apart by input channel.

For filter k at output position (i, j): each input channel c contributes the sum of its input
patch times filter k's slice for c; those contributions, plus the bias, make the value before
the activation. Every convolution of the catalogue fits that form: a depthwise filter reads one
channel, a separable filter's slice is its depthwise filter scaled by the pointwise weights, and
a transposed convolution's patch holds the input pixels whose stamps reach (i, j). Written as
plain indexing so a learner can follow it, and checked against the engine's fast convolutions in
the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from convtui.errors import EngineError
from convtui.model.geometry import Padding, axis_pads, transpose_crop
from convtui.model.layers import Conv2D, Conv2DTranspose, DepthwiseConv2D, Layer, SeparableConv2D


@dataclass(frozen=True, eq=False)
class ChannelContribution:
    """What one input channel adds to the output value."""

    channel: int
    patch: np.ndarray
    """(kh, kw) the input value each kernel tap multiplies; zero where a tap falls in the padding."""
    weights: np.ndarray
    """(kh, kw) the filter's slice for this channel."""

    @property
    def contribution(self) -> float:
        return float(np.sum(self.patch.astype(np.float64) * self.weights.astype(np.float64)))


@dataclass(frozen=True, eq=False)
class Drilldown:
    """The value of output (row, column, filter_index) before the activation, channel by channel."""

    filter_index: int
    row: int
    column: int
    channels: tuple[ChannelContribution, ...]
    bias: float | None
    """None for a layer without a bias (use_bias = False)."""
    how: str = ""
    """How this layer type's filter meets the input, in a sentence (empty for a plain Conv2D)."""

    @property
    def channel_sum(self) -> float:
        return sum(channel.contribution for channel in self.channels)

    @property
    def total(self) -> float:
        """Sum over channels plus the bias: the pre-activation value."""
        return self.channel_sum + (self.bias or 0.0)


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """The arguments of a convolution that decide which input pixels a filter sees."""

    strides: tuple[int, int]
    padding: Padding
    dilation_rate: tuple[int, int]
    groups: int


DRILLDOWN_LAYERS = (Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose)


def supports_drilldown(layer: Layer) -> bool:
    return isinstance(layer, DRILLDOWN_LAYERS)


def layer_drilldown(
    layer: Layer, layer_input: np.ndarray, weights: dict[str, np.ndarray], filter_index: int, row: int, column: int
) -> Drilldown:
    """The drill-down of output (row, column, filter_index) of a convolution, from its input (H, W, C) and Keras weights."""
    bias = weights.get("bias")
    if isinstance(layer, Conv2D):
        geometry = ConvGeometry(layer.strides, layer.padding, layer.dilation_rate, layer.groups)
        return conv_drilldown(layer_input, weights["kernel"], bias, geometry, filter_index, row, column)
    if isinstance(layer, DepthwiseConv2D):
        return depthwise_drilldown(layer, layer_input, weights["kernel"], bias, filter_index, row, column)
    if isinstance(layer, SeparableConv2D):
        return separable_drilldown(layer, layer_input, weights, filter_index, row, column)
    if isinstance(layer, Conv2DTranspose):
        return transpose_drilldown(layer, layer_input, weights["kernel"], bias, filter_index, row, column)
    raise EngineError(f"the drill-down explains convolutions, not {layer.type_name}", layer_type=layer.type_name)


def depthwise_drilldown(
    layer: DepthwiseConv2D, layer_input: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, filter_index: int, row: int, column: int
) -> Drilldown:
    """(kh, kw, C, M) is a grouped convolution with C groups of one channel: output c*M + m reads channel c alone."""
    height, width, channels, multiplier = kernel.shape
    grouped = kernel.reshape(height, width, 1, channels * multiplier)
    geometry = ConvGeometry(layer.strides, layer.padding, layer.dilation_rate, channels)
    drilldown = conv_drilldown(layer_input, grouped, bias, geometry, filter_index, row, column)
    how = f"DepthwiseConv2D: output channel k reads input channel k // {multiplier} only (depth multiplier {multiplier})"
    return replace(drilldown, how=how)


def separable_drilldown(
    layer: SeparableConv2D, layer_input: np.ndarray, weights: dict[str, np.ndarray], filter_index: int, row: int, column: int
) -> Drilldown:
    """Depthwise then pointwise is one convolution whose slice for channel c is sum_m pointwise[c*M+m, k] * depthwise[:, :, c, m]."""
    depthwise = weights["depthwise_kernel"].astype(np.float64)
    height, width, channels, multiplier = depthwise.shape
    pointwise = weights["pointwise_kernel"].astype(np.float64).reshape(channels, multiplier, -1)
    kernel = np.einsum("hwcm,cmf->hwcf", depthwise, pointwise)
    geometry = ConvGeometry(layer.strides, layer.padding, layer.dilation_rate, 1)
    drilldown = conv_drilldown(layer_input, kernel, weights.get("bias"), geometry, filter_index, row, column)
    terms = "pointwise weight (c, k)" if multiplier == 1 else f"its pointwise weights, summed over the depth multiplier {multiplier}"
    how = f"SeparableConv2D: filter k's slice for channel c is channel c's depthwise filter times {terms}"
    return replace(drilldown, how=how)


def transpose_drilldown(
    layer: Conv2DTranspose, layer_input: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, filter_index: int, row: int, column: int
) -> Drilldown:
    """Input pixel (p, q) stamps kernel tap (a, b) at (p*s + a - crop, q*s + b - crop): the taps that land on (row, column).

    `kernel` is Keras's (kh, kw, filters, C_in). A tap no input pixel puts on (row, column) has a zero patch value.
    """
    kernel_h, kernel_w, filters, channels = kernel.shape
    check_filter(filter_index, filters)
    rows = stamp_sources(row, kernel_h, layer.strides[0], transpose_crop(kernel_h, layer.strides[0], layer.padding))
    columns = stamp_sources(column, kernel_w, layer.strides[1], transpose_crop(kernel_w, layer.strides[1], layer.padding))
    contributions = tuple(
        ChannelContribution(channel, input_patch(layer_input[:, :, channel], rows, columns), kernel[:, :, filter_index, channel])
        for channel in range(channels)
    )
    how = (
        "Conv2DTranspose: each input pixel stamps the kernel onto the output; the patch holds, for each tap,"
        " the input pixel whose stamp puts that tap here (0 where none does)"
    )
    return Drilldown(filter_index, row, column, contributions, bias_at(bias, filter_index), how)


def stamp_sources(position: int, kernel: int, stride: int, crop: int) -> np.ndarray:
    """Per tap a, the input index p with p*stride + a - crop == position, or -1 where no p lands there."""
    offsets = position + crop - np.arange(kernel)
    return np.where(offsets % stride == 0, offsets // stride, -1)


def bias_at(bias: np.ndarray | None, filter_index: int) -> float | None:
    return float(bias[filter_index]) if bias is not None else None


def check_filter(filter_index: int, filters: int) -> None:
    if not 0 <= filter_index < filters:
        raise EngineError(f"filter {filter_index} does not exist; this layer has filters 0 to {filters - 1}")


def conv_drilldown(
    layer_input: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    geometry: ConvGeometry,
    filter_index: int,
    row: int,
    column: int,
) -> Drilldown:
    """Take output (row, column, filter_index) of a convolution apart by input channel.

    `layer_input` is (H, W, C); `kernel` is Keras's (kh, kw, C / groups, filters).
    """
    height, width, _ = layer_input.shape
    kernel_h, kernel_w, group_channels, filters = kernel.shape
    check_filter(filter_index, filters)
    top = row * geometry.strides[0] - pads_before(geometry, 0, height, kernel_h)
    left = column * geometry.strides[1] - pads_before(geometry, 1, width, kernel_w)
    rows = top + geometry.dilation_rate[0] * np.arange(kernel_h)
    columns = left + geometry.dilation_rate[1] * np.arange(kernel_w)
    group = filter_index // (filters // geometry.groups)
    contributions = tuple(
        ChannelContribution(
            channel=group * group_channels + offset,
            patch=input_patch(layer_input[:, :, group * group_channels + offset], rows, columns),
            weights=kernel[:, :, offset, filter_index],
        )
        for offset in range(group_channels)
    )
    return Drilldown(filter_index, row, column, contributions, bias_at(bias, filter_index))


def pads_before(geometry: ConvGeometry, axis: int, size: int, kernel: int) -> int:
    return axis_pads(geometry.padding, axis, size, kernel, geometry.strides[axis], geometry.dilation_rate[axis])[0]


def input_patch(channel_map: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The values at the given rows and columns, zero where they fall outside the map (padding)."""
    patch = np.zeros((len(rows), len(columns)), dtype=channel_map.dtype)
    inside_rows = (rows >= 0) & (rows < channel_map.shape[0])
    inside_columns = (columns >= 0) & (columns < channel_map.shape[1])
    patch[np.ix_(inside_rows, inside_columns)] = channel_map[np.ix_(rows[inside_rows], columns[inside_columns])]
    return patch
