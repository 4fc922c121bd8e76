"""Feature maps as terminal heatmaps: Rich renderables for one map and for a labelled grid of maps.

Pixels stay square. A terminal cell is about twice as tall as it is wide, so colour mode draws
two pixel rows per cell with the upper half block "▀" (foreground = upper pixel, background =
lower pixel), and plain mode draws each pixel as two ramp characters side by side. Plain mode
emits no styles at all, so its output still reads when pasted into a text file.

Fitting a map to its space never crops and never skips pixels: a larger map is area-averaged
down, a smaller one is enlarged by a whole factor (nearest neighbour); the aspect ratio is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from rich.cells import cell_len
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    import numpy as np

RAMP = " .:-=+*#%@"
NAN_SYMBOL = "?"
UPPER_HALF_BLOCK = "▀"

TILE_GAP = 2
# A grid's default tiles: small maps are enlarged to about this width, large maps are shrunk
# so that at least MIN_TILES_PER_ROW fit side by side; set `cell_width` to override.
DEFAULT_TILE_MAP_WIDTH = 16
MIN_TILES_PER_ROW = 4

TITLE_STYLE = Style(bold=True)
MARKER_STYLE = Style(dim=True)

Scale = Literal["map", "layer"]


@dataclass(frozen=True)
class CellGeometry:
    """How pixels map onto terminal cells in one drawing mode."""

    columns_per_pixel: int
    pixels_per_line: int

    def pixel_capacity(self, width: int, height: int | None) -> tuple[int | None, int]:
        """Pixel rows and columns that fit in width x height cells (rows None: no limit)."""
        rows = None if height is None else height * self.pixels_per_line
        return rows, width // self.columns_per_pixel

    def cell_size(self, pixel_rows: int, pixel_columns: int) -> tuple[int, int]:
        """Width and height in cells of a picture of pixel_rows x pixel_columns."""
        return pixel_columns * self.columns_per_pixel, -(-pixel_rows // self.pixels_per_line)


COLOR_GEOMETRY = CellGeometry(columns_per_pixel=1, pixels_per_line=2)
PLAIN_GEOMETRY = CellGeometry(columns_per_pixel=2, pixels_per_line=1)


def geometry_for(color: bool) -> CellGeometry:
    return COLOR_GEOMETRY if color else PLAIN_GEOMETRY


def format_value(x: float) -> str:
    """Three significant digits ('0.0123', '-1.25e+03'): enough to compare filters, short enough for a tile."""
    text = f"{float(x):.3g}"
    return "0" if text == "-0" else text


def range_text(low: float, high: float) -> str:
    """ "low..high" as captions, titles and tiles write a range ("-0.0833..0.0786")."""
    return f"{format_value(low)}..{format_value(high)}"


def finite_range(data: np.ndarray) -> tuple[float, float]:
    """Min and max of the finite values, so one NaN or inf cannot blow up a scale; (0, 0) if none."""
    import numpy as np

    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def centred_range(low: float, high: float) -> tuple[float, float]:
    """A range symmetric about zero that covers low..high, so zero falls on a diverging map's centre."""
    limit = max(abs(low), abs(high)) or 1.0
    return -limit, limit


def normalise(data: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map low..high onto 0..1, clipping values outside (inf included); NaN stays NaN.

    An empty range (a constant map) maps everything at or below it to 0, the low colour,
    and anything above it to 1, instead of dividing by zero.
    """
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        if high > low:
            scaled = (data - low) / (high - low)
        else:
            scaled = np.where(np.isnan(data), np.nan, (data > low).astype(float))
    return np.clip(scaled, 0.0, 1.0)


def _area_weights(size: int, parts: int) -> np.ndarray:
    """(parts, size) matrix: row i is how much of each input pixel falls in output pixel i.

    Boundaries are scaled by `parts` so the overlaps are exact integers before normalising.
    """
    import numpy as np

    starts = np.arange(parts)[:, None] * size
    ends = starts + size
    pixel_starts = np.arange(size)[None, :] * parts
    overlap = np.clip(np.minimum(ends, pixel_starts + parts) - np.maximum(starts, pixel_starts), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def box_downscale(data: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Resize to rows x columns by area averaging: each output pixel is the mean of the input
    area it covers, partially covered pixels weighted by their share.

    Non-finite values are left out of the means, so a few NaNs do not blank a whole block;
    a block with no finite value at all is NaN.
    """
    import numpy as np

    row_weights = _area_weights(data.shape[0], rows)
    column_weights = _area_weights(data.shape[1], columns)
    valid = np.isfinite(data)
    total = row_weights @ np.where(valid, data, 0.0) @ column_weights.T
    coverage = row_weights @ valid.astype(float) @ column_weights.T
    return np.divide(total, coverage, out=np.full_like(total, np.nan), where=coverage > 0)


def enlarge(data: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor, so every pixel becomes a square block."""
    import numpy as np

    return np.repeat(np.repeat(data, factor, axis=0), factor, axis=1)


def fit_shape(shape: tuple[int, int], max_rows: int | None, max_columns: int) -> tuple[int, int]:
    """The pixel size a map gets in at most max_rows x max_columns pixels, aspect ratio kept.

    A map that fits is enlarged by the largest whole factor that still fits; a map that does not
    is shrunk to the largest size that fits (at least one pixel).
    """
    height, width = shape
    factor = max_columns // width if max_rows is None else min(max_columns // width, max_rows // height)
    if factor >= 1:
        return height * factor, width * factor
    scale = max_columns / width if max_rows is None else min(max_columns / width, max_rows / height)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resample(data: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Bring a map to the size `fit_shape` chose: whole-factor enlargement or area averaging."""
    height, width = data.shape
    if rows >= height and columns >= width:
        return enlarge(data, rows // height)
    return box_downscale(data, rows, columns)


def quantise(values: np.ndarray, levels: int) -> np.ndarray:
    """Values in 0..1 to integer levels 0..levels-1 in equal-width bins; NaN becomes `levels`."""
    import numpy as np

    missing = np.isnan(values)
    bins = np.floor(np.where(missing, 0.0, values) * levels)
    index = np.clip(bins, 0, levels - 1).astype(int)
    index[missing] = levels
    return index


@lru_cache(maxsize=None)
def palette(colormap_name: str) -> tuple[Color, ...]:
    """Rich colours for every level of a map, plus the NaN colour at index LEVELS."""
    from convtui.render.colormaps import BAD_COLOR, get_colormap

    table = get_colormap(colormap_name).table
    return (*(Color.from_rgb(*map(int, rgb)) for rgb in table), Color.from_rgb(*BAD_COLOR))


def color_lines(levels: np.ndarray, colormap_name: str) -> list[list[Segment]]:
    """Half-block lines: each cell shows an upper pixel (foreground) over a lower one (background).

    An odd last pixel row leaves the background unset. Runs of equal cells share one Segment.
    """
    colors = palette(colormap_name)
    styles: dict[tuple[int, int | None], Style] = {}

    def style_for(pair: tuple[int, int | None]) -> Style:
        if pair not in styles:
            upper, lower = pair
            styles[pair] = Style(color=colors[upper], bgcolor=None if lower is None else colors[lower])
        return styles[pair]

    lines = []
    for row in range(0, levels.shape[0], 2):
        upper = levels[row].tolist()
        lower = levels[row + 1].tolist() if row + 1 < levels.shape[0] else [None] * len(upper)
        runs = itertools.groupby(zip(upper, lower))
        lines.append([Segment(UPPER_HALF_BLOCK * len(list(run)), style_for(pair)) for pair, run in runs])
    return lines


def plain_lines(levels: np.ndarray) -> list[list[Segment]]:
    """Unstyled lines: each pixel is two characters of the ramp, '?' for NaN."""
    symbols = RAMP + NAN_SYMBOL
    return [[Segment("".join(symbols[level] * 2 for level in row))] for row in levels.tolist()]


def as_map(data: np.ndarray) -> np.ndarray:
    """A non-empty 2-D float array, or a ValueError saying what arrived instead."""
    import numpy as np

    array = np.asarray(data, dtype=float)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"a heatmap needs a non-empty 2-D array, got shape {array.shape}")
    return array


class Heatmap:
    """One 2-D map drawn as a heatmap, fitted to the width (and height) it is given.

    Args:
        data: The 2-D map.
        vmin, vmax: The value range to colour (e.g. shared by a whole layer); each defaults to the
            map's own finite min / max. Values outside are clipped. Diverging colour maps widen
            the range to be symmetric about zero.
        width: Most cells wide, or None for the available width.
        height: Most lines tall, or None for the available height (the console's, when printed,
            so a lone map fits on screen).
        color: Half-block colour cells, or False for an unstyled ASCII ramp.
        colormap: A name from `convtui.render.colormaps.COLORMAPS`.
    """

    def __init__(
        self,
        data: np.ndarray,
        *,
        vmin: float | None = None,
        vmax: float | None = None,
        width: int | None = None,
        height: int | None = None,
        color: bool = True,
        colormap: str = "viridis",
    ) -> None:
        from convtui.render.colormaps import get_colormap

        if vmin is not None and vmax is not None and vmin > vmax:
            raise ValueError(f"vmin ({vmin}) is above vmax ({vmax})")
        self.data = as_map(data)
        self.vmin = vmin
        self.vmax = vmax
        self.width = width
        self.height = height
        self.color = color
        self.colormap = get_colormap(colormap)

    def __repr__(self) -> str:
        return f"Heatmap(shape={self.data.shape}, colormap={self.colormap.name!r}, color={self.color})"

    @property
    def geometry(self) -> CellGeometry:
        return geometry_for(self.color)

    def value_range(self) -> tuple[float, float]:
        """The values that map to the low and high ends of the colour map."""
        own_low, own_high = finite_range(self.data)
        low = own_low if self.vmin is None else self.vmin
        high = own_high if self.vmax is None else self.vmax
        return centred_range(low, high) if self.colormap.diverging else (low, high)

    def pixel_shape(self, width: int, height: int | None) -> tuple[int, int]:
        """Pixel rows and columns the map is drawn at in width x height cells (height None: no limit)."""
        max_rows, max_columns = self.geometry.pixel_capacity(width, height)
        return fit_shape(self.data.shape, max_rows, max_columns)

    def size(self, width: int, height: int | None) -> tuple[int, int]:
        """Width and height in cells the map takes in width x height cells."""
        return self.geometry.cell_size(*self.pixel_shape(width, height))

    def lines(self, width: int, height: int | None) -> list[list[Segment]]:
        """The drawn map, one list of Segments per line, fitted to width x height cells."""
        from convtui.render.colormaps import LEVELS

        pixels = resample(normalise(self.data, *self.value_range()), *self.pixel_shape(width, height))
        if self.color:
            return color_lines(quantise(pixels, LEVELS), self.colormap.name)
        return plain_lines(quantise(pixels, len(RAMP)))

    def _budget(self, options: ConsoleOptions) -> tuple[int, int]:
        """Cells available: the requested size, never more than the console offers."""
        available_height = options.height or options.max_height
        width = min(self.width or options.max_width, options.max_width)
        height = min(self.height, available_height) if self.height else available_height
        return width, height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(*self._budget(options)):
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width, _ = self.size(*self._budget(options))
        return Measurement(min(width, self.geometry.columns_per_pixel), width)


@dataclass(frozen=True)
class Caption:
    """What a grid tile says about its map: which filter, the map's own range, and warnings."""

    title: str
    markers: tuple[str, ...]
    range_text: str

    def title_line(self, color: bool) -> list[Segment]:
        """'#3 dead' with the marker dimmed, or '#3 (dead)' unstyled in plain mode."""
        if not color:
            return [Segment(" ".join([self.title, *(f"({marker})" for marker in self.markers)]))]
        return [Segment(self.title, TITLE_STYLE), *(Segment(f" {marker}", MARKER_STYLE) for marker in self.markers)]

    def range_line(self) -> list[Segment]:
        return [Segment(self.range_text)]

    def width(self, color: bool) -> int:
        return max(Segment.get_line_length(self.title_line(color)), cell_len(self.range_text))


def caption_for(data: np.ndarray, index: int, label: str | None) -> Caption:
    """Index (and label), min..max of the map, 'dead' if all zero, 'nan' if any value is NaN."""
    import numpy as np

    missing = np.isnan(data)
    low, high = (np.nan, np.nan) if missing.all() else (np.nanmin(data), np.nanmax(data))
    markers = ("dead",) * (not data.any()) + ("nan",) * bool(missing.any())
    title = f"#{index}" if not label else f"#{index} {label}"
    return Caption(title, markers, range_text(low, high))


def split_maps(maps: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """A list of 2-D maps from either a sequence of maps or one channels-last (H, W, K) array."""
    import numpy as np

    if isinstance(maps, np.ndarray):
        if maps.ndim != 3:
            raise ValueError(f"a map array must be (H, W, K), got shape {maps.shape}")
        return [maps[:, :, channel] for channel in range(maps.shape[2])]
    return list(maps)


@dataclass(frozen=True)
class GridLayout:
    """Tile sizes for one available width."""

    map_width: int
    tile_width: int
    tiles_per_row: int


def join_tiles(tiles: list[list[list[Segment]]], tile_width: int) -> Iterator[Segment]:
    """Lay tiles side by side, padded to one height and width, TILE_GAP cells apart."""
    height = max(len(tile) for tile in tiles)
    shaped = [Segment.set_shape(tile, tile_width, height) for tile in tiles]
    gap = Segment(" " * TILE_GAP)
    for row in zip(*shaped):
        for position, line in enumerate(row):
            if position:
                yield gap
            yield from line
        yield Segment.line()


class HeatmapGrid:
    """Many maps (e.g. every filter of a layer) as labelled heatmap tiles wrapped to the width.

    Each tile shows '#index' (and its label), the map, and the map's own min..max; all-zero maps
    are marked 'dead'. With scale="layer" every map is coloured on the layer-wide min..max, so
    tiles compare with each other; with scale="map" each uses its own range, to show its pattern.

    Args:
        maps: 2-D maps, or one channels-last (H, W, K) array.
        labels: Optional text after each tile's index.
        indices: The filter numbers to show (default 0, 1, ...), e.g. when showing a subset.
        scale: "map" or "layer", as above.
        cell_width: Width in cells of each tile's map; default from the map size and the width.
        color: Half-block colour cells, or False for unstyled ASCII.
        colormap: A name from `convtui.render.colormaps.COLORMAPS`.
    """

    def __init__(
        self,
        maps: Sequence[np.ndarray] | np.ndarray,
        *,
        labels: Sequence[str] | None = None,
        indices: Sequence[int] | None = None,
        scale: Scale = "map",
        cell_width: int | None = None,
        color: bool = True,
        colormap: str = "viridis",
    ) -> None:
        if scale not in ("map", "layer"):
            raise ValueError(f"scale must be 'map' or 'layer', not {scale!r}")
        arrays = [as_map(data) for data in split_maps(maps)]
        self.indices = list(range(len(arrays))) if indices is None else list(indices)
        self.labels: list[str | None] = [None] * len(arrays) if labels is None else list(labels)
        if not len(self.indices) == len(self.labels) == len(arrays):
            raise ValueError(
                f"{len(arrays)} maps need as many indices and labels "
                f"(got {len(self.indices)} and {len(self.labels)})"
            )
        low, high = self.layer_range(arrays) if scale == "layer" else (None, None)
        self.heatmaps = [Heatmap(data, vmin=low, vmax=high, color=color, colormap=colormap) for data in arrays]
        self.scale = scale
        self.cell_width = cell_width
        self.color = color

    def __repr__(self) -> str:
        return f"HeatmapGrid({len(self.heatmaps)} maps, scale={self.scale!r}, color={self.color})"

    @staticmethod
    def layer_range(maps: Sequence[np.ndarray]) -> tuple[float, float]:
        """The finite min and max over all maps."""
        ranges = [finite_range(data) for data in maps]
        return min(low for low, _ in ranges), max(high for _, high in ranges)

    def captions(self) -> list[Caption]:
        return [
            caption_for(heatmap.data, index, label)
            for heatmap, index, label in zip(self.heatmaps, self.indices, self.labels)
        ]

    def default_map_width(self, max_width: int) -> int:
        """Small maps enlarged to about DEFAULT_TILE_MAP_WIDTH, large ones shrunk so
        MIN_TILES_PER_ROW tiles fit."""
        natural = max(heatmap.data.shape[1] for heatmap in self.heatmaps) * geometry_for(self.color).columns_per_pixel
        share = (max_width + TILE_GAP) // MIN_TILES_PER_ROW - TILE_GAP
        return min(max(natural, DEFAULT_TILE_MAP_WIDTH), share)

    def layout(self, max_width: int, captions: list[Caption]) -> GridLayout:
        """Tile sizes: maps fit map_width; tiles widen to their captions, so min..max is never cut."""
        caption_width = max(caption.width(self.color) for caption in captions)
        requested = self.cell_width or max(self.default_map_width(max_width), caption_width)
        map_width = max(1, min(requested, max_width))
        drawn_width = max(heatmap.size(map_width, None)[0] for heatmap in self.heatmaps)
        tile_width = min(max(drawn_width, caption_width), max_width)
        tiles_per_row = max(1, (max_width + TILE_GAP) // (tile_width + TILE_GAP))
        return GridLayout(map_width, tile_width, tiles_per_row)

    def tile(self, heatmap: Heatmap, caption: Caption, layout: GridLayout) -> list[list[Segment]]:
        """Title, map, range: one tile's lines, each exactly tile_width cells."""
        lines = [caption.title_line(self.color), *heatmap.lines(layout.map_width, None), caption.range_line()]
        return [Segment.adjust_line_length(line, layout.tile_width) for line in lines]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.heatmaps:
            return
        captions = self.captions()
        layout = self.layout(options.max_width, captions)
        tiles = [self.tile(heatmap, caption, layout) for heatmap, caption in zip(self.heatmaps, captions)]
        for start in range(0, len(tiles), layout.tiles_per_row):
            if start:
                yield Segment.line()
            yield from join_tiles(tiles[start : start + layout.tiles_per_row], layout.tile_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        if not self.heatmaps:
            return Measurement(0, 0)
        layout = self.layout(options.max_width, self.captions())
        columns = min(layout.tiles_per_row, len(self.heatmaps))
        return Measurement(layout.tile_width, columns * (layout.tile_width + TILE_GAP) - TILE_GAP)


BAR_SYMBOL = "█"
PLAIN_BAR_SYMBOL = "#"
POSITIVE_STYLE = Style(color="green")
NEGATIVE_STYLE = Style(color="red")


class ValueBars:
    """One value a line: its index (and label), the value, and a bar from zero as long as its share of the largest
    (green above zero, red below; '#' unstyled in plain mode). For outputs of one value per channel, (1, 1, C)
    such as a squeeze-excite gate's, where a heatmap of one pixel per channel reads as an image of nothing.

    Args:
        values: The values to draw.
        indices: Each value's number (its channel).
        labels: Optional text after each index.
        largest: The magnitude of a full bar (default: the largest here), so that pages of one layer compare.
        color: Coloured bars, or False for unstyled '#'.
    """

    def __init__(
        self,
        values: Sequence[float],
        *,
        indices: Sequence[int],
        labels: Sequence[str] | None = None,
        largest: float | None = None,
        color: bool = True,
    ) -> None:
        self.values = [float(value) for value in values]
        self.titles = [f"#{index} {label}".rstrip() for index, label in zip(indices, labels or [""] * len(indices))]
        self.largest = largest if largest else max((abs(value) for value in self.values), default=0.0) or 1.0
        self.color = color

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        texts = [format_value(value) for value in self.values]
        title_width = max((cell_len(title) for title in self.titles), default=0)
        value_width = max((len(text) for text in texts), default=0)
        bar_width = max(1, options.max_width - title_width - value_width - 2 * TILE_GAP)
        for title, text, value in zip(self.titles, texts, self.values):
            length = round(min(1.0, abs(value) / self.largest) * bar_width)
            style = (NEGATIVE_STYLE if value < 0 else POSITIVE_STYLE) if self.color else None
            yield Segment(title + " " * (title_width - cell_len(title) + TILE_GAP) + text.rjust(value_width) + " " * TILE_GAP)
            yield Segment((BAR_SYMBOL if self.color else PLAIN_BAR_SYMBOL) * length, style)
            yield Segment.line()


def rgb_lines(pixels: np.ndarray) -> list[list[Segment]]:
    """Half-block lines of an (H, W, 3) image in 0..1: each cell its upper pixel's colour over its lower one's."""
    import numpy as np

    levels = np.rint(np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 255).astype(int).tolist()
    lines = []
    for row in range(0, len(levels), 2):
        lower = levels[row + 1] if row + 1 < len(levels) else [None] * len(levels[row])
        lines.append([
            Segment(UPPER_HALF_BLOCK, Style(color=Color.from_rgb(*upper), bgcolor=None if below is None else Color.from_rgb(*below)))
            for upper, below in zip(levels[row], lower)
        ])  # fmt: skip
    return lines


class ColourImage(Heatmap):
    """An (H, W, 3) image with values in 0..1 in its own colours, fitted as a Heatmap is; plain mode
    draws its brightness on the ramp. For a colour picture where three channel tiles do not fit.
    """

    def __init__(self, pixels: np.ndarray, *, width: int | None = None, height: int | None = None, color: bool = True) -> None:
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"a colour image needs shape (H, W, 3), got {pixels.shape}")
        super().__init__(pixels.mean(axis=2), vmin=0.0, vmax=1.0, width=width, height=height, color=color, colormap="gray")
        self.pixels = pixels.astype(float)

    def lines(self, width: int, height: int | None) -> list[list[Segment]]:
        import numpy as np

        if not self.color:
            return super().lines(width, height)
        rows, columns = self.pixel_shape(width, height)
        return rgb_lines(np.stack([resample(self.pixels[:, :, channel], rows, columns) for channel in range(3)], axis=2))
