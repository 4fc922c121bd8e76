"""Pilot tests for the views at 80x24: paging the Kernels view's input channels, the Input view's
image size, the drill-down's width, the layer table's keys and columns, and choices that belong
to one stack.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tui_helpers import MakeApp, press_and_settle, render_text, run_app, table_rows

from convtui.engine.contributions import ChannelContribution, Drilldown
from convtui.model.layers import Conv2D
from convtui.model.stack import Stack
from convtui.render.heatmap import UPPER_HALF_BLOCK
from convtui.tui.screens.help import HelpScreen
from convtui.tui.widgets.drilldown import drilldown_renderable
from convtui.tui.widgets.input_view import ImagePreview
from convtui.tui.widgets.kernels import KernelsView
from convtui.tui.widgets.stack_table import StackTable, short_count

SMALL = (80, 24)


def view_text(app, view_type: type, width: int = 78) -> str:
    return render_text(app.screen.query_one(view_type).render(), width)


def footer_keys(app) -> list[str]:
    return [binding.key for _, binding, enabled, _ in app.screen.active_bindings.values() if binding.show and enabled]


def test_the_kernels_view_pages_input_channels(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3")
        text = view_text(app, KernelsView)
        assert "channels 0-3 of 32 < >" in text and "#0 c3" in text and "#0 c4" not in text
        assert "greater_than_sign" in footer_keys(app), "the footer shows the channel keys on the Kernels tab"
        await press_and_settle(pilot, "greater_than_sign")
        text = view_text(app, KernelsView)
        assert "channels 4-7 of 32" in text and "#0 c4" in text and "#0 c3" not in text
        for _ in range(10):
            await press_and_settle(pilot, "greater_than_sign")
        assert "channels 28-31 of 32" in view_text(app, KernelsView), "the last page stays full"
        await press_and_settle(pilot, "less_than_sign")
        assert "channels 24-27 of 32" in view_text(app, KernelsView)
        await press_and_settle(pilot, "1")
        assert "greater_than_sign" not in footer_keys(app), "other tabs keep the footer for their own keys"

    run_app(app, scenario, size=SMALL)


def test_help_lists_the_channel_keys(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = render_text(app.screen.query_one("#keys", Static).content)
        assert "Next input channels" in text and "Previous input channels" in text

    run_app(app, scenario)


def test_opening_another_preset_starts_at_its_first_filter_and_channels(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3", "]", "]", "greater_than_sign")
        assert app.view_state.filter_index == 2 and app.view_state.first_channel > 0
        app.open_source("lenet5")
        await press_and_settle(pilot)
        assert app.stack.name == "lenet5"
        assert (app.view_state.filter_index, app.view_state.first_channel) == (0, 0)
        await press_and_settle(pilot, "]")
        app.stack_changed()  # as after an edit or an undo: the same stack's choices stay
        assert app.view_state.filter_index == 1

    run_app(app, scenario, size=SMALL)


def test_home_end_and_page_keys_move_through_the_layer_table(make_app: MakeApp) -> None:
    app = make_app("vgg16")
    last = len(app.stack.layers) - 1

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "end")
        assert app.view_state.selected_layer == last
        await press_and_settle(pilot, "home")
        assert app.view_state.selected_layer == 0
        await press_and_settle(pilot, "pagedown")
        paged = app.view_state.selected_layer
        assert 0 < paged < last
        await press_and_settle(pilot, "pageup")
        assert app.view_state.selected_layer < paged
        await press_and_settle(pilot, "ctrl+home")
        assert app.view_state.selected_layer == -1, "ctrl+home goes to the input row"

    run_app(app, scenario, size=SMALL)


def drilldown_of(kernel_size: int, channels: int) -> Drilldown:
    """A drill-down with wide numbers (negative, two digits before the point) in every matrix."""
    values = np.linspace(-12.5, 9.75, kernel_size * kernel_size).reshape(kernel_size, kernel_size)
    rows = tuple(ChannelContribution(channel, values, -values) for channel in range(channels))
    return Drilldown(filter_index=7, row=3, column=4, channels=rows, bias=0.5)


def matrix_rows(values: np.ndarray) -> list[list[str]]:
    return [[f"{value:.2f}" for value in row] for row in values.tolist()]


@pytest.mark.parametrize(("kernel_size", "width"), [(3, 76), (5, 76), (3, 40), (5, 40)])
def test_each_row_of_the_drilldown_matrices_fits_on_one_line(kernel_size: int, width: int) -> None:
    drilldown = drilldown_of(kernel_size, channels=40)
    lines = render_text(drilldown_renderable(drilldown, "relu", 0.0), width).splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    for values in (drilldown.channels[0].patch, drilldown.channels[0].weights):
        for row in matrix_rows(values):
            assert any(re.search(r"\s+".join(map(re.escape, row)), line) for line in lines), (row, lines)
    assert all(any(f"c{channel} " in line for line in lines) for channel in range(40)), "every channel's contribution is listed"


def test_the_drilldown_keeps_its_table_where_it_fits() -> None:
    text = render_text(drilldown_renderable(drilldown_of(3, channels=4), None, 0.0), 76)
    assert "sum of products" in text.splitlines()[0] and "input patch" in text.splitlines()[0]


def test_every_column_of_vgg16_fits_in_80_columns(make_app: MakeApp) -> None:
    app = make_app("vgg16")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.screen.query_one(StackTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width, "nothing is cut off at the right"
        labels = [str(column.label) for column in table.columns.values()]
        assert "Params" in labels and "Output shape" in labels and "Weights" not in labels  # exact counts before weight shapes
        rows = {row[0]: row for row in table_rows(app)}
        assert rows["19"][labels.index("Params")] == "102,764,544" and rows["19"][labels.index("Output shape")] == "(4096,)"

    run_app(app, scenario, size=SMALL)


def test_the_table_takes_its_full_form_again_when_the_terminal_widens(make_app: MakeApp) -> None:
    app = make_app("vgg16")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.resize_terminal(130, 40)
        await press_and_settle(pilot)
        assert table_rows(app)[1][1:3] == ["conv2d", "Conv2D(64, 3x3, same, relu)"]

    run_app(app, scenario, size=SMALL)


def test_short_counts() -> None:
    assert [short_count(text) for text in ("0", "320", "18,496", "999,999", "14,714,688", "102,764,544", "")] == [
        "0", "320", "18.5K", "1M", "14.7M", "103M", "",
    ]  # fmt: skip


def image_lines(app) -> tuple[int, int]:
    """Lines of the Input view's picture, and the lines the view has."""
    preview = app.screen.query_one(ImagePreview)
    text = render_text(preview.render(), preview.size.width)
    return sum(UPPER_HALF_BLOCK in line for line in text.splitlines()), preview.size.height


@pytest.mark.parametrize("layers", [2, 4, 8])
def test_the_input_image_shows_at_a_readable_size_in_80x24(make_app: MakeApp, layers: int) -> None:
    app = make_app(stack=Stack((28, 28, 1), tuple(Conv2D(filters=2, kernel_size=3) for _ in range(layers))))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "4")
        drawn, height = image_lines(app)
        assert 7 <= drawn <= height - 1, "at least 14 of the digit's 28 pixel rows, within the view"
        samples = app.screen.query_one("#input-samples OptionList")
        assert samples.region.height >= 3, "the samples stay in reach, beside the image"

    run_app(app, scenario, size=SMALL)


def test_a_colour_image_too_narrow_for_three_tiles_shows_in_its_colours(make_app: MakeApp) -> None:
    app = make_app(stack=Stack((32, 32, 3), (Conv2D(filters=2, kernel_size=3),)))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "4")
        drawn, height = image_lines(app)
        assert 7 <= drawn <= height - 1
        assert "#0 red" not in render_text(app.screen.query_one(ImagePreview).render())

    run_app(app, scenario, size=SMALL)


def test_a_page_of_feature_maps_fits_its_width_whatever_the_captions() -> None:
    """The first map's caption ("0..0.5") is narrower than others' ("0..0.0835", "-0.0123..0.0456"): every tile
    the page counts is drawn within the width, none spills onto a line of its own."""
    import numpy as np
    from rich.console import Console

    from convtui.render.heatmap import HeatmapGrid
    from convtui.tui.widgets.feature_maps import plan_page

    ramp = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    maps = [ramp * 0.5, ramp * 0.0835, ramp * 0.0579 - 0.0123, *(ramp * 0.25 for _ in range(13))]
    for width in (60, 80, 100):
        page = plan_page(maps, 0, width, 12, color=True)
        shown = range(page.first, page.first + page.count)
        grid = HeatmapGrid([maps[index] for index in shown], indices=list(shown), labels=["◀"] + [""] * (page.count - 1), cell_width=page.map_width)
        console = Console(width=width, record=True, color_system=None)
        console.print(grid)
        lines = console.export_text().splitlines()
        captions = [line for line in lines if ".." in line]
        assert sum(line.count("..") for line in captions) == page.count, (width, lines)
        assert len(captions) == -(-page.count // page.tiles_per_row), (width, page, lines)
