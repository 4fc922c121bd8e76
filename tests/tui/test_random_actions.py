"""Randomised: hundreds of random keystrokes and edits over several presets; after each one the app
is alive and the table shows exactly what `stack.infer()` gives for the app's current stack.

Random from a seeded generator per preset, so a failure replays; the memory budget is small so
that a random stack which grows huge is refused quickly rather than computed.
"""

from __future__ import annotations

import random

import pytest
from textual.pilot import Pilot
from textual.screen import ModalScreen
from tui_helpers import MakeApp, expected_rows, run_app, settle, table_rows, type_into

from convtui.model.layers import LAYER_TYPES
from convtui.tui.screens.choose_node import ChooseNode
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.layer_picker import LayerPicker
from convtui.tui.screens.main import MainScreen
from convtui.tui.screens.prompt import Prompt
from convtui.tui.screens.residual import ResidualDialog

ACTIONS_PER_PRESET = 60
PRESETS = ("seed-28x28x1", "lenet5", "mnist-convnet", "cifar10-small")
FIELD_VALUES = ("3", "1", "0", "-1", "2", "[2, 3]", "same", "valid", "relu", "banana", "", "true", "7", "64", "0.5", "[[1, 0], [0, 1]]")
SHAPES = ("28, 28, 1", "32x32x3", "8 8 1", "0, 1, 1", "5, 5", "64, 64, 3", "abc")
NAMES = ("input", "conv2d", "conv2d, input", "conv2d_1, conv2d", "add", "dense", "conv2d_9")
SINGLE_KEYS = ("up", "down", "down", "d", "K", "J", "u", "U", "c", "[", "]", "{", "}", "f", "m", "l", "1", "2", "3", "4", "tab", "x", "z", "Z")
GRAPH_DIALOGS = (ChooseNode, ResidualDialog, LayerPicker)


async def random_form_edit(pilot: Pilot[None], chance: random.Random) -> None:
    form = pilot.app.screen
    assert isinstance(form, LayerForm)
    roll = chance.random()
    if form.specs and roll < 0.4:
        field = chance.choice(form.specs)
        await type_into(pilot, f"#field-{field.name}", chance.choice(FIELD_VALUES))
    elif roll < 0.6:
        await type_into(pilot, chance.choice(("#layer-inputs", "#layer-name")), chance.choice(NAMES + FIELD_VALUES))
    await pilot.press("enter")


async def random_graph_edit(pilot: Pilot[None], chance: random.Random) -> str:
    """Branch, wrap or concatenate, with random choices in the dialogs on the way."""
    key = chance.choice(("b", "w", "+"))
    await pilot.press(key)
    await pilot.pause()
    for _ in range(3):
        if isinstance(pilot.app.screen, GRAPH_DIALOGS):
            await pilot.press(*[chance.choice(("up", "down", "p"))] * chance.randrange(4), "enter")
            await pilot.pause()
        elif isinstance(pilot.app.screen, LayerForm):
            await random_form_edit(pilot, chance)
            await pilot.pause()
    return f"graph {key}"


async def random_action(pilot: Pilot[None], chance: random.Random) -> str:
    """One random step; returns what it did, for the failure message."""
    roll = chance.random()
    if roll < 0.15:
        await pilot.press("a")
        await pilot.press(*["down"] * chance.randrange(len(LAYER_TYPES)), "enter")
        await pilot.pause()
        if isinstance(pilot.app.screen, LayerForm):
            await random_form_edit(pilot, chance)
        return "add"
    if roll < 0.3:
        await pilot.press("e")
        await pilot.pause()
        if isinstance(pilot.app.screen, LayerForm):
            await random_form_edit(pilot, chance)
        return "edit"
    if roll < 0.42:
        return await random_graph_edit(pilot, chance)
    if roll < 0.47:
        await pilot.press(chance.choice("ir"))
        await pilot.pause()
        if isinstance(pilot.app.screen, Prompt):
            await type_into(pilot, "#answer", chance.choice(SHAPES + ("0", "12", "-4")))
            await pilot.press("enter")
        return "prompt"
    key = chance.choice(SINGLE_KEYS)
    await pilot.press(key)
    return key


async def close_dialogs(pilot: Pilot[None]) -> None:
    """A form left open on an unacceptable value, or focus left in a text field: back to the table."""
    for _ in range(3):
        if not isinstance(pilot.app.screen, ModalScreen):
            break
        await pilot.press("escape")
        await pilot.pause()
    if not isinstance(pilot.app.screen.focused, type(None)) and pilot.app.screen.focused.id != "stack-table":
        pilot.app.screen.query_one("#stack-table").focus()
        await pilot.pause()


@pytest.mark.parametrize("preset", PRESETS)
def test_random_actions_keep_the_app_alive_and_the_table_true(make_app: MakeApp, preset: str) -> None:
    app = make_app(preset, max_memory=64 * 2**20)
    chance = random.Random(f"convtui-{preset}")

    async def scenario(pilot: Pilot[None]) -> None:
        done = []
        stacks_seen = {app.stack}
        for _ in range(ACTIONS_PER_PRESET):
            done.append(await random_action(pilot, chance))
            await pilot.pause()
            await close_dialogs(pilot)
            assert app.is_running and app._exception is None, done
            assert isinstance(app.screen, MainScreen), done
            assert table_rows(app) == expected_rows(app), done
            stacks_seen.add(app.stack)
        assert len(stacks_seen) >= 5, "the random actions should have edited the stack"
        await settle(pilot)
        state = app.view_state
        assert state.run.status == "done" and state.run.is_for(state.stack_info), done

    run_app(app, scenario, size=(100, 30))
