"""The views and the table on graphs and blocks, as a new user met them: a folded row's Explain and Kernels, a
block expanded in place and marked, feature-map pages that keep their size, a Concatenate's channels named
after their inputs, a squeeze-excite gate as bars, a narrow table that wraps names before labels, and the
"no block" message that says how to make one.
"""

from __future__ import annotations

import numpy as np
from textual.pilot import Pilot
from tui_helpers import MakeApp, press_and_settle, render_text, run_app, table_rows

from convtui.render.heatmap import ValueBars
from convtui.tui.widgets.explain import ExplainView
from convtui.tui.widgets.feature_maps import FeatureMapsView, plan_page
from convtui.tui.widgets.kernels import KernelsView
from convtui.tui.widgets.stack_table import EXPANDED_MARKS, StackTable

SMALL = (80, 24)


def view_text(app, view_type: type, width: int = 118) -> str:
    return render_text(app.screen.query_one(view_type).render(), width)


def test_a_folded_rows_explain_and_kernels_speak_of_the_block(make_app: MakeApp) -> None:
    app = make_app("residual-demo")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "Z", "home", "down", "2")
        block = app.screen.query_one(StackTable).shown_rows[1]
        assert block.is_folded, "the folded block is the second row, after conv2d"
        params = sum(app.view_state.stack_info.layers[index].params for index in block.layers)
        text = view_text(app, ExplainView)
        assert f"Block {block.block}, folded" in text and f"params  {params:,}" in text and "z expands the block" in text, text
        await press_and_settle(pilot, "3")
        text = view_text(app, KernelsView)
        assert f"Block {block.block}, folded" in text and "has no weights" not in text, text

    run_app(app, scenario)


def test_expanding_a_block_keeps_it_in_view_from_its_first_layer_and_marks_it(make_app: MakeApp) -> None:
    app = make_app("resnet50")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "Z", "down", "down")
        table = app.screen.query_one(StackTable)
        block = table.shown_rows[table.cursor_row - 1]
        assert block.block == "conv2_block1", block
        await press_and_settle(pilot, "z")
        first = block.layers[0]
        assert app.view_state.selected_layer == first, "the selection stays at the top of the block it opened"
        assert table.scroll_y <= table._get_row_region(table.row_of(first)).y, "the block's first row shows"
        names = [row[1] for row in table_rows(app)]
        assert names[table.row_of(first)].startswith(EXPANDED_MARKS[0]), names
        assert names[table.row_of(block.layers[-1])].startswith(EXPANDED_MARKS[2]), names

    run_app(app, scenario, size=SMALL)


def test_the_no_block_message_says_w_makes_one(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "z")
        messages = [notification.message for notification in app._notifications]
        assert any("w wraps layers in a residual block" in message for message in messages), messages

    run_app(app, scenario)


def test_feature_map_pages_keep_their_size_while_paging() -> None:
    """Later maps have wider min..max captions than the first page's: every page holds as many tiles."""
    ramp = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    maps = [ramp * 0.5] * 14 + [ramp * 0.0579 - 0.00123] * 82
    pages = {plan_page(maps, selected, 118, 12, color=True).capacity for selected in range(0, 96, 7)}
    assert len(pages) == 1, pages


def test_a_concatenates_maps_say_which_input_they_come_from(make_app: MakeApp) -> None:
    app = make_app("unet-small")

    async def scenario(pilot: Pilot[None]) -> None:
        concatenate = next(info for info in app.view_state.stack_info.layers if info.layer.type_name == "Concatenate")
        app.select_layer(concatenate.index)
        await pilot.pause()
        first = concatenate.input_shapes[0][-1]
        app.select_filter(first)
        await pilot.pause()
        text = view_text(app, FeatureMapsView)
        assert f"#{first} ({concatenate.inputs[1]} #0)" in text, text

    run_app(app, scenario)


def test_a_one_by_one_output_shows_as_bars(make_app: MakeApp) -> None:
    app = make_app("se-block")

    async def scenario(pilot: Pilot[None]) -> None:
        gate = next(info for info in app.view_state.stack_info.layers if info.name == "se_expand")
        app.select_layer(gate.index)
        await pilot.pause()
        text = view_text(app, FeatureMapsView)
        assert "▀" not in text and "#0 ◀" in text and "█" in text, text

    run_app(app, scenario)


def test_value_bars_are_as_long_as_their_share_of_the_largest() -> None:
    text = render_text(ValueBars([0.5, -1.0], indices=[3, 4], labels=["◀", ""], largest=2.0, color=False), 40)
    first, second = text.splitlines()
    assert first.startswith("#3 ◀") and second.startswith("#4")
    assert second.count("#") - 1 == 2 * (first.count("#") - 1)


def test_a_narrow_graph_table_wraps_long_names_before_every_label(make_app: MakeApp) -> None:
    app = make_app("unet-small")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.screen.query_one(StackTable)
        layer = list(table.fit.columns).index("Layer")
        second_lines = [row[layer] for row in table_rows(app, line=1)[1:10]]
        assert sum(1 for line in second_lines if line) <= 2, second_lines

    run_app(app, scenario, size=SMALL)


def test_a_view_with_no_room_for_a_map_says_so(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        view = app.screen.query_one(FeatureMapsView)
        view.styles.height = 4
        await pilot.pause()
        text = view_text(app, FeatureMapsView, 78)
        assert "No room for a map" in text and "page 1/" not in text, text

    run_app(app, scenario, size=SMALL)
