"""Kernels: the selected layer's weights as small heatmaps in a diverging map (blue < 0 < red).

Spatial kernels show one tile per (filter, input channel), a row per filter starting at the
selected filter, as many channels as fit across; matrices (Dense, 1x1 convolutions) show as one
heatmap and vectors (bias, BatchNormalization) as a strip. What is left out is said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from convtui.model.convention import display_weight, shape_text
from convtui.model.layers import Conv2DTranspose, Dense, Flatten
from convtui.model.stack import LayerInfo, StackInfo
from convtui.render.heatmap import Heatmap, HeatmapGrid, range_text
from convtui.tui.state import Scale, ViewState
from convtui.tui.widgets.explain import block_summary
from convtui.tui.widgets.state_view import StateView

if TYPE_CHECKING:
    import numpy as np

KERNEL_COLORMAP = "coolwarm"
KERNEL_TILE_WIDTH = 8
MAX_FILTER_ROWS = 16
MATRIX_HEIGHT = 12


@dataclass(frozen=True)
class ChannelPage:
    """The input channels one screenful of kernel tiles shows, so the channel keys know how far a page goes."""

    first: int
    count: int
    total: int

    def first_after(self, pages: int) -> int:
        """The first channel `pages` pages on (back when negative), the last page kept full."""
        return max(0, min(self.first + pages * self.count, self.total - self.count))

    def summary(self) -> str:
        text = f"channels {self.first}-{self.first + self.count - 1} of {self.total}"
        return text + (" < >" if self.count < self.total else "")


PROBED_SLICES = 16
"""Channels and filters (from the first) whose min..max captions size the tiles: enough to meet the widest
caption a kernel has ("-0.0833..0.0786"), few enough to stay instant on VGG16's 512x512 slices."""


def tiles_per_row(kernel: np.ndarray, width: int, color: bool) -> int:
    """How many kernel tiles fit across `width` (a probe tile: the widest index, channel label and caption)."""
    _, _, channels, filters = kernel.shape
    probe = HeatmapGrid([widest_caption_slice(kernel)], indices=[filters], labels=[f"c{channels}"], cell_width=KERNEL_TILE_WIDTH, color=color)
    return probe.layout(width, probe.captions()).tiles_per_row


def widest_caption_slice(kernel: np.ndarray) -> np.ndarray:
    """The (kh, kw) slice, among the first PROBED_SLICES channels and filters, whose min..max caption is the longest."""
    sample = kernel[:, :, :PROBED_SLICES, :PROBED_SLICES]
    lows, highs = sample.min(axis=(0, 1)), sample.max(axis=(0, 1))
    widths = [[len(range_text(low, high)) for low, high in zip(row_low, row_high)] for row_low, row_high in zip(lows, highs)]
    channel, unit = max(((c, f) for c in range(len(widths)) for f in range(len(widths[c]))), key=lambda at: widths[at[0]][at[1]])
    return kernel[:, :, channel, unit]


def channel_page(kernel: np.ndarray, first_channel: int, width: int, color: bool) -> ChannelPage:
    """The input channels of (kh, kw, channels, filters) tiles from `first_channel` on that fit across `width`."""
    channels = kernel.shape[2]
    shown = min(channels, tiles_per_row(kernel, width, color))
    return ChannelPage(max(0, min(first_channel, channels - shown)), shown, channels)


def filters_per_page(kernel: np.ndarray, width: int, color: bool) -> int:
    """Filters one page of tiles shows: a row each when the channels fill the width, several to a row when they do not."""
    return MAX_FILTER_ROWS * max(1, tiles_per_row(kernel, width, color) // kernel.shape[2])


def kernel_tiles(
    kernel: np.ndarray, selected_filter: int, first_channel: int, width: int, scale: Scale, color: bool, *, units: bool = False
) -> tuple[HeatmapGrid, ChannelPage, str]:
    """(kh, kw, channels, filters) as tiles "#filter c<channel>": the page of filters that holds `selected_filter`
    (pages start at multiples of their size, as the feature maps' do), as many channels from `first_channel` on as fit across.

    `units`: a Dense kernel shown as maps (its filters are units, which the filter keys do not page).
    """
    filters = kernel.shape[3]
    page = channel_page(kernel, first_channel, width, color)
    filters_shown = filters_per_page(kernel, width, color)
    first_filter = 0 if units else (min(selected_filter, filters - 1) // filters_shown) * filters_shown
    last_filter = min(filters, first_filter + filters_shown)
    pairs = [(f, c) for f in range(first_filter, last_filter) for c in range(page.first, page.first + page.count)]
    grid = HeatmapGrid(
        [kernel[:, :, c, f] for f, c in pairs],
        indices=[f for f, _ in pairs],
        labels=[f"c{c}" for _, c in pairs],
        cell_width=KERNEL_TILE_WIDTH,
        scale=scale,
        color=color,
        colormap=KERNEL_COLORMAP,
    )
    what, keys = ("units", "") if units else ("filters", " [ ]")
    filters_text = f"{what} {first_filter}-{last_filter - 1} of {filters}" + (keys if last_filter - first_filter < filters else "")
    return grid, page, f"{filters_text}  {page.summary()}"


def flattened_map(info: LayerInfo, stack_info: StackInfo) -> tuple[int, int, int] | None:
    """The (H, W, C) map a Dense layer's input was flattened from: through a Flatten, past layers that keep
    every value in its place (Dropout, activations, BatchNormalization); None when its input is no flattened map."""
    by_name = {layer.name: layer for layer in stack_info.layers}
    current = info
    for _ in range(len(stack_info.layers)):
        if len(current.inputs) != 1 or current.inputs[0] not in by_name:
            return None
        current = by_name[current.inputs[0]]
        if isinstance(current.layer, Flatten):
            shape = current.input_shape
            return (shape[0], shape[1], shape[2]) if shape is not None and len(shape) == 3 else None
        keeps_places = all(len(weight.shape) == 1 for weight in current.weights)  # Dropout, BatchNormalization; not a Dense
        if not keeps_places or current.input_shape != current.output_shape or current.output_shape is None or len(current.output_shape) != 1:
            return None
    return None


def spatial_kernel(info: LayerInfo, name: str, array: np.ndarray, stack_info: StackInfo) -> np.ndarray | None:
    """The weight as (kh, kw, C_in, filters) to draw as tiles, or None when it is no spatial kernel.

    A Dense kernel whose input is a flattened (H, W, C) map is reshaped to (H, W, C, units): each unit's
    weights as one image per input channel, where it looks in each map. That is what a learner gains most
    from: the weights of a first Dense read as pictures (on MNIST pixels, templates of the digits), where a
    (H*W*C, units) matrix shows only stripes. Keras's Flatten is channels last, row by row, so the reshape
    puts every weight back on the pixel it multiplies.
    """
    if array.ndim == 4 and array.shape[0] * array.shape[1] > 1:
        if isinstance(info.layer, Conv2DTranspose) and name == "kernel":
            return array.transpose(0, 1, 3, 2)  # Keras keeps (kh, kw, filters, C_in) for the transpose
        return array
    if isinstance(info.layer, Dense) and name == "kernel" and array.ndim == 2:
        shape = flattened_map(info, stack_info)
        if shape is not None and shape[0] * shape[1] > 1 and math.prod(shape) == array.shape[0]:
            return array.reshape(*shape, array.shape[1])
    return None


def matrix_renderable(matrix: np.ndarray, width: int, color: bool, rows_name: str, columns_name: str) -> tuple[Heatmap, str]:
    """An (inputs, outputs) matrix as one heatmap, a row per output and inputs across, averaged down to fit.

    A Dense layer's 1352 inputs do not fit across a terminal: each cell is the mean of as many neighbouring
    inputs as it takes to fit (said in the summary), so the drawing stays a readable band per unit instead of
    a one-cell strip hundreds of lines tall.
    """
    from convtui.render.heatmap import box_downscale, geometry_for

    inputs, outputs = matrix.shape
    geometry = geometry_for(color)
    max_rows, max_columns = geometry.pixel_capacity(max(1, width), MATRIX_HEIGHT)
    rows, columns = min(outputs, max_rows or outputs), min(inputs, max(1, max_columns))
    data = matrix.T if (rows, columns) == (outputs, inputs) else box_downscale(matrix.T, rows, columns)
    heatmap = Heatmap(data, width=width, height=MATRIX_HEIGHT, color=color, colormap=KERNEL_COLORMAP)
    text = f"{outputs} {columns_name} (rows) x {inputs} {rows_name} (across)"
    per_column, per_row = -(-inputs // columns), -(-outputs // rows)
    if per_column > 1 or per_row > 1:
        mean_of = f"{per_column} {rows_name}" if per_row == 1 else f"{per_row} {columns_name} x {per_column} {rows_name}"
        text += f", each cell the mean of about {mean_of}"
    return heatmap, f"{text}  {range_text(matrix.min(), matrix.max())}"


def weight_renderable(info: LayerInfo, name: str, array: np.ndarray, width: int, state: ViewState) -> tuple[RenderableType, str, ChannelPage | None]:
    """Spatial kernels (and a Dense kernel on a flattened map) as tiles, with the channels they show;
    other matrices (Dense, 1x1 kernels) as one heatmap; vectors as a strip."""
    kernel = spatial_kernel(info, name, array, state.stack_info)
    if kernel is not None:
        units = array.ndim == 2  # a Dense kernel reshaped to maps
        grid, page, summary = kernel_tiles(kernel, state.selected_filter, state.first_channel, width, state.scale, state.colour, units=units)
        return grid, summary, page
    if array.ndim > 1:
        names = ("inputs", "units") if array.ndim == 2 else ("input channels", "filters")
        heatmap, summary = matrix_renderable(array.reshape(-1, array.shape[-1]), width, state.colour, *names)
        return heatmap, summary, None
    heatmap = Heatmap(array.reshape(1, -1), width=width, height=2, color=state.colour, colormap=KERNEL_COLORMAP)
    return heatmap, range_text(array.min(), array.max()), None


class KernelsView(StateView):
    """Thin: renders the selected layer's weights from the finished run."""

    channel_page: ChannelPage | None = None
    """The input channels the last drawing showed (None: no spatial kernel)."""

    def named_weights(self, state: ViewState) -> dict[str, np.ndarray] | None:
        """The selected layer's weights from the run of this stack (see ViewState.shown_run), by name."""
        info, result = state.layer, state.shown_run
        return result.weights.get(info.index) if result is not None and info is not None else None

    def page_for(self, state: ViewState) -> ChannelPage | None:
        """The input channels a drawing of `state` shows, computed now, not at the next paint: the channel
        keys page from it, so keys typed in a burst (before any repaint) each move a page on."""
        kernel = self.shown_kernel(state)
        return channel_page(kernel, state.first_channel, self.size.width, state.colour) if kernel is not None else None

    def filter_page_size(self, state: ViewState) -> int | None:
        """How many filters a page of the drawing of `state` shows (the filter page keys step by it); None without tiles."""
        kernel = self.shown_kernel(state)
        return filters_per_page(kernel, self.size.width, state.colour) if kernel is not None else None

    def shown_kernel(self, state: ViewState) -> np.ndarray | None:
        """The selected layer's first weight drawn as tiles (kh, kw, channels, filters), if it has one."""
        info, named = state.layer, self.named_weights(state)
        if info is None or not named or state.folded_row is not None:
            return None  # a folded row shows the block's summary, no tiles
        for weight in info.weights:
            if weight.name in named:
                kernel = spatial_kernel(info, weight.name, named[weight.name], state.stack_info)
                if kernel is not None:
                    return kernel
        return None

    def watch_state(self) -> None:
        self.app.refresh_bindings()  # the footer offers the channel keys only for a layer with channels to page

    def on_resize(self) -> None:
        self.app.refresh_bindings()

    def render_state(self, state: ViewState) -> RenderableType:
        self.channel_page = None
        summary = block_summary(self, state, "weights")
        if summary is not None:
            return summary
        info = state.layer
        if info is None or not info.weights:
            what = "The input has no weights." if info is None else f"{info.layer.type_name} has no weights. What it does: {info.layer.description}."
            return self.styled(what + " Select a layer with weights (a convolution, Dense, BatchNormalization).", "muted")
        named = self.named_weights(state)
        if not named:
            return self.styled("Weights appear when the forward pass has started.", "progress")
        parts: list[RenderableType] = []
        for weight in info.weights:
            name, shape = display_weight(weight, state.convention)
            drawing, summary, page = weight_renderable(info, weight.name, named[weight.name], self.size.width, state)
            self.channel_page = self.channel_page or page
            parts.append(Text.assemble(self.styled(f"{name} {shape_text(shape)}", "title"), ("  " + summary, "dim")))
            parts.append(drawing)
            parts.append(Text(""))
        return Group(*parts)
