"""The Open dialog: built-ins with their parameter counts, recent files, filtering as one types,
up and down with the cursor kept in the field, and a typed path checked as before.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from tui_helpers import MakeApp, press_and_settle, run_app, settle, type_into

from convtui.model.preset import builtin_preset_names, load_preset, save_preset
from convtui.tui.app import ConvtuiApp
from convtui.tui.recent_files import recent_files, recent_list_path, remember_file
from convtui.tui.screens.open_stack import OpenStack, builtin_parameter_counts


def shown(app: ConvtuiApp) -> list[str]:
    options = app.screen.query_one("#choices", OptionList)
    return [str(options.get_option_at_index(index).prompt) for index in range(options.option_count)]


def reason(app: ConvtuiApp) -> str:
    return str(app.screen.query_one("#reason").render())


def test_it_lists_every_built_in_with_its_parameter_count(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        assert isinstance(app.screen, OpenStack)
        lines = shown(app)
        assert [line.split()[0] for line in lines] == builtin_preset_names()
        lenet = next(line for line in lines if line.startswith("lenet5 "))
        assert f"{load_preset('lenet5').infer().total_params:,} parameters" in lenet

    run_app(app, scenario)


def test_typing_filters_and_up_down_move_while_the_field_keeps_the_cursor(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        await type_into(pilot, "#answer", "res")
        assert [line.split()[0] for line in shown(app)] == ["residual-demo", "resnet18", "resnet50"]
        assert reason(app) == "Enter opens residual-demo"
        await press_and_settle(pilot, "down", "down", "up")
        assert isinstance(app.focused, Input) and reason(app) == "Enter opens resnet18"
        await press_and_settle(pilot, "enter")
        assert app.stack == load_preset("resnet18") and app.source == "resnet18"

    run_app(app, scenario)


def test_a_typed_path_opens_with_the_same_checks_as_before(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    path = save_preset(load_preset("lenet5"), tmp_path / "net.toml")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        await type_into(pilot, "#answer", "vgg61")
        assert reason(app) == 'vgg61: no such file, and nothing in the list fits; did you mean "vgg16"?'
        await type_into(pilot, "#answer", str(tmp_path / "missing.toml"))
        assert "no such file" in reason(app) and app.screen.query_one("#accept").disabled
        await type_into(pilot, "#answer", str(path))
        assert reason(app) == f"Enter opens {path}"
        await press_and_settle(pilot, "enter")
        assert app.source == str(path) and app.stack == load_preset(path)

    run_app(app, scenario)


def test_opened_and_saved_files_are_listed_first_next_time(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    opened = save_preset(load_preset("lenet5"), tmp_path / "opened.toml")

    async def scenario(pilot: Pilot[None]) -> None:
        app.open_source(str(opened))
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(tmp_path / "saved"))
        await press_and_settle(pilot, "enter", "o")
        lines = shown(app)
        assert lines[0].startswith(str(tmp_path / "saved.toml")) and lines[1].startswith(str(opened))
        await type_into(pilot, "#answer", "opened")
        await press_and_settle(pilot, "enter")
        assert app.source == str(opened)

    run_app(app, scenario)
    assert recent_list_path().is_relative_to(tmp_path), "the tests' state folder, never the user's"


def test_a_list_that_cannot_be_read_is_an_empty_one(make_app: MakeApp, tmp_path: Path) -> None:
    recent_list_path().parent.mkdir(parents=True)
    recent_list_path().write_text("{not json")
    assert recent_files() == []
    remember_file(tmp_path / "gone.toml")  # a file since removed is not offered
    assert recent_files() == []
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        assert len(shown(app)) == len(builtin_preset_names())

    run_app(app, scenario)


def test_it_fits_80x24_and_a_click_opens_a_line(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        choices = app.screen.query_one("#choices", OptionList)
        buttons = app.screen.query_one("#accept").region
        assert choices.region.height >= 5 and buttons.bottom <= 24 and buttons.y > choices.region.bottom - 1
        await type_into(pilot, "#answer", "vgg")
        await pilot.click("#choices", offset=(3, 1))
        await settle(pilot)
        assert app.source == "vgg16"

    run_app(app, scenario, size=(80, 24))


def test_closing_it_before_the_counts_arrive_is_harmless(make_app: MakeApp) -> None:
    builtin_parameter_counts.cache_clear()
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("o", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, OpenStack) and app.is_running

    run_app(app, scenario)


def test_counts_that_arrive_while_it_closes_are_kept_and_draw_nothing(make_app: MakeApp) -> None:
    """Textual removes a closing dialog's widgets before it detaches the dialog: counts arriving then
    (seen with "olenet" Enter typed at once) ended the app with NoMatches."""
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        dialog = app.screen
        assert isinstance(dialog, OpenStack)
        await dialog.query_one("#reason").remove()  # as the dialog is while it closes
        dialog.counted({"lenet5": 1})
        assert dialog.counts == {"lenet5": 1} and app.is_running

    run_app(app, scenario)
