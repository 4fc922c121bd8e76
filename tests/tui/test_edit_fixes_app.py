"""Pilot tests of the graph-editing fixes as a user meets them: keys on a folded block's row, a move
a graph refuses, the selection after undo and redo, a name the inputs field could not write.
"""

from __future__ import annotations

from textual.pilot import Pilot
from test_edit_fixes import TWO_BLOCKS
from tui_helpers import MakeApp, press_and_settle, run_app, type_into

from convtui.tui.app import ConvtuiApp
from convtui.tui.screens.confirm import DeleteBlock
from convtui.tui.screens.layer_form import LayerForm


def told(app: ConvtuiApp, phrase: str) -> bool:
    return any(phrase in notification.message for notification in app._notifications)


async def select_folded_block_a(pilot: Pilot[None]) -> None:
    """Every block folded, the cursor on block a's row (it selects a's last layer, a_add)."""
    await press_and_settle(pilot, "Z", "home", "down")
    assert pilot.app.view_state.selected_layer == 3


def test_d_on_a_folded_row_asks_then_deletes_the_whole_block_and_undo_selects_it_again(make_app: MakeApp) -> None:
    app = make_app(stack=TWO_BLOCKS)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_folded_block_a(pilot)
        await press_and_settle(pilot, "d")
        assert isinstance(app.screen, DeleteBlock), "a question, not a silent delete of a_add"
        await press_and_settle(pilot, "escape")
        assert app.stack == TWO_BLOCKS
        await press_and_settle(pilot, "d", "d")
        assert app.stack.names == ("stem", "b1", "b2") and app.stack.inputs_of(1) == ("stem",)
        await press_and_settle(pilot, "u")
        assert app.stack == TWO_BLOCKS and app.view_state.selected_layer == 3, "back on block a, not on b"

    run_app(app, scenario)


def test_e_and_k_on_a_folded_row_say_it_is_folded_and_change_nothing(make_app: MakeApp) -> None:
    app = make_app(stack=TWO_BLOCKS)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_folded_block_a(pilot)
        await press_and_settle(pilot, "e")
        assert not isinstance(app.screen, LayerForm) and told(app, "a is a folded block of 3 layers: z expands it")
        await press_and_settle(pilot, "K", "J")
        assert app.stack == TWO_BLOCKS and not app.history.can_undo

    run_app(app, scenario)


def test_k_on_a_merge_below_its_input_says_why_it_stays(make_app: MakeApp) -> None:
    app = make_app("residual-demo")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "end", "K")
        assert app.stack.names[-1] == "add" and told(app, "add takes projection: add cannot move above it")

    run_app(app, scenario)


def test_undo_of_a_move_selects_the_layer_moved_and_redo_where_it_went(make_app: MakeApp) -> None:
    app = make_app("residual-demo")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "home", "down", "down", "K")
        assert app.stack.names[1] == "projection" and app.stack.inputs_of(2) == ("conv2d",), "conv2d_1 still takes conv2d"
        await press_and_settle(pilot, "u")
        assert app.view_state.selected_layer == 2 and app.stack.names[2] == "projection"
        await press_and_settle(pilot, "U")
        assert app.view_state.selected_layer == 1

    run_app(app, scenario)


def test_delete_and_undo_again_and_again_stays_on_the_same_layer(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "home", "down")
        for _ in range(3):
            await press_and_settle(pilot, "d", "u")
        assert app.view_state.selected_layer == 1 and not app.history.is_dirty

    run_app(app, scenario)


def test_a_name_with_a_comma_is_refused_as_typed(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "home", "e")
        await type_into(pilot, "#layer-name", "a,b")
        assert "no , in a name" in str(app.screen.query_one("#note-layer-name").render())
        assert app.screen.query_one("#accept").disabled

    run_app(app, scenario)


def test_a_rename_draws_seeded_weights_anew_says_so_and_undo_gives_the_maps_back(make_app: MakeApp) -> None:
    import numpy as np

    app = make_app()
    told: list[str] = []
    app.notify = lambda message, **_: told.append(str(message))  # type: ignore[method-assign]

    def first_maps() -> np.ndarray:
        run = app.view_state.current_run
        assert run is not None
        return run.outputs[0]

    async def scenario(pilot: Pilot[None]) -> None:
        before = first_maps()
        await press_and_settle(pilot, "home", "e")
        await type_into(pilot, "#layer-name", "stem")
        await press_and_settle(pilot, "enter")
        assert app.stack.names[0] == "stem"
        assert not np.array_equal(first_maps(), before), "seeded by its new name, as `convtui run` of the saved file"
        assert any("conv2d is now stem" in message and "u undoes" in message for message in told)
        await press_and_settle(pilot, "u")
        assert app.stack.names[0] == "conv2d" and np.array_equal(first_maps(), before)

    run_app(app, scenario)
