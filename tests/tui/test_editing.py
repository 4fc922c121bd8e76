"""Pilot tests: every editing action changes the one stack, the table follows, undo brings it back."""

from __future__ import annotations

import numpy as np
from textual.pilot import Pilot
from tui_helpers import MakeApp, expected_rows, press_and_settle, run_app, table_rows, type_into

from convtui.engine.weights import initial_weights
from convtui.model.layers import Conv2D, MaxPooling2D
from convtui.model.stack import Stack
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.layer_picker import LayerPicker
from convtui.tui.screens.prompt import Prompt
from convtui.tui.screens.unsaved import UnsavedChanges


def test_opens_on_the_seed_example_with_its_shapes(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        rows = table_rows(app)
        assert rows == expected_rows(app)
        assert rows[2][2:] == ["Conv2D(64, 3x3, relu)", "(24, 24, 64)", "(3, 3, 32, 64) (64,)", "18,496"]
        assert app.title == "seed-28x28x1"
        assert app.view_state.current_run is not None

    run_app(app, scenario, size=(120, 40))


def test_changing_filters_from_64_to_16_updates_shapes_params_and_maps(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "e")
        assert isinstance(app.screen, LayerForm)
        await type_into(pilot, "#field-filters", "16")
        await press_and_settle(pilot, "enter")
        assert app.stack.layers[1] == Conv2D(filters=16, kernel_size=3, activation="relu")
        assert table_rows(app)[2][3:] == ["(24, 24, 16)", "(3, 3, 32, 16) (16,)", "4,624"]
        assert app.title == "seed-28x28x1 *"
        run = app.view_state.current_run
        assert run is not None and run.output(1).shape == (24, 24, 16)

    run_app(app, scenario, size=(120, 40))


def test_a_field_in_error_shows_why_and_keeps_the_form_open(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "e")
        await type_into(pilot, "#field-filters", "-3")
        note = app.screen.query_one("#note-filters")
        assert "expected a whole number from 1" in str(note.render())
        assert note.has_class("-error")
        await press_and_settle(pilot, "enter")
        assert isinstance(app.screen, LayerForm)
        await type_into(pilot, "#field-groups", "5")
        await type_into(pilot, "#field-filters", "32")
        assert "divisible by groups" in str(app.screen.query_one("#note-groups").render())
        await press_and_settle(pilot, "escape")
        assert app.stack.layers[0].filters == 32 and not app.history.is_dirty

    run_app(app, scenario, size=(120, 40))


def test_a_shape_that_does_not_fit_is_allowed_and_marked_invalid(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "e")
        await type_into(pilot, "#field-kernel_size", "30")
        assert "cannot apply" in str(app.screen.query_one("#preview").render())
        await press_and_settle(pilot, "enter")
        info = app.view_state.stack_info.layers[1]
        assert info.status == "invalid"
        assert table_rows(app)[2][3] == "invalid"
        run = app.view_state.run.result
        assert run is not None and run.output(0) is not None and run.output(1) is None

    run_app(app, scenario, size=(120, 40))


def test_add_layer_after_the_selected_one_through_picker_and_form(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "a")
        assert isinstance(app.screen, LayerPicker)
        await press_and_settle(pilot, *["down"] * 4, "enter")  # Conv2D, Depthwise, Separable, Transpose, MaxPooling2D
        assert isinstance(app.screen, LayerForm) and app.screen.layer_type is MaxPooling2D
        assert "(24, 24, 64) -> (12, 12, 64)" in str(app.screen.query_one("#preview").render())
        await press_and_settle(pilot, "enter")
        assert app.stack.layers[2] == MaxPooling2D()
        assert app.view_state.selected_layer == 2
        assert table_rows(app) == expected_rows(app)

    run_app(app, scenario, size=(120, 40))


def test_adding_from_the_input_row_inserts_first_and_cancel_changes_nothing(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "up", "a", "escape")
        assert not app.history.can_undo
        await press_and_settle(pilot, "a", "enter", "escape")
        assert not app.history.can_undo
        await press_and_settle(pilot, "a", "enter", "enter")
        assert len(app.stack.layers) == 3 and app.stack.layers[0] == Conv2D(filters=32, kernel_size=3)

    run_app(app, scenario, size=(120, 40))


def test_delete_move_undo_redo(make_app: MakeApp) -> None:
    app = make_app("lenet5")

    async def scenario(pilot: Pilot[None]) -> None:
        original = app.stack
        await press_and_settle(pilot, "down", "d")
        assert app.stack.layers == original.layers[:1] + original.layers[2:]
        assert table_rows(app) == expected_rows(app)
        await press_and_settle(pilot, "J")
        assert app.stack.layers[2] == original.layers[2] and app.view_state.selected_layer == 2
        await press_and_settle(pilot, "K")
        await press_and_settle(pilot, "u", "u", "u")
        assert app.stack == original and not app.history.is_dirty
        await press_and_settle(pilot, "U", "U", "U")
        assert app.stack.layers == original.layers[:1] + original.layers[2:]
        assert table_rows(app) == expected_rows(app)
        await press_and_settle(pilot, "ctrl+z")
        assert app.history.can_redo

    run_app(app, scenario, size=(120, 40))


def test_undo_is_without_limit(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        original = app.stack
        for _ in range(60):
            await pilot.press("J" if app.view_state.selected_layer == 0 else "K")
        for _ in range(60):
            await pilot.press("u")
        assert app.stack == original and not app.history.can_undo
        assert table_rows(app) == expected_rows(app)

    run_app(app, scenario, size=(120, 40))


def test_input_shape_and_seed(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        weights_before = app.view_state.current_run.weights[0]["kernel"].copy()
        await press_and_settle(pilot, "i")
        assert isinstance(app.screen, Prompt)
        await type_into(pilot, "#answer", "32x32x3")
        await press_and_settle(pilot, "enter")
        assert app.stack.input_shape == (32, 32, 3)
        assert table_rows(app)[0][3] == "(32, 32, 3)"
        await press_and_settle(pilot, "i")
        await type_into(pilot, "#answer", "0, 28")
        await press_and_settle(pilot, "enter")
        assert isinstance(app.screen, Prompt), "an unacceptable shape keeps the prompt open"
        await press_and_settle(pilot, "escape", "u", "r")
        await type_into(pilot, "#answer", "7")
        await press_and_settle(pilot, "enter")
        assert app.seed == 7
        weights_after = app.view_state.current_run.weights[0]["kernel"]
        assert weights_after.shape == weights_before.shape and not (weights_after == weights_before).all()

    run_app(app, scenario, size=(120, 40))


def test_convention_toggle_shows_pytorch_shapes(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "c")
        rows = table_rows(app)
        assert rows[0][3] == "(1, 28, 28)" and rows[2][3:5] == ["(64, 24, 24)", "(64, 32, 3, 3) (64,)"]
        assert "PyTorch" in app.sub_title
        await press_and_settle(pilot, "c")
        assert table_rows(app)[2][3] == "(24, 24, 64)"

    run_app(app, scenario, size=(120, 40))


def test_an_empty_stack_can_be_built_up(make_app: MakeApp) -> None:
    app = make_app(stack=Stack((8, 8, 1), ()))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "d", "e")
        assert isinstance(app.screen, Prompt), "edit on the input row edits the input shape"
        await press_and_settle(pilot, "escape", "a", "enter", "enter")
        assert len(app.stack.layers) == 1
        assert table_rows(app) == expected_rows(app)


    run_app(app, scenario, size=(80, 24))


def test_a_seed_change_is_an_unsaved_edit_that_undo_takes_back(make_app: MakeApp) -> None:
    """It was not: no *, u said "Nothing to undo", and q quit without asking although s would write seed = 7."""
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "r")
        await type_into(pilot, "#answer", "7")
        await press_and_settle(pilot, "enter")
        assert app.seed == 7 and app.history.is_dirty and app.title.endswith("*") and "seed 7" in app.sub_title
        await press_and_settle(pilot, "u")
        assert app.seed == 0 and not app.history.is_dirty and not app.title.endswith("*")
        run = app.view_state.current_run
        assert run is not None and np.array_equal(run.weights[0]["kernel"], initial_weights(app.stack.infer(), 0)[0]["kernel"])
        await press_and_settle(pilot, "U", "q")
        assert app.seed == 7 and isinstance(app.screen, UnsavedChanges), "quitting asks before dropping the new seed"

    run_app(app, scenario)
