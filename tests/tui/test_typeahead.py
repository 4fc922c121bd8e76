"""Keys typed at terminal speed right after the key that opens a dialog reach the dialog, in order, as if typed
once it showed (tmux send-keys 'olenet' Enter opened the first recent file: the letters were lost).

Pilot.press waits for the app to be idle after each key, which hides the fault: `burst` hands all the keys to the
driver at once, as a terminal does.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import MakeApp, press_and_settle, run_app, settle

from convtui.model.layers import Dense
from convtui.model.preset import load_preset, save_preset
from convtui.tui.app import ConvtuiApp
from convtui.tui.recent_files import remember_file
from convtui.tui.screens.dialog import key_name
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.open_stack import OpenStack


def keys_of(text: str, *then: str) -> list[str]:
    """The keys that type `text` (one a character), then the keys `then` ("enter", "backspace")."""
    return [*text, *then]


async def burst(pilot: Pilot[None], keys: list[str]) -> None:
    """Send every key before the app handles any (as tmux send-keys does), then wait until it has settled."""
    app = pilot.app
    assert app._driver is not None
    for key in keys:
        character = key if len(key) == 1 else ("\r" if key == "enter" else None)
        event = events.Key(key_name(key) if len(key) == 1 else key, character)
        event.set_sender(app)
        app._driver.send_message(event)
    await settle(pilot)
    await settle(pilot)


def test_open_then_a_name_and_enter_at_once_opens_what_was_typed(make_app: MakeApp, tmp_path: Path) -> None:
    remember_file(save_preset(load_preset("vgg16"), tmp_path / "mynet.toml"))  # first in the list, as in the report
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await burst(pilot, keys_of("olenet", "enter"))
        assert not isinstance(app.screen, OpenStack)
        assert app.source == "lenet5" and app.stack == load_preset("lenet5")

    run_app(app, scenario)


def test_capitals_and_backspace_in_the_burst_are_typed_too(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await burst(pilot, keys_of("oLENEX", "backspace", "T"))
        assert isinstance(app.screen, OpenStack) and app.screen.query_one("#answer", Input).value == "LENET"
        await burst(pilot, ["enter"])
        assert app.source == "lenet5"

    run_app(app, scenario)


def test_add_then_a_type_and_enter_at_once_chooses_that_type(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        layers = len(app.stack.layers)
        await burst(pilot, keys_of("adensx", "backspace", "e", "enter"))
        assert isinstance(app.screen, LayerForm) and app.screen.layer_type is Dense
        await press_and_settle(pilot, "ctrl+s")
        assert len(app.stack.layers) == layers + 1 and isinstance(app.stack.layers[1], Dense)

    run_app(app, scenario)


def test_save_as_then_a_path_and_enter_at_once_saves_there(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    target = tmp_path / "typed fast.toml"

    async def scenario(pilot: Pilot[None]) -> None:
        await burst(pilot, keys_of("S" + str(target), "enter"))
        assert target.exists() and app.source == str(target)

    run_app(app, scenario)


def test_a_burst_does_what_the_same_keys_do_one_by_one(make_app: MakeApp) -> None:
    keys = ["down", "down", *keys_of("aflat", "backspace"), "escape", "escape", "up", *keys_of("odemX", "backspace", "o"), "down"]

    def outcome(fast: bool) -> tuple[object, ...]:
        app: ConvtuiApp = make_app()
        result: list[object] = []

        async def scenario(pilot: Pilot[None]) -> None:
            if fast:
                await burst(pilot, keys)
            else:
                await press_and_settle(pilot, *keys)
            assert isinstance(app.screen, OpenStack)
            result.extend([app.selection(), app.screen.query_one("#answer", Input).value, str(app.screen.query_one("#reason").render())])

        run_app(app, scenario)
        return tuple(result)

    assert outcome(fast=True) == outcome(fast=False)


def test_keys_that_come_before_the_dialog_is_mounted_are_replayed_once_it_is(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        app.app_focus = True  # as after any key: a screen focuses its first field only then
        app.action_open()
        dialog = app.screen
        assert isinstance(dialog, OpenStack) and not dialog.is_mounted
        for key in [*"lenex", "backspace", "t", "enter"]:  # as the app's bindings hand them to it, before its mount
            dialog.action_early_key(key_name(key) if len(key) == 1 else key)
        await settle(pilot)
        await settle(pilot)
        assert app.source == "lenet5"

    run_app(app, scenario)
