"""Kernels: the selected layer's weights as small heatmaps in a diverging map (blue < 0 < red).

Spatial kernels show one tile per (filter, input channel), a row per filter starting at the
selected filter, as many channels as fit across; matrices (Dense, 1x1 convolutions) show as one
heatmap and vectors (bias, BatchNormalization) as a strip. What is left out is said.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from convtui.model.convention import display_weight, shape_text
from convtui.model.layers import Conv2DTranspose, Layer
from convtui.render.heatmap import Heatmap, HeatmapGrid, format_value
from convtui.tui.state import Scale, ViewState
from convtui.tui.widgets.state_view import StateView

KERNEL_COLORMAP = "coolwarm"
KERNEL_TILE_WIDTH = 8
MAX_FILTER_ROWS = 16
MATRIX_HEIGHT = 12


def kernel_tiles(kernel: np.ndarray, first_filter: int, width: int, scale: Scale, color: bool) -> tuple[HeatmapGrid, str]:
    """(kh, kw, channels, filters) as tiles "#filter c<channel>", filters from `first_filter` on.

    A row per filter when the channels fill the width; several filters to a row when they do not.
    """
    _, _, channels, filters = kernel.shape
    probe = HeatmapGrid([kernel[:, :, 0, 0]], indices=[filters], labels=[f"c{channels}"], cell_width=KERNEL_TILE_WIDTH, color=color)
    per_row = probe.layout(width, probe.captions()).tiles_per_row
    shown_channels = min(channels, per_row)
    filters_shown = MAX_FILTER_ROWS * max(1, per_row // channels)
    last_filter = min(filters, first_filter + filters_shown)
    pairs = [(f, c) for f in range(first_filter, last_filter) for c in range(shown_channels)]
    grid = HeatmapGrid(
        [kernel[:, :, c, f] for f, c in pairs],
        indices=[f for f, _ in pairs],
        labels=[f"c{c}" for _, c in pairs],
        cell_width=KERNEL_TILE_WIDTH,
        scale=scale,
        color=color,
        colormap=KERNEL_COLORMAP,
    )
    summary = f"filters {first_filter}-{last_filter - 1} of {filters}, channels 0-{shown_channels - 1} of {channels}"
    return grid, summary + ("   ([ ] choose the first filter)" if last_filter - first_filter < filters else "")


def weight_renderable(layer: Layer, name: str, array: np.ndarray, first_filter: int, width: int, state: ViewState) -> tuple[RenderableType, str]:
    """Spatial kernels as tiles; matrices (Dense, 1x1 kernels) as one heatmap; vectors as a strip."""
    if array.ndim == 4 and array.shape[0] * array.shape[1] > 1:
        if isinstance(layer, Conv2DTranspose) and name == "kernel":
            array = array.transpose(0, 1, 3, 2)  # Keras keeps (kh, kw, filters, C_in) for the transpose
        return kernel_tiles(array, min(first_filter, array.shape[3] - 1), width, state.scale, state.colour)
    matrix = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(1, -1)
    heatmap = Heatmap(matrix, width=width, height=MATRIX_HEIGHT if array.ndim > 1 else 2, color=state.colour, colormap=KERNEL_COLORMAP)
    return heatmap, f"{format_value(array.min())}..{format_value(array.max())}"


class KernelsView(StateView):
    """Thin: renders the selected layer's weights from the finished run."""

    def render_state(self, state: ViewState) -> RenderableType:
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
            drawing, summary = weight_renderable(info.layer, weight.name, named[weight.name], state.selected_filter, self.size.width, state)
            parts.append(Text.assemble(self.styled(f"{name} {shape_text(shape)}", "title"), ("  " + summary, "dim")))
            parts.append(drawing)
            parts.append(Text(""))
        return Group(*parts)
