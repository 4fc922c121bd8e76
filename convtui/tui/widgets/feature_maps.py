"""Feature maps: the selected layer's output, one heatmap per filter, a page at a time.

The page is the one holding the selected filter, so stepping through filters turns pages; the
selected filter can also be shown large with its statistics. Drawing is the shared
HeatmapGrid / Heatmap renderables, exactly as `convtui run` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.message import Message

from convtui.model.convention import display_shape, shape_text
from convtui.model.layers import Concatenate
from convtui.model.stack import LayerInfo
from convtui.render.heatmap import TILE_GAP, Heatmap, HeatmapGrid, ValueBars, caption_for, format_value, geometry_for, range_text, split_maps
from convtui.tui.state import ViewState
from convtui.tui.widgets.notices import run_notice
from convtui.tui.widgets.state_view import StateView

if TYPE_CHECKING:
    import numpy as np

HEADER_LINES = 2
STATISTICS_WIDTH = 26
VALUES_LISTED = 32
"""A flat output (Dense, Flatten) of at most this many values also lists them."""
SELECTED_MARK = "◀"
MIN_MAP_PIXELS = 12
"""Tiles shrink to this many pixels across before the maps are split into pages."""


@dataclass(frozen=True)
class Page:
    """Which filters one screenful shows, and where their tiles are (for clicks)."""

    first: int
    count: int
    capacity: int
    """Tiles one page holds (the last page may show fewer)."""
    total: int
    tiles_per_row: int
    tile_width: int
    tile_height: int
    map_width: int
    has_room: bool = True
    """False when not even one tile fits the view's height: the view says so rather than draw a page of nothing."""

    @property
    def number(self) -> int:
        return self.first // self.capacity

    @property
    def pages(self) -> int:
        return -(-self.total // self.capacity)

    def filter_at(self, x: int, y: int) -> int | None:
        """The filter whose tile is at (x, y) below the header, if any."""
        column, row = x // (self.tile_width + TILE_GAP), y // (self.tile_height + 1)
        if column >= self.tiles_per_row or x % (self.tile_width + TILE_GAP) >= self.tile_width:
            return None
        index = self.first + row * self.tiles_per_row + column
        return index if index < self.first + self.count else None


def channel_maps(output: np.ndarray) -> list[np.ndarray]:
    """(H, W, C) -> C maps; a flat vector (N,) -> one 1 x N strip."""
    if output.ndim == 3:
        return [output[:, :, channel] for channel in range(output.shape[2])]
    return [output.reshape(1, -1)]


def tile_layout(probe: HeatmapGrid, map_width: int, width: int) -> tuple[int, int, int]:
    """Tiles per row, tile width and tile height (title, map, range) at one map width."""
    probe.cell_width = map_width
    layout = probe.layout(width, probe.captions())
    return layout.tiles_per_row, layout.tile_width, probe.heatmaps[0].size(layout.map_width, None)[1] + 2


def tiles_fitting(probe: HeatmapGrid, map_width: int, width: int, height: int) -> int:
    per_row, _, tile_height = tile_layout(probe, map_width, width)
    return per_row * max(0, (height + 1) // (tile_height + 1))


def plan_page(
    maps: Sequence[np.ndarray] | np.ndarray, selected: int, width: int, height: int, color: bool, widest_label: str = SELECTED_MARK
) -> Page:
    """The largest tiles that show every map (a list, or one channels-last (H, W, K) output) in width x height; pages
    of the smallest when even those do not.

    Planned for the widest caption of all the maps (with the widest label), so that no tile spills past the edge
    ("0..0.0835" is wider than "0..0.231") and the page size stays the same while paging through a layer.
    """
    probe_map = widest_caption_map(maps, widest_label, color)
    return page_for_probe(split_maps(maps), probe_map, selected, width, height, color, widest_label)


def widest_caption_map(maps: Sequence[np.ndarray] | np.ndarray, label: str, color: bool) -> np.ndarray:
    """The map whose caption (the last index with `label`, its markers, its min..max) is the widest: the one with the
    longest min..max, or a dead one or one with NaN (whose title is marked), whichever is wider. The figures come
    from one pass over the channels-last array: gathering VGG16's first 224x224x64 output map by map took 30 ms on
    every repaint."""
    import warnings

    import numpy as np

    stacked = maps if isinstance(maps, np.ndarray) else np.stack(maps, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN map: "nan..nan", as its caption says
        lows, highs = np.nanmin(stacked, axis=(0, 1)).tolist(), np.nanmax(stacked, axis=(0, 1)).tolist()
    candidates = {max(range(len(lows)), key=lambda position: len(range_text(lows[position], highs[position])))}
    for marked in (~stacked.any(axis=(0, 1)), np.isnan(stacked).any(axis=(0, 1))):
        if marked.any():
            candidates.add(int(np.argmax(marked)))
    index = len(lows) - 1
    return max((stacked[:, :, position] for position in sorted(candidates)), key=lambda data: caption_for(data, index, label).width(color))


def page_for_probe(maps: list[np.ndarray], probe_map: np.ndarray, selected: int, width: int, height: int, color: bool, widest_label: str) -> Page:
    """`plan_page` with every tile as wide as `probe_map`'s."""
    probe = HeatmapGrid([probe_map], color=color, indices=[len(maps) - 1], labels=[widest_label])
    columns_per_pixel = geometry_for(color).columns_per_pixel
    smallest = min(MIN_MAP_PIXELS * columns_per_pixel, width)
    while smallest > columns_per_pixel and tiles_fitting(probe, smallest, width, height) == 0:
        smallest -= columns_per_pixel  # a short view: smaller tiles rather than none
    low, high = smallest, max(smallest, width)
    while low < high:  # the largest map width at which all maps fit (fewer fit as tiles grow)
        middle = (low + high + 1) // 2
        if tiles_fitting(probe, middle, width, height) >= len(maps):
            low = middle
        else:
            high = middle - 1
    per_row, tile_width, tile_height = tile_layout(probe, low, width)
    fitting = tiles_fitting(probe, low, width, height)
    capacity = max(1, fitting)
    first = (min(selected, len(maps) - 1) // capacity) * capacity
    return Page(first, min(capacity, len(maps) - first), capacity, len(maps), per_row, tile_width, tile_height, low, has_room=fitting > 0)


def bar_page(total: int, selected: int, width: int, height: int) -> Page:
    """The values one screenful of ValueBars shows, a line each: the page that holds `selected`."""
    capacity = max(1, height)
    first = (min(selected, total - 1) // capacity) * capacity
    return Page(first, min(capacity, total - first), capacity, total, 1, width, 0, width)


Origin = tuple[str, int]
"""Where a concatenated channel comes from: an input's name and its channel there."""


def channel_origins(info: LayerInfo | None) -> list[Origin] | None:
    """For a Concatenate of channels, each output channel's origin, ("conv2d", 0); None for other layers. Its maps
    are numbered #0..#95 otherwise, with nothing to say where one input's channels end."""
    if info is None or not isinstance(info.layer, Concatenate) or info.output_shape is None or len(info.output_shape) != 3:
        return None
    if info.layer.shape_axis(3) != 2 or any(shape is None for shape in info.input_shapes):
        return None
    return [(name, channel) for name, shape in zip(info.inputs, info.input_shapes) if shape for channel in range(shape[-1])]


def origin_text(origin: Origin) -> str:
    name, channel = origin
    return f"({name} #{channel})"


def tile_labels(shown: range, selected: int, origins: list[Origin] | None) -> list[str]:
    """Each shown tile's label: where a concatenated channel comes from (on the first tile of the page and where
    each input's channels begin), and the selected one's mark."""
    labels = []
    for index in shown:
        origin = origin_text(origins[index]) if origins and (index == shown.start or origins[index][1] == 0) else ""
        labels.append(" ".join(part for part in (origin, SELECTED_MARK if index == selected else "") if part))
    return labels


def widest_tile_label(origins: list[Origin] | None) -> str:
    """The widest label a tile of the layer can have, which its pages are planned for."""
    origin = max((origin_text(origin) for origin in origins), key=len) + " " if origins else ""
    return origin + SELECTED_MARK


def statistics_table(data: np.ndarray) -> Table:
    import numpy as np

    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", justify="right")
    table.add_column()
    flat = data.reshape(-1)
    peak = np.unravel_index(int(np.argmax(data)), data.shape)
    for label, value in (
        ("min", format_value(flat.min())),
        ("max", format_value(flat.max())),
        ("mean", format_value(flat.mean())),
        ("std", format_value(flat.std())),
        ("zeros", f"{np.mean(flat == 0):.0%}"),
        ("max at", ", ".join(str(int(axis)) for axis in peak)),
        ("size", "x".join(map(str, data.shape))),
    ):
        table.add_row(label, value)
    return table


class FeatureMapsView(StateView):
    """Thin: renders the selected layer's output from the ViewState; a click chooses a filter."""

    class FilterClicked(Message):
        """A tile was clicked: make its filter the selected one."""

        def __init__(self, filter_index: int) -> None:
            super().__init__()
            self.filter_index = filter_index

    page: Page | None = None

    def render_state(self, state: ViewState) -> RenderableType:
        notice = run_notice(state)
        if notice is not None:
            return Group(self.header(state, None), self.notice_text(notice))
        result = state.shown_run
        assert result is not None and result.image is not None
        output = result.image.pixels if state.selected_layer < 0 else result.output(state.selected_layer)
        assert output is not None
        maps = channel_maps(output)
        width, height = self.size.width, max(1, self.size.height - HEADER_LINES)
        if state.enlarged or output.ndim == 1:
            self.page = None
            return Group(self.header(state, None), self.enlarged(state, maps, output, width, height))
        origins = channel_origins(state.layer)
        if output.shape[:2] == (1, 1):
            self.page = bar_page(output.shape[2], state.selected_filter, width, height)
            return Group(self.header(state, self.page), self.bars(state, output[0, 0], origins))
        self.page = plan_page(output if output.ndim == 3 else maps, state.selected_filter, width, height, state.colour, widest_tile_label(origins))
        page = self.page
        if not page.has_room:
            self.page = None
            message = f"No room for a map in {height} line{'s' if height != 1 else ''}: a taller terminal shows them (or f, one map enlarged)."
            return Group(self.header(state, None), self.styled(message, "muted"))
        shown = range(page.first, page.first + page.count)
        grid = self.grid(state, maps, shown, page.map_width, origins)
        return Group(self.header(state, page), grid)

    def bars(self, state: ViewState, values: np.ndarray, origins: list[Origin] | None) -> ValueBars:
        """A (1, 1, C) output's page of values as bars, each as long as its share of the layer's largest."""
        assert self.page is not None
        shown = range(self.page.first, self.page.first + self.page.count)
        largest = float(abs(values).max())
        return ValueBars(values[shown.start : shown.stop], indices=list(shown), labels=tile_labels(shown, state.selected_filter, origins), largest=largest, color=state.colour)

    def grid(self, state: ViewState, maps: list[np.ndarray], shown: range, map_width: int, origins: list[Origin] | None) -> HeatmapGrid:
        """The page's tiles; with scale "layer" the whole layer's range (not the page's) colours every tile."""
        grid = HeatmapGrid(
            [maps[index] for index in shown],
            indices=list(shown),
            labels=tile_labels(shown, state.selected_filter, origins),
            color=state.colour,
            cell_width=map_width,
        )
        if state.scale == "layer":
            low, high = HeatmapGrid.layer_range(maps)
            for heatmap in grid.heatmaps:
                heatmap.vmin, heatmap.vmax = low, high
        return grid

    def header(self, state: ViewState, page: Page | None) -> Text:
        info = state.layer
        if info is None:
            title = f"Input {shape_text(display_shape(state.stack_info.input_shape, state.convention))}"
        else:
            shape = display_shape(info.output_shape, state.convention) if info.output_shape else None
            title = f"Layer {info.index} {info.layer.label} -> {shape_text(shape)}"
        header = self.styled(title, "title")
        details = []
        if page is not None and page.pages > 1:
            details.append(f"filters {page.first}-{page.first + page.count - 1} of {page.total} (page {page.number + 1}/{page.pages})")
        details.append(f"scale per {state.scale}")
        details.append("colour" if state.colour else "ASCII")
        header.append("\n")
        keys = f"[ ] filter  f {'grid' if state.enlarged else 'enlarge'}  l scale  m {'colour' if not state.colour else 'ASCII'}"
        header.append_text(self.styled("  ·  ".join(details) + "    " + keys, "muted"))
        header.no_wrap = True
        header.overflow = "ellipsis"
        return header

    def enlarged(self, state: ViewState, maps: list[np.ndarray], output: np.ndarray, width: int, height: int) -> RenderableType:
        """One map large beside its statistics; a flat output also lists its values when few."""
        index = min(state.selected_filter, len(maps) - 1)
        data = maps[index]
        layout = Table.grid(padding=(0, 2))
        layout.add_column()
        layout.add_column(width=STATISTICS_WIDTH)
        heatmap = Heatmap(data, width=max(8, width - STATISTICS_WIDTH - 2), height=max(2, height - 2), color=state.colour)
        title = f"#{index}" if output.ndim == 3 else f"{output.shape[0]} values"
        layout.add_row(heatmap, Group(self.styled(title, "title"), statistics_table(data if output.ndim == 3 else output)))  # a vector's own positions
        if output.ndim == 1 and output.shape[0] <= VALUES_LISTED:
            values = Text("  ".join(f"{position}: {format_value(value)}" for position, value in enumerate(output)))
            return Group(layout, values)
        return layout

    def on_click(self, event: events.Click) -> None:
        if self.page is None:
            return
        index = self.page.filter_at(event.x, event.y - HEADER_LINES)
        if index is not None:
            self.post_message(self.FilterClicked(index))
