"""Kernels: the selected layer's weights as small heatmaps in a diverging map (blue < 0 < red).

Spatial kernels show one tile per (filter, input channel), a row per filter starting at the
selected filter, as many channels as fit across; matrices (Dense, 1x1 convolutions) show as one
heatmap and vectors (bias, BatchNormalization) as a strip. What is left out is said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from convtui.model.convention import display_weight, shape_text
from convtui.model.layers import Conv2DTranspose, Layer
from convtui.render.heatmap import Heatmap, HeatmapGrid, format_value
from convtui.tui.state import Scale, ViewState
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


def kernel_tiles(kernel: np.ndarray, first_filter: int, first_channel: int, width: int, scale: Scale, color: bool) -> tuple[HeatmapGrid, ChannelPage, str]:
    """(kh, kw, channels, filters) as tiles "#filter c<channel>": filters from `first_filter` on,
    as many channels from `first_channel` on as fit across.

    A row per filter when the channels fill the width; several filters to a row when they do not.
    """
    _, _, channels, filters = kernel.shape
    probe = HeatmapGrid([kernel[:, :, 0, 0]], indices=[filters], labels=[f"c{channels}"], cell_width=KERNEL_TILE_WIDTH, color=color)
    per_row = probe.layout(width, probe.captions()).tiles_per_row
    shown_channels = min(channels, per_row)
    page = ChannelPage(max(0, min(first_channel, channels - shown_channels)), shown_channels, channels)
    filters_shown = MAX_FILTER_ROWS * max(1, per_row // channels)
    last_filter = min(filters, first_filter + filters_shown)
    pairs = [(f, c) for f in range(first_filter, last_filter) for c in range(page.first, page.first + shown_channels)]
    grid = HeatmapGrid(
        [kernel[:, :, c, f] for f, c in pairs],
        indices=[f for f, _ in pairs],
        labels=[f"c{c}" for _, c in pairs],
        cell_width=KERNEL_TILE_WIDTH,
        scale=scale,
        color=color,
        colormap=KERNEL_COLORMAP,
    )
    filters_text = f"filters {first_filter}-{last_filter - 1} of {filters}" + (" [ ]" if last_filter - first_filter < filters else "")
    return grid, page, f"{filters_text}  {page.summary()}"


def weight_renderable(layer: Layer, name: str, array: np.ndarray, width: int, state: ViewState) -> tuple[RenderableType, str, ChannelPage | None]:
    """Spatial kernels as tiles (with the channels they show); matrices (Dense, 1x1 kernels) as one heatmap; vectors as a strip."""
    if array.ndim == 4 and array.shape[0] * array.shape[1] > 1:
        if isinstance(layer, Conv2DTranspose) and name == "kernel":
            array = array.transpose(0, 1, 3, 2)  # Keras keeps (kh, kw, filters, C_in) for the transpose
        first_filter = min(state.selected_filter, array.shape[3] - 1)
        grid, page, summary = kernel_tiles(array, first_filter, state.first_channel, width, state.scale, state.colour)
        return grid, summary, page
    matrix = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(1, -1)
    heatmap = Heatmap(matrix, width=width, height=MATRIX_HEIGHT if array.ndim > 1 else 2, color=state.colour, colormap=KERNEL_COLORMAP)
    return heatmap, f"{format_value(array.min())}..{format_value(array.max())}", None


class KernelsView(StateView):
    """Thin: renders the selected layer's weights from the finished run."""

    channel_page: ChannelPage | None = None
    """The input channels the last drawing showed (None: no spatial kernel), for the channel keys."""

    def render_state(self, state: ViewState) -> RenderableType:
        self.channel_page = None
        info = state.layer
        if info is None or not info.weights:
            what = "The input has no weights." if info is None else f"{info.layer.type_name} has no weights. What it does: {info.layer.description}."
            return self.styled(what + " Select a layer with weights (a convolution, Dense, BatchNormalization).", "muted")
        result = state.run.result if state.run.is_for(state.stack_info) else None
        named = result.weights.get(info.index) if result is not None else None
        if not named:
            return self.styled("Weights appear when the forward pass has started.", "progress")
        parts: list[RenderableType] = []
        for weight in info.weights:
            name, shape = display_weight(weight, state.convention)
            drawing, summary, page = weight_renderable(info.layer, weight.name, named[weight.name], self.size.width, state)
            self.channel_page = self.channel_page or page
            parts.append(Text.assemble(self.styled(f"{name} {shape_text(shape)}", "title"), ("  " + summary, "dim")))
            parts.append(drawing)
            parts.append(Text(""))
        return Group(*parts)
