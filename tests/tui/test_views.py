"""Pilot tests: the views, the forward pass in its worker, and what the app does when a run cannot be made."""

from __future__ import annotations

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tui_helpers import MakeApp, press_and_settle, render_text, run_app, settle, table_rows, type_into

from convtui.engine.contributions import layer_drilldown
from convtui.model.layers import Conv2D, Dense, Flatten
from convtui.model.preset import builtin_preset_names
from convtui.model.stack import Stack
from convtui.tui.bindings import APP_BINDINGS
from convtui.tui.commands import ConvtuiCommands
from convtui.tui.screens.help import HelpScreen
from convtui.tui.widgets.explain import ExplainView
from convtui.tui.widgets.feature_maps import FeatureMapsView
from convtui.tui.widgets.input_view import ImagePreview
from convtui.tui.widgets.kernels import KernelsView


def view_text(app, view_type: type) -> str:
    return render_text(app.screen.query_one(view_type).render())


def test_drilldown_sum_equals_the_engines_value(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "2", "]", "]", "]")
        state = app.view_state
        assert state.filter_index == 3
        run = state.current_run
        explain = app.screen.query_one(ExplainView)
        row, column = explain.clamped_position(state, run.output(1)[:, :, 3])
        drilldown = layer_drilldown(app.stack.layers[1], run.output(0), run.weights[1], 3, row, column)
        engine_value = float(run.output(1)[row, column, 3])
        assert max(drilldown.total, 0.0) == np.float32(engine_value) or abs(max(drilldown.total, 0.0) - engine_value) < 1e-5
        assert len(drilldown.channels) == 32
        text = view_text(app, ExplainView)
        assert f"output ({row}, {column}, 3)" in text and "equal" in text and "differs" not in text
        assert "each of the 64 filters is 3x3x32" in text

    run_app(app, scenario)


def test_drilldown_position_moves_with_the_arrows_when_focused(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "2")
        explain = app.screen.query_one(ExplainView)
        explain.focus()
        start = explain.clamped_position(app.view_state, app.view_state.current_run.output(0)[:, :, 0])
        await press_and_settle(pilot, "down", "right", "right")
        assert explain.position == (min(start[0] + 1, 25), min(start[1] + 2, 25))
        assert f"output ({explain.position[0]}, {explain.position[1]}, 0)" in view_text(app, ExplainView)
        for _ in range(40):
            await pilot.press("up")
        await settle(pilot)
        assert explain.position[0] == 0

    run_app(app, scenario)


def test_feature_maps_page_enlarge_scale_and_ascii(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down")
        view = app.screen.query_one(FeatureMapsView)
        page = view.page
        assert page is not None and page.total == 64 and page.capacity < 64
        await press_and_settle(pilot, "}")
        assert app.view_state.filter_index == page.capacity and view.page.first == page.capacity
        assert view.page.number == 1
        await press_and_settle(pilot, "{", "[")
        assert app.view_state.filter_index == 0
        await press_and_settle(pilot, "f")
        text = view_text(app, FeatureMapsView)
        assert "mean" in text and "std" in text and "#0" in text
        await press_and_settle(pilot, "f", "l", "m")
        text = view_text(app, FeatureMapsView)
        assert "scale per layer" in text and "ASCII" in text and "▀" not in text

    run_app(app, scenario)


def test_clicking_a_tile_selects_its_filter(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        view = app.screen.query_one(FeatureMapsView)
        page = view.page
        assert page is not None and page.tiles_per_row > 2
        x = 2 * (page.tile_width + 2) + 1
        await pilot.click(FeatureMapsView, offset=(x, 2 + 2))
        await settle(pilot)
        assert app.view_state.filter_index == 2

    run_app(app, scenario)


def test_kernels_show_the_selected_layers_weights(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "3")
        text = view_text(app, KernelsView)
        assert "kernel (3, 3, 32, 64)" in text and "of 64" in text and "bias (64,)" in text
        await press_and_settle(pilot, "c")
        assert "weight (64, 32, 3, 3)" in view_text(app, KernelsView)

    run_app(app, scenario)


def test_dense_layers_show_their_values(make_app: MakeApp) -> None:
    stack = Stack((8, 8, 1), (Conv2D(filters=2, kernel_size=3), Flatten(), Dense(units=4)))
    app = make_app(stack=stack)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "down")
        text = view_text(app, FeatureMapsView)
        assert "4 values" in text and "0: " in text and "3: " in text

    run_app(app, scenario)


def test_the_memory_guard_message_shows_and_the_app_goes_on(make_app: MakeApp) -> None:
    app = make_app(max_memory=100_000)  # the input and the weights fit, the outputs kept do not

    async def scenario(pilot: Pilot[None]) -> None:
        text = view_text(app, FeatureMapsView)
        assert "budget" in text and "layer 0" in text
        await press_and_settle(pilot, "d")
        assert len(app.stack.layers) == 1
        await press_and_settle(pilot, "3")
        assert "kernel (3, 3, 1, 64)" in view_text(app, KernelsView), "weights show though the run was refused"

    run_app(app, scenario)


def test_an_unreadable_image_is_refused_and_the_stack_goes_back_to_its_image(make_app: MakeApp, tmp_path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    five_channels = tmp_path / "five.npy"
    np.save(five_channels, np.zeros((28, 28, 5), np.float32))
    app = make_app()

    def messages() -> list[str]:
        return [notification.message for notification in app._notifications]

    async def scenario(pilot: Pilot[None]) -> None:
        app.set_image("checkerboard")
        await settle(pilot)
        app.set_image(str(broken))
        await settle(pilot)
        assert any("cannot read image" in message and "runs on checkerboard again" in message for message in messages())
        assert app.image_source == "checkerboard" and app.view_state.current_run.image.source == "checkerboard"
        assert "image checkerboard" in app.sub_title
        app.set_image(str(five_channels))  # readable, but no way to make 1 channel of 5
        await settle(pilot)
        assert app.image_source == "checkerboard" and app.view_state.current_run.image.source == "checkerboard"
        app.set_image("no-such-sample")
        await settle(pilot)
        assert any("no such file or sample name" in message for message in messages())
        assert app.view_state.current_run.image.source == "checkerboard"

    run_app(app, scenario)


def test_an_unreadable_image_given_at_launch_falls_back_to_the_default_sample(make_app: MakeApp, tmp_path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    app = make_app(image=str(broken))

    async def scenario(pilot: Pilot[None]) -> None:
        await settle(pilot)
        assert app.image_source == "digit" and app.view_state.current_run.image.source == "digit"
        assert any("cannot read image" in notification.message for notification in app._notifications)

    run_app(app, scenario)


def test_an_input_too_large_for_memory_is_refused_before_the_image_is_made(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "i")
        await type_into(pilot, "#answer", "30000, 30000, 1")
        await press_and_settle(pilot, "enter")
        run = app.view_state.current_run
        assert run is not None and run.image is None and run.outputs == ()
        assert run.message.startswith("the input (30000, 30000, 1) alone takes 3.35 GB, over the 2.00 GB budget")
        assert "budget" in view_text(app, FeatureMapsView)

    run_app(app, scenario)


def test_image_chosen_in_the_input_tab(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "4")
        app.screen.query_one("#input-samples OptionList").focus()
        await press_and_settle(pilot, "down", "enter")
        assert app.image_source == "shapes"
        assert app.view_state.current_run.image.source == "shapes"

    run_app(app, scenario)


def test_a_newer_edit_cancels_the_run_in_progress_and_keys_keep_working(make_app: MakeApp) -> None:
    app = make_app("vgg16")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await pilot.press("down", "J")
        await pilot.pause()
        assert table_rows(app)[0][3] == "(3, 224, 224)", "the table answers while the engine works"
        await pilot.press("u")
        await settle(pilot)
        state = app.view_state
        assert state.run.status == "done" and state.run.is_for(state.stack_info)
        assert len(state.current_run.outputs) == len(app.stack.layers)

    run_app(app, scenario)


def test_help_lists_the_keys(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = render_text(app.screen.query_one("#keys", Static).content)
        for words in ("Add layer", "Undo", "Keras/Torch", "Next filter", "Save as", "d / del"):
            assert words in text
        await press_and_settle(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)

    run_app(app, scenario)


def test_command_palette_runs_actions_and_opens_presets(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "ctrl+p")
        await pilot.press(*"Keras/Torch")
        await pilot.pause(0.3)
        await press_and_settle(pilot, "enter")
        assert app.view_state.convention == "torch"
        await press_and_settle(pilot, "ctrl+p")
        await pilot.press(*"preset: lenet5")
        await pilot.pause(0.3)
        await press_and_settle(pilot, "enter")
        assert app.stack.name == "lenet5"
        explain = app.screen.query_one(ExplainView)
        await press_and_settle(pilot, "2", "ctrl+p")
        await pilot.press(*"Drill-down: column right")
        await pilot.pause(0.3)
        await press_and_settle(pilot, "enter")
        assert explain.position is not None

    run_app(app, scenario)


def test_the_palette_offers_every_binding_and_every_preset(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        titles = [title for title, _, _ in ConvtuiCommands(app.screen).commands()]
        assert all(binding.description in titles for binding in APP_BINDINGS)
        assert all(f"Open preset: {name}" in titles for name in builtin_preset_names())
        assert "Drill-down: row up" in titles
        system_titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Theme" in system_titles and (titles + system_titles).count("Quit") == 1  # the app's, which asks about unsaved changes

    run_app(app, scenario)


@pytest.mark.parametrize("preset", builtin_preset_names())
def test_every_layer_of_every_preset_draws_in_every_view(make_app: MakeApp, preset: str) -> None:
    app = make_app(preset)

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.view_state.current_run is not None, app.view_state.run
        for index in range(-1, len(app.stack.layers)):
            app.select_layer(index)
            for view_type in (FeatureMapsView, ExplainView, KernelsView, ImagePreview):
                text = view_text(app, view_type)
                assert "could not be drawn" not in text, (index, view_type.__name__, text)
                assert "cannot run" not in text and "budget" not in text, (index, view_type.__name__, text)

    run_app(app, scenario)


def test_an_enlarged_vector_gives_its_peak_as_one_position(make_app: MakeApp) -> None:
    """A Dense output (N,) shows as a 1 x N strip, but its statistics are of the vector: "max at 6", not "0, 6"."""
    app = make_app(stack=Stack((6, 6, 1), (Flatten(), Dense(units=12))))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "f")
        output = app.view_state.current_run.output(1)
        line = next(line.strip() for line in view_text(app, FeatureMapsView).splitlines() if "max at" in line)
        assert line.endswith(f"max at {int(np.argmax(output))}"), line
        assert "size 12" in view_text(app, FeatureMapsView)

    run_app(app, scenario)


def test_escape_leaves_a_field_so_the_tab_keys_work_again(make_app: MakeApp) -> None:
    """Esc in the Input tab's file field gives the keys back to the stack table: "5" then opens Compare, not "...5" typed."""
    from textual.widgets import Input

    from convtui.tui.widgets.stack_table import StackTable

    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "4")
        field = app.screen.query_one("#image-path", Input)
        field.focus()
        await press_and_settle(pilot, "n", "o", "escape", "5")
        assert field.value == "no", "the digit was not typed into the field"
        assert isinstance(app.focused, StackTable) and app.views.active == "compare"

    run_app(app, scenario)


def test_focusing_explain_brings_the_drilldown_into_view_and_the_hints_follow(make_app: MakeApp) -> None:
    """Tab into Explain: the drill-down (below the formulas, out of sight at 120x40) scrolls up, its hint says how
    to leave; on a layer without a drill-down the pane's title promises no arrows."""
    app = make_app(stack=Stack((28, 28, 1), (Conv2D(filters=32, kernel_size=3), Conv2D(filters=64, kernel_size=3), Flatten(), Dense(units=10))))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "2")
        explain = app.screen.query_one(ExplainView)
        assert "Tab or a click focuses this view" in view_text(app, ExplainView)
        await press_and_settle(pilot, "tab")
        assert explain.has_focus and explain.parent.scroll_y > 0
        top = explain.parent.scroll_y
        lines = render_text(explain.render(), explain.content_region.width).splitlines()
        assert lines[top].strip().startswith("Drill-down") or lines[top + 1].strip().startswith("Drill-down"), lines[top : top + 2]
        assert "Tab or Esc: back to the stack" in view_text(app, ExplainView)
        view_pane = app.screen.query_one("#view-pane")
        assert "arrows move" in view_pane.border_title
        await press_and_settle(pilot, "escape", "down", "down")
        assert app.view_state.layer.layer.type_name == "Dense"
        assert "arrows" not in view_pane.border_title

    run_app(app, scenario)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_input_views_note_on_a_fitted_image_is_never_cut(make_app: MakeApp, tmp_path, size: tuple[int, int]) -> None:
    """"photo.png, 80x100x3 -> 28x28x1: converted RGB to grey by ..." wraps below the image's title instead of ending in "…"."""
    from PIL import Image

    from convtui.engine.images import image_summary_line

    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 80, 3), dtype=np.uint8)).save(path)
    app = make_app(image=str(path))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "4")
        preview = app.screen.query_one(ImagePreview)
        note = image_summary_line(app.view_state.current_run.image)
        assert "converted" in note and "…" not in render_text(preview.render(), preview.size.width)
        shown = " ".join(render_text(preview.render(), preview.size.width).split())
        assert " ".join(note.split()) in shown

    run_app(app, scenario, size=size)


def test_the_totals_leave_out_what_the_output_does_not_use_and_say_so_in_one_line(make_app: MakeApp) -> None:
    """A branch off the way to the output (drawn ○) is not in Keras's model: not in the totals either, and one line says so."""
    from convtui.tui.widgets.totals import StackTotals

    stack = Stack((28, 28, 1), (Conv2D(filters=32, kernel_size=3), Conv2D(filters=64, kernel_size=3), Flatten()), inputs=(None, None, ("conv2d",)))
    app = make_app(stack=stack)

    async def scenario(pilot: Pilot[None]) -> None:
        totals = app.screen.query_one(StackTotals)
        lines = render_text(totals.render(), totals.size.width).splitlines()
        assert "Total params 320 " in lines[0], "the unused Conv2D(64)'s 18,496 are not counted"
        assert lines[-1].strip() == "○ 1 layer unused by the output, left out as Keras does: 18,496 params"

    run_app(app, scenario, size=(80, 24))
