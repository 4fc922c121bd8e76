"""Heatmap and HeatmapGrid: sizes, resampling, colour/ramp mapping, labels and layout.

Expected values come from the definitions (block means, the ramp, the colour tables), never
from running the renderer and copying what it printed.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.segment import Segment

from convtui.render.colormaps import BAD_COLOR, LEVELS, get_colormap
from convtui.render.heatmap import (
    RAMP,
    UPPER_HALF_BLOCK,
    Heatmap,
    HeatmapGrid,
    box_downscale,
    fit_shape,
    format_value,
)

ANSI_ESCAPE = re.compile(r"\x1b\[")
VIRIDIS = get_colormap("viridis").table
COOLWARM = get_colormap("coolwarm").table


def color_console(width: int = 80, height: int = 25) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        height=height,
        color_system="truecolor",
        legacy_windows=False,
        force_terminal=True,
    )


def plain_console(width: int = 80, height: int = 25) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, color_system=None, legacy_windows=False)


def render_lines(renderable: RenderableType, console: Console | None = None) -> list[list[Segment]]:
    console = console or color_console()
    return list(Segment.split_lines(console.render(renderable)))


def line_texts(renderable: RenderableType, console: Console | None = None) -> list[str]:
    return ["".join(segment.text for segment in line) for line in render_lines(renderable, console)]


def printed(renderable: RenderableType, console: Console) -> str:
    console.print(renderable)
    output = console.file.getvalue()
    assert isinstance(output, str)
    return output


def upper_colors(line: list[Segment]) -> list[tuple[int, int, int]]:
    """The foreground (upper pixel) colour of every cell of a colour line."""
    return [tuple(segment.style.color.triplet) for segment in line for _ in segment.text]


def lower_colors(line: list[Segment]) -> list[tuple[int, int, int] | None]:
    return [
        tuple(segment.style.bgcolor.triplet) if segment.style.bgcolor else None
        for segment in line
        for _ in segment.text
    ]


def rgb(table: np.ndarray, level: int) -> tuple[int, int, int]:
    return tuple(int(channel) for channel in table[level])


def naive_box_downscale(data: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Area averaging by the definition: weight every input pixel by its overlap with the output pixel."""

    def overlap(start: Fraction, end: Fraction, pixel: int) -> Fraction:
        return max(Fraction(0), min(end, Fraction(pixel + 1)) - max(start, Fraction(pixel)))

    height, width = data.shape
    result = np.empty((rows, columns))
    for row in range(rows):
        row_start, row_end = Fraction(row * height, rows), Fraction((row + 1) * height, rows)
        for column in range(columns):
            column_start, column_end = Fraction(column * width, columns), Fraction((column + 1) * width, columns)
            total = weight = Fraction(0)
            for y in range(height):
                for x in range(width):
                    share = overlap(row_start, row_end, y) * overlap(column_start, column_end, x)
                    total += share * Fraction(float(data[y, x]))
                    weight += share
            result[row, column] = float(total / weight)
    return result


# --- format_value ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0123, "0.0123"),
        (-1250.0, "-1.25e+03"),
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (3.14159, "3.14"),
        (123456.0, "1.23e+05"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (np.float32(0.5), "0.5"),
    ],
)
def test_format_value_is_compact(value: float, text: str) -> None:
    assert format_value(value) == text


# --- resampling -----------------------------------------------------------------------------


def test_box_downscale_4x4_to_2x2_is_the_block_means() -> None:
    data = np.arange(16, dtype=float).reshape(4, 4)
    expected = np.array([[data[:2, :2].mean(), data[:2, 2:].mean()], [data[2:, :2].mean(), data[2:, 2:].mean()]])
    np.testing.assert_allclose(box_downscale(data, 2, 2), expected)
    np.testing.assert_allclose(box_downscale(data, 2, 2), naive_box_downscale(data, 2, 2))


def test_box_downscale_weights_partly_covered_pixels() -> None:
    data = np.arange(35, dtype=float).reshape(5, 7) ** 2
    np.testing.assert_allclose(box_downscale(data, 2, 3), naive_box_downscale(data, 2, 3))


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
        elements=st.floats(-1000, 1000, allow_nan=False),
    ),
    row_fraction=st.floats(0.01, 1.0),
    column_fraction=st.floats(0.01, 1.0),
)
def test_box_downscale_matches_the_definition_and_keeps_the_mean(
    data: np.ndarray, row_fraction: float, column_fraction: float
) -> None:
    rows = max(1, math.floor(data.shape[0] * row_fraction))
    columns = max(1, math.floor(data.shape[1] * column_fraction))
    result = box_downscale(data, rows, columns)
    assert result.shape == (rows, columns)
    np.testing.assert_allclose(result, naive_box_downscale(data, rows, columns), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.mean(), data.mean(), rtol=1e-9, atol=1e-9)


def test_box_downscale_leaves_nan_out_of_the_mean() -> None:
    data = np.array([[np.nan, 1.0, np.nan, np.nan], [3.0, 5.0, np.nan, np.nan]])
    result = box_downscale(data, 1, 2)
    assert result[0, 0] == pytest.approx(3.0)
    assert np.isnan(result[0, 1])


@pytest.mark.parametrize(
    ("shape", "max_rows", "max_columns", "expected"),
    [
        ((3, 3), 40, 30, (30, 30)),  # enlarged x10, the largest whole factor that fits
        ((7, 7), None, 80, (77, 77)),  # no height limit: width decides
        ((3, 5), 100, 12, (6, 10)),  # x2: x3 would be 15 wide
        ((100, 50), 50, 80, (50, 25)),  # shrunk by the tighter side, aspect kept
        ((28, 28), 10, 80, (10, 10)),
        ((1000, 1), 4, 4, (4, 1)),  # never below one pixel
    ],
)
def test_fit_shape(shape: tuple[int, int], max_rows: int | None, max_columns: int, expected: tuple[int, int]) -> None:
    assert fit_shape(shape, max_rows, max_columns) == expected


# --- Heatmap: size and layout ---------------------------------------------------------------


@pytest.mark.parametrize("height", [1, 2, 7, 8, 13])
def test_color_mode_draws_two_pixel_rows_per_line(height: int) -> None:
    data = np.random.default_rng(height).random((height, 10))
    lines = render_lines(Heatmap(data, width=10))
    assert len(lines) == math.ceil(height / 2)
    assert all(Segment.get_line_length(line) == 10 for line in lines)
    assert all(segment.text == UPPER_HALF_BLOCK * len(segment.text) for line in lines for segment in line)


def test_odd_last_pixel_row_leaves_the_background_unset() -> None:
    lines = render_lines(Heatmap(np.ones((3, 4)), width=4))
    assert lower_colors(lines[0]) == [rgb(VIRIDIS, 0)] * 4
    assert lower_colors(lines[1]) == [None] * 4


def test_small_map_is_enlarged_by_a_whole_factor() -> None:
    data = np.arange(9, dtype=float).reshape(3, 3)
    lines = line_texts(Heatmap(data, width=12, height=100, color=False))
    # plain: 2 columns per pixel, so 6 pixels wide -> factor 2: 6 lines of 12 characters.
    # Value v is at t = v / 8 and lands in ramp bin floor(10 t), the top bin closed.
    levels = [[0, 1, 2], [3, 5, 6], [7, 8, 9]]
    expected_rows = ["".join(RAMP[level] * 4 for level in row) for row in levels]
    assert lines == [expected_rows[row // 2] for row in range(6)]


def test_small_map_in_colour_keeps_square_pixels() -> None:
    data = np.arange(9, dtype=float).reshape(3, 3)
    lines = render_lines(Heatmap(data, width=30, height=15))
    assert len(lines) == 15  # 3 pixels x10 = 30 pixel rows = 15 lines
    assert all(Segment.get_line_length(line) == 30 for line in lines)
    first = upper_colors(lines[0])
    assert first[:10] == [first[0]] * 10 and first[10] != first[9]


def test_large_map_is_averaged_down_not_cropped() -> None:
    data = np.zeros((200, 200))
    data[180:, 180:] = 1.0  # a bright corner that cropping would lose
    lines = line_texts(Heatmap(data, width=20, height=40, color=False))
    assert len(lines) == 10 and all(len(line) == 20 for line in lines)
    assert lines[-1][-2:] != "  "
    assert lines[0].strip() == ""


def test_large_map_is_averaged_not_subsampled() -> None:
    # alternating columns 0/1 (one -1 to widen the range): subsampling would show -1, 0 or 1.
    data = np.tile([0.0, 1.0], (4, 4))
    data[0, 0] = -1.0
    lines = line_texts(Heatmap(data, width=2, height=1, color=False))
    mean = 15 / 32  # (16 ones - 1) / 32 pixels
    assert lines == [RAMP[math.floor((mean + 1) / 2 * len(RAMP))] * 2]


def test_aspect_ratio_is_kept_in_both_modes() -> None:
    data = np.zeros((20, 40))
    assert Heatmap(data, width=20, height=50).size(20, 50) == (20, 5)
    assert Heatmap(data, width=20, height=50, color=False).size(20, 50) == (20, 5)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 60),
    columns=st.integers(1, 60),
    width=st.integers(2, 100),
    height=st.integers(1, 40),
    color=st.booleans(),
)
def test_heatmap_always_fits_its_space(rows: int, columns: int, width: int, height: int, color: bool) -> None:
    data = np.random.default_rng(rows * columns).random((rows, columns))
    lines = render_lines(Heatmap(data, color=color), color_console(width=width, height=height))
    assert 1 <= len(lines) <= height
    assert all(Segment.get_line_length(line) <= width for line in lines)


# --- Heatmap: values to colours and characters ----------------------------------------------


def test_ascending_gradient_gives_the_ramp_in_order() -> None:
    lines = line_texts(Heatmap(np.arange(10.0)[None, :], width=20, color=False))
    assert lines == ["".join(character * 2 for character in RAMP)]


def test_ascending_gradient_gives_ascending_colour_map_entries() -> None:
    data = np.linspace(0.0, 1.0, 32)[None, :]
    colors = upper_colors(render_lines(Heatmap(data, width=32))[0])
    table = [rgb(VIRIDIS, level) for level in range(LEVELS)]
    levels = [table.index(color) for color in colors]
    assert levels[0] == 0 and levels[-1] == LEVELS - 1
    assert levels == sorted(levels) and len(set(levels)) == len(levels)


def test_vmin_vmax_clip_values_outside() -> None:
    data = np.array([[-5.0, 0.0, 2.5, 5.0, 10.0]])
    lines = line_texts(Heatmap(data, vmin=0.0, vmax=5.0, width=10, color=False))
    assert lines == ["    " + RAMP[5] * 2 + "@@@@"]


def test_vmin_vmax_set_a_shared_scale() -> None:
    """A map that only reaches half the layer's range stops half way up the ramp."""
    lines = line_texts(Heatmap(np.array([[0.0, 1.0]]), vmin=0.0, vmax=2.0, width=4, color=False))
    assert lines == ["  " + RAMP[5] * 2]


def test_vmin_above_vmax_is_an_error() -> None:
    with pytest.raises(ValueError, match="vmin"):
        Heatmap(np.zeros((2, 2)), vmin=1.0, vmax=0.0)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("value", [0.0, 7.5, -3.0])
def test_constant_map_shows_the_low_colour(value: float) -> None:
    data = np.full((4, 6), value)
    assert line_texts(Heatmap(data, width=12, color=False)) == [" " * 12] * 4
    for line in render_lines(Heatmap(data, width=6)):
        assert upper_colors(line) == [rgb(VIRIDIS, 0)] * 6


@pytest.mark.filterwarnings("error")
def test_nan_and_inf_are_safe() -> None:
    data = np.array([[np.nan, -np.inf, 0.0, 1.0, np.inf]])
    assert line_texts(Heatmap(data, width=10, color=False)) == ["??    @@@@"]
    colors = upper_colors(render_lines(Heatmap(data, width=5))[0])
    assert colors == [BAD_COLOR, rgb(VIRIDIS, 0), rgb(VIRIDIS, 0), rgb(VIRIDIS, 255), rgb(VIRIDIS, 255)]


@pytest.mark.filterwarnings("error")
def test_all_nan_map_is_safe() -> None:
    assert line_texts(Heatmap(np.full((2, 2), np.nan), width=4, color=False)) == ["????"] * 2


def test_diverging_map_puts_zero_on_the_neutral_centre() -> None:
    data = np.array([[-1.0, 0.0, 3.0]])
    colors = upper_colors(render_lines(Heatmap(data, width=3, colormap="coolwarm"))[0])
    # range widened to -3..3: zero is exactly half way, -1 a third of the way to the centre
    assert colors[1] == rgb(COOLWARM, LEVELS // 2)
    assert colors[2] == rgb(COOLWARM, LEVELS - 1)
    assert colors[0] == rgb(COOLWARM, math.floor(LEVELS / 3))


def test_diverging_map_shows_an_all_zero_map_as_neutral() -> None:
    colors = upper_colors(render_lines(Heatmap(np.zeros((1, 3)), width=3, colormap="coolwarm"))[0])
    assert colors == [rgb(COOLWARM, LEVELS // 2)] * 3


def test_plain_mode_has_no_escape_codes_even_on_a_colour_terminal() -> None:
    data = np.random.default_rng(0).random((12, 12))
    output = printed(Heatmap(data, color=False), color_console())
    assert not ANSI_ESCAPE.search(output)
    assert all(segment.style is None for line in render_lines(Heatmap(data, color=False)) for segment in line)
    assert set(output) <= set(RAMP + "?\n")


def test_colour_mode_writes_truecolor_codes() -> None:
    output = printed(Heatmap(np.array([[0.0], [1.0]])), color_console())
    r, g, b = rgb(VIRIDIS, 0)
    assert f"38;2;{r};{g};{b}" in output
    r, g, b = rgb(VIRIDIS, 255)
    assert f"48;2;{r};{g};{b}" in output


@pytest.mark.parametrize("data", [np.zeros(5), np.zeros((2, 2, 2)), np.zeros((0, 3))])
def test_heatmap_needs_a_2d_map(data: np.ndarray) -> None:
    with pytest.raises(ValueError, match="2-D"):
        Heatmap(data)


# --- Heatmap: measure -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "options", "expected_max"),
    [
        ((3, 3), {"width": 10}, 9),  # x3
        ((3, 3), {"width": 10, "color": False}, 6),  # 5 pixels room -> x1, 2 columns each
        ((28, 28), {}, 28),  # console 80x25 holds 50 pixel rows: x1
        ((20, 20), {}, 40),  # x2: 50 pixel rows hold 40, x3 would need 60
        ((10, 100), {}, 80),  # shrunk to the console width
    ],
)
def test_heatmap_measure(shape: tuple[int, int], options: dict, expected_max: int) -> None:
    console = color_console()
    heatmap = Heatmap(np.random.default_rng(1).random(shape), **options)
    measurement = Measurement.get(console, console.options, heatmap)
    assert measurement.maximum == expected_max
    assert measurement.minimum <= measurement.maximum
    assert max(Segment.get_line_length(line) for line in render_lines(heatmap, console)) == expected_max


# --- colour maps ----------------------------------------------------------------------------


def test_colormap_tables() -> None:
    assert VIRIDIS.shape == COOLWARM.shape == (LEVELS, 3)
    assert rgb(VIRIDIS, 0) == (0x44, 0x01, 0x54) and rgb(VIRIDIS, 255) == (0xFD, 0xE7, 0x25)
    assert rgb(COOLWARM, 0) == (0x3B, 0x4C, 0xC0) and rgb(COOLWARM, 255) == (0xB4, 0x04, 0x26)
    assert not get_colormap("viridis").diverging and get_colormap("coolwarm").diverging


def test_viridis_gets_lighter_from_end_to_end() -> None:
    luminance = VIRIDIS.astype(float) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) > -1.0)  # monotonic, within rounding of the table


def test_gray_is_the_identity_ramp_for_images() -> None:
    table = get_colormap("gray").table
    np.testing.assert_array_equal(table, np.repeat(np.arange(LEVELS, dtype=np.uint8)[:, None], 3, axis=1))


@pytest.mark.parametrize("name", ["viridis", "coolwarm"])
def test_no_colour_vanishes_on_a_black_or_white_terminal(name: str) -> None:
    table = get_colormap(name).table.astype(int)
    assert table.max(axis=1).min() >= 64  # every entry stands off a black background
    assert table.min(axis=1).max() <= 224  # and off a white one


def test_unknown_colormap_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="viridis"):
        Heatmap(np.zeros((2, 2)), colormap="jet")


# --- HeatmapGrid ----------------------------------------------------------------------------


def unit_maps(count: int, size: int = 5) -> list[np.ndarray]:
    """Maps running 0..1, so every caption is '0..1' and tile widths stay predictable."""
    return [np.linspace(0.0, 1.0, size * size).reshape(size, size) for _ in range(count)]


def tile_rows(texts: list[str]) -> list[int]:
    """Tiles per row of the grid: count of titles on each title line."""
    return [len(re.findall(r"#\d+", text)) for text in texts if text.lstrip().startswith("#")]


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (80, [6, 2]),  # tiles 10 wide + 2 gap: (80 + 2) // 12 = 6
        (40, [3, 3, 2]),
        (21, [1] * 8),
        (22, [2, 2, 2, 2]),
        (6, [1] * 8),  # narrower than a tile: one per row, shrunk
    ],
)
def test_grid_wraps_to_the_width(width: int, expected: list[int]) -> None:
    grid = HeatmapGrid(unit_maps(8), cell_width=10)
    texts = line_texts(grid, color_console(width=width))
    assert tile_rows(texts) == expected
    assert all(len(text) <= width for text in texts)


def test_grid_measure_matches_what_it_draws() -> None:
    grid = HeatmapGrid(unit_maps(8), cell_width=10)
    console = color_console(width=40)
    measurement = Measurement.get(console, console.options, grid)
    assert measurement == Measurement(10, 3 * 10 + 2 * 2)
    assert max(len(text.rstrip()) for text in line_texts(grid, console)) == 34


def test_grid_measure_of_few_tiles_is_their_width() -> None:
    grid = HeatmapGrid(unit_maps(2), cell_width=10)
    console = color_console(width=80)
    assert Measurement.get(console, console.options, grid).maximum == 22


@pytest.mark.parametrize("cell_width", [None, 4])  # 4: tiles widen so captions are never cut
def test_tiles_are_labelled_with_index_label_and_range(cell_width: int | None) -> None:
    maps = [np.array([[-1.5, 0.0], [1.0, 2.0]]), np.array([[0.0123, 1250.0], [3.0, 4.0]])]
    grid = HeatmapGrid(maps, indices=[4, 9], labels=["edge", "blob"], cell_width=cell_width, color=False)
    texts = line_texts(grid)
    text = "\n".join(texts)
    assert "#4 edge" in text and "#9 blob" in text
    assert "-1.5..2" in text
    assert "0.0123..1.25e+03" in text


def test_default_indices_count_from_zero() -> None:
    text = "\n".join(line_texts(HeatmapGrid(unit_maps(3), color=False)))
    assert re.findall(r"#\d+", text) == ["#0", "#1", "#2"]


def test_dead_maps_are_marked_dim_in_colour() -> None:
    maps = [np.zeros((4, 4)), unit_maps(1, 4)[0]]
    lines = render_lines(HeatmapGrid(maps, indices=[0, 1]))
    dead = [segment for line in lines for segment in line if "dead" in segment.text]
    assert len(dead) == 1
    assert dead[0].style is not None and dead[0].style.dim
    title_line = "".join(segment.text for segment in lines[0])
    assert title_line.index("dead") < title_line.index("#1")


def test_dead_maps_are_marked_in_plain_mode() -> None:
    maps = np.stack([np.zeros((4, 4)), unit_maps(1, 4)[0], np.full((4, 4), np.nan)], axis=-1)
    text = "\n".join(line_texts(HeatmapGrid(maps, color=False)))
    assert "#0 (dead)" in text
    assert "#1 (" not in text
    assert "#2 (nan)" in text  # an all-NaN map is broken, not dead


def test_grid_plain_mode_has_no_escape_codes() -> None:
    maps = np.random.default_rng(2).normal(size=(6, 6, 5))
    maps[..., 1] = 0.0
    output = printed(HeatmapGrid(maps, color=False), color_console())
    assert not ANSI_ESCAPE.search(output)


def test_layer_scale_uses_one_range_for_every_map() -> None:
    maps = [np.array([[0.0, 1.0]]), np.array([[0.0, 2.0]])]
    per_map = line_texts(HeatmapGrid(maps, cell_width=4, color=False))
    per_layer = line_texts(HeatmapGrid(maps, scale="layer", cell_width=4, color=False))
    assert per_map[1].split() == ["@@", "@@"]
    assert per_layer[1].split() == [RAMP[5] * 2, "@@"]


def test_array_and_sequence_of_maps_draw_the_same() -> None:
    stacked = np.random.default_rng(3).random((7, 7, 5))
    as_sequence = [stacked[:, :, channel] for channel in range(5)]
    assert line_texts(HeatmapGrid(stacked)) == line_texts(HeatmapGrid(as_sequence))


def test_default_tiles_enlarge_small_kernels() -> None:
    kernels = np.random.default_rng(4).normal(size=(3, 3, 8))
    lines = render_lines(HeatmapGrid(kernels, colormap="coolwarm"), color_console(width=80))
    first_map_cells = list(itertools.takewhile(lambda segment: segment.style is not None, lines[1]))
    colors = upper_colors(first_map_cells)
    run = next(index for index, color in enumerate(colors) if color != colors[0])
    assert run > 1 and len(colors) == 3 * run  # each kernel pixel is a block `run` cells wide


def test_default_tiles_shrink_large_maps_to_fit_several_per_row() -> None:
    maps = np.random.default_rng(5).random((224, 224, 8))
    texts = line_texts(HeatmapGrid(maps), color_console(width=80))
    assert tile_rows(texts)[0] >= 4


def test_empty_grid_draws_nothing() -> None:
    console = color_console()
    grid = HeatmapGrid([])
    assert line_texts(grid, console) == []
    assert Measurement.get(console, console.options, grid).maximum == 0


@pytest.mark.parametrize(
    ("maps", "options", "message"),
    [
        (unit_maps(2), {"labels": ["only one"]}, "indices and labels"),
        (unit_maps(2), {"indices": [0, 1, 2]}, "indices and labels"),
        (np.zeros((4, 4)), {}, r"\(H, W, K\)"),
        (unit_maps(2), {"scale": "global"}, "scale"),
    ],
)
def test_grid_rejects_bad_arguments(maps: object, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HeatmapGrid(maps, **options)  # type: ignore[arg-type]
