"""What `convtui run` prints: the input image, then one layer's feature maps as a heatmap grid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convtui.engine.weights import edge_filter_name
from convtui.model.convention import shape_text
from convtui.model.stack import LayerInfo, StackInfo
from convtui.render.heatmap import Heatmap, HeatmapGrid, Scale, format_value

RGB_LABELS = ("red", "green", "blue")


def default_layer_index(stack_info: StackInfo) -> int:
    """The last layer that still has a spatial (H, W, C) map; the last layer (its bars) when none has. The stack has layers."""
    spatial = [info.index for info in stack_info.layers if info.output_shape is not None and len(info.output_shape) == 3]
    return spatial[-1] if spatial else stack_info.layers[-1].index


def filter_labels(info: LayerInfo, indices: Sequence[int]) -> list[str] | None:
    """Name each map after its bank filter when the layer was initialised with "edges"."""
    if getattr(info.layer, "kernel_initializer", None) != "edges" or info.layer.type_name != "Conv2D":
        return None
    return [edge_filter_name(index) for index in indices]


def input_view(pixels: np.ndarray, *, color: bool) -> RenderableType:
    """The image the stack runs on: one map for grey, a labelled grid for several channels."""
    if pixels.shape[-1] == 1:
        return Heatmap(pixels[:, :, 0], color=color, colormap="gray", width=2 * pixels.shape[1], height=pixels.shape[0])
    labels = list(RGB_LABELS) if pixels.shape[-1] == 3 else None
    return HeatmapGrid(pixels, labels=labels, color=color, colormap="gray")


def layer_view(
    info: LayerInfo, output: np.ndarray, indices: Sequence[int], *, scale: Scale, color: bool
) -> RenderableType:
    """The chosen filters of one layer's output (one image of the batch, (H, W, K))."""
    maps = output[:, :, list(indices)]
    dead = sum(1 for index in indices if not output[..., index].any())
    heading = Text.assemble(
        (f"layer {info.index} {info.layer.label}", "bold"),
        f" -> {shape_text(info.output_shape)}: filters {indices[0]}..{indices[-1]} ({len(indices)} of {output.shape[-1]})",
        (f", {dead} dead (all zero)" if dead else "", "yellow"),
        f", scale per {scale}",
    )
    grid = HeatmapGrid(maps, indices=list(indices), labels=filter_labels(info, indices), scale=scale, color=color)
    return Group(heading, grid)


VECTOR_ROWS = 32
"""A vector longer than this shows its largest values (class scores, the strongest units)."""
BAR_WIDTH = 40


def vector_view(info: LayerInfo, values: np.ndarray, indices: Sequence[int], *, color: bool) -> RenderableType:
    """A flat output (Dense, Flatten, global pooling; any other rank, flattened) as one bar per value:
    a heatmap of 1x1 maps says nothing."""
    shown = list(indices)
    heading = f"layer {info.index} {info.layer.label} -> {shape_text(info.output_shape)}"
    if len(shown) > VECTOR_ROWS:
        shown = sorted(shown, key=lambda index: -values[index])[:VECTOR_ROWS]
        heading += f": the {VECTOR_ROWS} largest of {len(indices):,} values (choose others with --filters A:B)"
    largest = float(np.abs(values[shown]).max()) or 1.0
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_column()
    for index in shown:
        value = float(values[index])
        length = round(abs(value) / largest * BAR_WIDTH)
        bar = ("█" if color else "#") * length
        table.add_row(f"#{index}", format_value(value), Text(bar, style=("red" if value < 0 else "green") if color else ""))
    return Group(Text(heading, style="bold"), table)


def run_report(
    stack_info: StackInfo,
    pixels: np.ndarray,
    image_line: str,
    layer_output: np.ndarray,
    layer_index: int,
    indices: Sequence[int],
    *,
    scale: Scale = "map",
    color: bool = True,
) -> RenderableType:
    info = stack_info.layers[layer_index]
    return Group(
        Text(f"input: {image_line}", style="bold"),
        input_view(pixels, color=color),
        Text(""),
        layer_view(info, layer_output, indices, scale=scale, color=color)
        if layer_output.ndim == 3
        else vector_view(info, layer_output.reshape(-1), indices, color=color),
    )
