"""The explain view's drill-down: one output value of a convolution, taken apart by input channel.

For filter k at output position (i, j): each input channel c contributes the sum of its input
patch times filter k's slice for c; those contributions, plus the bias, make the value before
the activation. Written as plain loops over taps so a learner can follow it, and checked against
the engine's fast convolution in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convtui.errors import EngineError
from convtui.model.geometry import Padding, axis_pads
from convtui.model.layers import Conv2D, DepthwiseConv2D, Layer


@dataclass(frozen=True, eq=False)
class ChannelContribution:
    """What one input channel adds to the output value."""

    channel: int
    patch: np.ndarray
    """(kh, kw) input values under the kernel's taps; zeros where a tap falls in the padding."""
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
    top: int
    """Input row of the first kernel tap (negative inside the top padding)."""
    left: int
    channels: tuple[ChannelContribution, ...]
    bias: float

    @property
    def channel_sum(self) -> float:
        return sum(channel.contribution for channel in self.channels)

    @property
    def total(self) -> float:
        """Sum over channels plus the bias: the pre-activation value."""
        return self.channel_sum + self.bias


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """The arguments of a convolution that decide which input pixels a filter sees."""

    strides: tuple[int, int]
    padding: Padding
    dilation_rate: tuple[int, int]
    groups: int


def supports_drilldown(layer: Layer) -> bool:
    return isinstance(layer, (Conv2D, DepthwiseConv2D))


def layer_drilldown(
    layer: Layer, layer_input: np.ndarray, weights: dict[str, np.ndarray], filter_index: int, row: int, column: int
) -> Drilldown:
    """The drill-down for a Conv2D or DepthwiseConv2D, its input (H, W, C) and its Keras weights."""
    channels = layer_input.shape[-1]
    if isinstance(layer, Conv2D):
        kernel = weights["kernel"]
        geometry = ConvGeometry(layer.strides, layer.padding, layer.dilation_rate, layer.groups)
    elif isinstance(layer, DepthwiseConv2D):
        # (kh, kw, C, M) is a grouped convolution with C groups of one channel: output c*M + m.
        height, width, _, multiplier = weights["depthwise_kernel"].shape
        kernel = weights["depthwise_kernel"].reshape(height, width, 1, channels * multiplier)
        geometry = ConvGeometry(layer.strides, layer.padding, layer.dilation_rate, channels)
    else:
        raise EngineError(f"the drill-down explains convolutions, not {layer.type_name}", layer_type=layer.type_name)
    return conv_drilldown(layer_input, kernel, weights.get("bias"), geometry, filter_index, row, column)


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
    if not 0 <= filter_index < filters:
        raise EngineError(f"filter {filter_index} does not exist; this layer has filters 0 to {filters - 1}")
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
    bias_value = float(bias[filter_index]) if bias is not None else 0.0
    return Drilldown(filter_index, row, column, int(top), int(left), contributions, bias_value)


def pads_before(geometry: ConvGeometry, axis: int, size: int, kernel: int) -> int:
    return axis_pads(geometry.padding, axis, size, kernel, geometry.strides[axis], geometry.dilation_rate[axis])[0]


def input_patch(channel_map: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The values at the given rows and columns, zero where they fall outside the map (padding)."""
    patch = np.zeros((len(rows), len(columns)), dtype=channel_map.dtype)
    inside_rows = (rows >= 0) & (rows < channel_map.shape[0])
    inside_columns = (columns >= 0) & (columns < channel_map.shape[1])
    patch[np.ix_(inside_rows, inside_columns)] = channel_map[np.ix_(rows[inside_rows], columns[inside_columns])]
    return patch
