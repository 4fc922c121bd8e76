"""Pilot tests for the Kernels view's channel keys typed in a burst, its drawing of Dense kernels and
the footer's channel keys, and the help screen's table keys, column split and scroll hint.
"""

from __future__ import annotations

from textual import events
from textual.pilot import Pilot
from textual.widgets import Static
from tui_helpers import MakeApp, press_and_settle, render_text, run_app, settle

from convtui.model.layers import Conv2D, Dense, Flatten
from convtui.model.stack import Stack
from convtui.tui.screens.help import HelpScreen, KeySheet, split_in_two
from convtui.tui.widgets.kernels import KernelsView

SMALL = (80, 24)
WIDE = (120, 40)


def kernels_text(app, width: int = 78) -> str:
    return render_text(app.screen.query_one(KernelsView).render(), width)


def footer_keys(app) -> list[str]:
    return [binding.key for _, binding, enabled, _ in app.screen.active_bindings.values() if binding.show and enabled]


def channel_keys_offered(app) -> bool:
    return "greater_than_sign" in footer_keys(app)


async def burst(pilot: Pilot[None], key: str, character: str, times: int) -> None:
    """Keys as a terminal delivers a burst: all queued before the app handles (and repaints after) the first.
    Pilot.press waits for the app to be idle after every key, which hides what a burst does."""
    for _ in range(times):
        pilot.app._driver.send_message(events.Key(key, character))  # type: ignore[union-attr]
    await settle(pilot)


def test_every_channel_key_of_a_burst_counts(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3")
        assert "channels 0-3 of 32 < >" in kernels_text(app)
        await burst(pilot, "greater_than_sign", ">", 3)
        assert app.view_state.first_channel == 12
        assert "channels 12-15 of 32" in kernels_text(app)
        await burst(pilot, "less_than_sign", "<", 2)
        assert "channels 4-7 of 32" in kernels_text(app)
        await burst(pilot, "greater_than_sign", ">", 20)
        assert "channels 28-31 of 32" in kernels_text(app), "the last page stays full"

    run_app(app, scenario, size=SMALL)


def test_a_dense_kernel_on_a_flattened_map_shows_each_units_weights_as_maps(make_app: MakeApp) -> None:
    app = make_app("mnist-convnet")
    dense = next(info.index for info in app.view_state.stack_info.layers if isinstance(info.layer, Dense))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "3")
        app.select_layer(dense)
        await settle(pilot)
        text = kernels_text(app)
        assert "kernel (1600, 10)  units 0-9 of 10  channels 0-" in text and " of 64 < >" in text
        assert "#9 c3" in text and "[ ]" not in text, "every unit shows; the filter keys do not page units"
        assert channel_keys_offered(app)
        shown = app.screen.query_one(KernelsView).page_for(app.view_state).count
        await burst(pilot, "greater_than_sign", ">", 2)
        assert f"channels {2 * shown}-{3 * shown - 1} of 64" in kernels_text(app)

    run_app(app, scenario, size=SMALL)


def test_a_dense_matrix_is_averaged_down_to_fit_and_offers_no_channel_keys(make_app: MakeApp) -> None:
    app = make_app(stack=Stack((13, 13, 8), (Flatten(), Dense(units=10), Dense(units=10))))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3")
        assert channel_keys_offered(app), "the first Dense pages the flattened map's channels"
        await press_and_settle(pilot, "down")
        text = kernels_text(app)
        assert "10 units (rows) x 10 inputs (across)" in text and "mean" not in text
        assert not channel_keys_offered(app), "a Dense after a Dense has no input channels to page"
        app.edit(Stack((13, 13, 8), (Flatten(), Dense(units=1352), Dense(units=10))), select=2)
        await settle(pilot)
        text = kernels_text(app)
        assert "10 units (rows) x 1352 inputs (across), each cell the mean of about 18 inputs" in " ".join(text.split())
        assert len(text.splitlines()) < 20, "a band, not a strip hundreds of lines tall"
        assert not channel_keys_offered(app)

    run_app(app, scenario, size=SMALL)


def test_a_layer_with_one_input_channel_offers_no_channel_keys(make_app: MakeApp) -> None:
    app = make_app(stack=Stack((28, 28, 1), (Conv2D(filters=4, kernel_size=3), Conv2D(filters=4, kernel_size=3))))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3")
        assert not channel_keys_offered(app), "one input channel: nothing to page"
        await press_and_settle(pilot, "down")
        assert "channels 0-3 of 4" in kernels_text(app)
        assert not channel_keys_offered(app), "all four input channels shown: nothing to page"

    run_app(app, scenario, size=SMALL)


def help_text(app) -> str:
    return render_text(app.screen.query_one("#keys", Static).content)


def test_help_lists_the_layer_tables_keys(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        assert "Layer table" in text
        for keys, description in [("home", "First layer"), ("end", "Last layer"), ("^home", "The input row")]:
            assert any(keys in line and description in line for line in text.splitlines()), (keys, description)
        assert app.screen.query_one("#keys-scroll").max_scroll_y == 0, "still no scrolling at 120x40"

    run_app(app, scenario, size=WIDE)


def test_help_keeps_pairs_of_keys_in_one_column(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "question_mark")
        sheet = app.screen.query_one("#keys", Static).content
        assert isinstance(sheet, KeySheet)
        left, right = split_in_two(sheet.rows, sheet.pairs)
        for first, second in sheet.pairs.items():
            descriptions = [[row[2] for row in column] for column in (left, right)]
            assert any(first in column and second in column for column in descriptions), (first, second)
        lines = help_text(app).splitlines()
        assert any("Next filter" in line for line in lines)
        next_line = next(index for index, line in enumerate(lines) if "Next filter" in line)
        assert "Previous filter" in lines[next_line + 1], "the pair on neighbouring lines of one column"

    run_app(app, scenario, size=WIDE)


def test_the_help_hint_follows_the_scroll_position(make_app: MakeApp) -> None:
    app = make_app()

    def hint() -> str:
        return str(app.screen.query_one("#help-hint", Static).render())

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "question_mark")
        assert "More keys below" in hint()
        await press_and_settle(pilot, "end")
        scroll = app.screen.query_one("#keys-scroll")
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        assert "More keys below" not in hint()
        await press_and_settle(pilot, "home")
        assert "More keys below" in hint()

    run_app(app, scenario, size=SMALL)


def test_each_filters_channels_fit_on_one_row_whatever_their_captions() -> None:
    """The first slice's caption is short ("0..0.5"), another's long ("-0.0833..0.0786"): the channels a page
    claims fit across really do, so a filter's row does not spill its last channel onto the next line."""
    import numpy as np
    from rich.console import Console

    from convtui.tui.widgets.kernels import kernel_tiles

    rng = np.random.default_rng(0)
    kernel = rng.uniform(-0.0833, 0.0786, (3, 3, 32, 4)).astype(np.float32)
    kernel[:, :, 0, 0] = np.linspace(0, 0.5, 9, dtype=np.float32).reshape(3, 3)
    for width in (60, 80, 120):
        grid, page, _ = kernel_tiles(kernel, 0, 0, width, "map", True)
        console = Console(width=width, record=True, color_system=None)
        console.print(grid)
        title_rows = [line for line in console.export_text().splitlines() if "#0 c" in line or "#1 c" in line]
        assert [row.count("#") for row in title_rows][:2] == [page.count, page.count], (width, page, title_rows)


def test_the_kernels_filter_pages_are_aligned_and_the_page_keys_step_by_them(make_app: MakeApp) -> None:
    """`]` then `}` in the Kernels tab: a page of its own tiles on (not of the feature maps'), and the page shown
    starts at a multiple of its size, as the feature maps' pages do (it read "filters 13-28 of 64")."""
    import re

    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3", "]")
        view = app.screen.query_one(KernelsView)
        size = view.filter_page_size(app.view_state)
        assert size is not None and size < 64
        await press_and_settle(pilot, "}")
        selected = app.view_state.selected_filter
        assert selected == 1 + size
        first, last = map(int, re.search(r"filters (\d+)-(\d+) of 64", kernels_text(app, view.size.width)).groups())
        assert first % size == 0 and first <= selected <= last and last - first + 1 == size

    run_app(app, scenario, size=WIDE)
