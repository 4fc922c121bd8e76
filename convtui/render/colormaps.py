"""Colour maps for heatmaps: compact stop tables, expanded once into 256-entry RGB lookup tables.

A heatmap paints every cell with an explicit colour, so the terminal background never shows
through a map; and neither data map (viridis, coolwarm) ends on pure black or pure white, so a
map's edge stays visible on dark and on light terminals alike. "gray" is for input images and
spans black to white like the image itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVELS = 256

# NaN pixels: magenta appears in neither map, so a broken value cannot pass for a real one.
BAD_COLOR = (255, 0, 255)

# viridis (van der Walt and Smith, matplotlib's default): perceptually uniform, monotonic in
# lightness and readable by colour-blind viewers. These are 33 evenly spaced entries of its
# 256-entry table; linear interpolation between them is within 2/255 of the original.
VIRIDIS_STOPS = (
    "#440154", "#470d60", "#48186a", "#482374", "#472d7b", "#453781", "#424086", "#3e4989",
    "#3b528b", "#375b8d", "#33638d", "#2f6b8e", "#2c728e", "#297a8e", "#26828e", "#23898e",
    "#21918c", "#1f978b", "#1f9f88", "#21a685", "#27ad81", "#31b57b", "#3dbc74", "#4cc26c",
    "#5cc863", "#6ece58", "#81d34d", "#95d840", "#aadc32", "#c0df25", "#d5e21a", "#eae51a",
    "#fde725",
)  # fmt: skip

# Moreland's cool-warm ("Diverging Color Maps for Scientific Visualization", 2009), 33 stops:
# blue for negative, red for positive. Its neutral centre is a light grey, not white, so zero
# stays distinguishable from a light terminal background, and both ends are mid-dark.
COOLWARM_STOPS = (
    "#3b4cc0", "#445acc", "#4d68d7", "#5775e1", "#6282ea", "#6c8ef1", "#779af7", "#82a5fb",
    "#8db0fe", "#98b9ff", "#a3c2ff", "#aec9fd", "#b8d0f9", "#c2d5f4", "#ccd9ee", "#d5dbe6",
    "#dddddd", "#e5d8d1", "#ecd3c5", "#f1ccb9", "#f5c4ad", "#f7bba0", "#f7b194", "#f7a687",
    "#f49a7b", "#f18d6f", "#ec7f63", "#e57058", "#de604d", "#d55042", "#cb3e38", "#c0282f",
    "#b40426",
)  # fmt: skip

GRAY_STOPS = ("#000000", "#ffffff")


@dataclass(frozen=True, eq=False)
class Colormap:
    """A lookup table from a level in [0, LEVELS) to RGB.

    A diverging map is meant for signed data: the heatmap centres its range on zero, so zero
    always lands on the neutral middle colour.
    """

    name: str
    table: np.ndarray  # (LEVELS, 3) uint8
    diverging: bool


def hex_to_rgb(code: str) -> tuple[int, int, int]:
    """'#3b4cc0' -> (59, 76, 192)."""
    value = int(code.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def expand_stops(stops: tuple[str, ...], levels: int = LEVELS) -> np.ndarray:
    """Interpolate evenly spaced colour stops linearly into a (levels, 3) uint8 table."""
    stop_rgb = np.array([hex_to_rgb(code) for code in stops], dtype=float)
    stop_positions = np.linspace(0.0, 1.0, len(stops))
    positions = np.linspace(0.0, 1.0, levels)
    channels = [np.interp(positions, stop_positions, stop_rgb[:, channel]) for channel in range(3)]
    return np.rint(np.stack(channels, axis=1)).astype(np.uint8)


COLORMAPS: dict[str, Colormap] = {
    "viridis": Colormap("viridis", expand_stops(VIRIDIS_STOPS), diverging=False),
    "coolwarm": Colormap("coolwarm", expand_stops(COOLWARM_STOPS), diverging=True),
    "gray": Colormap("gray", expand_stops(GRAY_STOPS), diverging=False),
}


def get_colormap(name: str) -> Colormap:
    """The colour map called `name`; an unknown name is an error that lists the known ones."""
    try:
        return COLORMAPS[name]
    except KeyError:
        known = ", ".join(sorted(COLORMAPS))
        raise ValueError(f"unknown colour map {name!r} (known: {known})") from None
