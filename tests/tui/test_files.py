"""Pilot tests: save, save as, reopen, open another preset, and the question before losing changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import MakeApp, press_and_settle, run_app, table_rows, type_into

from convtui.engine.weights import initial_weights
from convtui.errors import PresetError
from convtui.model.preset import builtin_presets_folder, load_preset, read_preset
from convtui.tui import files
from convtui.tui.answers import export_path_answer, save_path_answer
from convtui.tui.app import ConvtuiApp
from convtui.tui.screens.confirm import ReplaceFile
from convtui.tui.screens.prompt import Prompt
from convtui.tui.screens.unsaved import UnsavedChanges


async def change_filters(pilot: Pilot[None], filters: str) -> None:
    await press_and_settle(pilot, "down", "e")
    await type_into(pilot, "#field-filters", filters)
    await press_and_settle(pilot, "enter")


def test_saving_a_builtin_writes_the_users_own_copy_and_reopening_shows_it(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    copy = tmp_path / "seed-28x28x1.toml"

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "16")
        assert app.history.is_dirty and app.title.endswith("*")
        await press_and_settle(pilot, "s")
        assert copy.exists() and not app.history.is_dirty and app.title == "seed-28x28x1"
        assert app.source == str(copy)
        assert any("your own copy" in notification.message for notification in app._notifications)

    run_app(app, scenario)
    assert load_preset(copy) == app.stack
    assert load_preset("seed-28x28x1").layers[1].filters == 64, "the built-in preset is left as shipped"

    reopened = make_app(str(copy))

    async def check_reopened(pilot: Pilot[None]) -> None:
        assert table_rows(reopened)[2][3:] == ["(24, 24, 16)", "(3, 3, 32, 16) (16,)", "4,624"]
        assert not reopened.history.is_dirty

    run_app(reopened, check_reopened)


def test_save_as_writes_where_asked_and_later_saves_go_there(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app("lenet5")
    target = tmp_path / "mine"

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "S")
        assert isinstance(app.screen, Prompt)
        await type_into(pilot, "#answer", str(tmp_path / "no-such-folder" / "x"))
        assert "does not exist" in str(app.screen.query_one("#reason").render())
        await type_into(pilot, "#answer", str(target))
        await press_and_settle(pilot, "enter")
        assert (tmp_path / "mine.toml").exists()
        await press_and_settle(pilot, "d", "s")
        assert not app.history.is_dirty

    run_app(app, scenario)
    assert load_preset(tmp_path / "mine.toml") == app.stack


def test_save_as_and_export_ask_before_replacing_a_file(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app("lenet5")
    preset, code = tmp_path / "precious.toml", tmp_path / "precious.py"
    preset.write_text("keep me")
    code.write_text("keep me too")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(preset))
        await press_and_settle(pilot, "enter")
        assert isinstance(app.screen, ReplaceFile) and "precious.toml already exists" in str(app.screen.query_one(".dialog-description").render())
        await press_and_settle(pilot, "escape")
        assert preset.read_text() == "keep me" and app.history.is_dirty is False and app.source == "lenet5"
        assert isinstance(app.screen, Prompt) and app.screen.query_one("#answer", Input).value == str(preset), "back to the name, to change it"
        await press_and_settle(pilot, "escape")
        await press_and_settle(pilot, "x")
        await type_into(pilot, "#answer", str(code))
        await press_and_settle(pilot, "enter", "escape")
        assert code.read_text() == "keep me too"
        assert isinstance(app.screen, Prompt) and app.screen.query_one("#answer", Input).value == str(code)
        await press_and_settle(pilot, "escape", "S")
        await type_into(pilot, "#answer", str(preset))
        await press_and_settle(pilot, "enter", "enter")  # Keep has the focus: a second Enter keeps the file
        assert preset.read_text() == "keep me"
        await press_and_settle(pilot, "escape")
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(preset))
        await press_and_settle(pilot, "enter", "r")
        assert app.source == str(preset)
        await press_and_settle(pilot, "S", "enter")  # its own file: saved again without a question
        assert not isinstance(app.screen, ReplaceFile)

    run_app(app, scenario)
    assert load_preset(preset) == app.stack


def test_a_stack_with_weights_never_replaces_an_npz_unasked(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(weights=initial_weights(load_preset("seed-28x28x1"), 5))
    (tmp_path / "seed-28x28x1.npz").write_bytes(b"someone's weights")
    (tmp_path / "mine.npz").write_bytes(b"other weights")

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "16")
        await press_and_settle(pilot, "s")  # a copy of the built-in: seed-28x28x1.npz is taken, so -2
        assert app.source == str(tmp_path / "seed-28x28x1-2.toml") and (tmp_path / "seed-28x28x1-2.npz").exists()
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(tmp_path / "mine.toml"))
        await press_and_settle(pilot, "enter")
        assert isinstance(app.screen, ReplaceFile) and [path.name for path in app.screen.paths] == ["mine.npz"]
        await press_and_settle(pilot, "escape")
        assert not (tmp_path / "mine.toml").exists()

    run_app(app, scenario)
    assert (tmp_path / "seed-28x28x1.npz").read_bytes() == b"someone's weights"
    assert (tmp_path / "mine.npz").read_bytes() == b"other weights"


def test_save_as_into_another_folder_names_the_weights_written_beside_it(tmp_path: Path) -> None:
    """The .npz the app writes beside the new preset is the one it names, even where a file of the old name waits there."""
    from convtui.engine.weights import load_weights, save_arrays, weights_to_arrays

    stack = load_preset("seed-28x28x1")
    (tmp_path / "models").mkdir()
    (tmp_path / "elsewhere").mkdir()
    save_arrays(weights_to_arrays(initial_weights(stack, 5)), tmp_path / "models" / "net.npz")
    (tmp_path / "models" / "net.toml").write_text(
        'weights = "net.npz"\n' + (builtin_presets_folder() / "seed-28x28x1.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "elsewhere" / "net.npz").write_bytes(b"another network's weights")
    source = str(tmp_path / "models" / "net.toml")
    app = ConvtuiApp(load_preset(source), source=source, seed=0, save_folder=tmp_path)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(tmp_path / "elsewhere" / "copy.toml"))
        await press_and_settle(pilot, "enter")
        await press_and_settle(pilot, "s")  # saved again where it now lives

    run_app(app, scenario)
    saved = load_preset(tmp_path / "elsewhere" / "copy.toml")
    assert saved.weights_file == "copy.npz"
    written, original = load_weights(tmp_path / "elsewhere" / "copy.npz", saved), load_weights(tmp_path / "models" / "net.npz", stack)
    assert all((written[index][name] == array).all() for index, named in original.items() for name, array in named.items())


def test_open_another_preset_by_name(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        await type_into(pilot, "#answer", "vgg61")
        assert "did you mean" in str(app.screen.query_one("#reason").render()), "nothing in the list fits: the typed text's reason"
        await type_into(pilot, "#answer", "lenet")
        assert str(app.screen.query_one("#reason").render()) == "Enter opens lenet5"
        await press_and_settle(pilot, "enter")
        assert app.stack == load_preset("lenet5") and app.title == "lenet5"
        assert app.view_state.current_run is not None and len(app.view_state.current_run.outputs) == len(app.stack.layers)

    run_app(app, scenario)


def test_opening_with_unsaved_changes_asks_first(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        app.open_source("lenet5")
        await press_and_settle(pilot)
        assert isinstance(app.screen, UnsavedChanges)
        await press_and_settle(pilot, "escape")
        assert app.stack.layers[1].filters == 8
        app.open_source("lenet5")
        await press_and_settle(pilot, "d")
        assert app.stack == load_preset("lenet5")

    run_app(app, scenario)


def test_quit_without_changes_exits_at_once(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit

    run_app(app, scenario)


def test_quit_guard_stay_then_discard(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        await press_and_settle(pilot, "q")
        assert isinstance(app.screen, UnsavedChanges) and not app._exit
        await press_and_settle(pilot, "escape")
        assert not isinstance(app.screen, UnsavedChanges) and not app._exit
        await press_and_settle(pilot, "ctrl+q")
        assert isinstance(app.screen, UnsavedChanges)
        await pilot.press("d")
        await pilot.pause()
        assert app._exit

    run_app(app, scenario)


def exit_messages(app: ConvtuiApp) -> list[str]:
    """What the app asks Textual to print once it has closed (Textual prints and clears them as it ends)."""
    said: list[str] = []
    exit = app.exit

    def recorded(*args, message=None, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        said.extend([str(message)] if message is not None else [])
        exit(*args, message=message, **kwargs)

    app.exit = recorded  # type: ignore[method-assign]
    return said


def test_quit_guard_save_and_quit(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    said = exit_messages(app)

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        await press_and_settle(pilot, "q")
        await pilot.click("#save")
        await pilot.pause()
        assert app._exit

    run_app(app, scenario)
    assert load_preset(tmp_path / "seed-28x28x1.toml").layers[1].filters == 8
    assert said == [
        f"convtui: saved to {tmp_path / 'seed-28x28x1.toml'} (built-in presets and model files stay as they are: this is your own copy)"
    ], "once the app has closed, the terminal says where the file went"


def test_quitting_without_saving_prints_nothing_after_an_earlier_save(make_app: MakeApp) -> None:
    app = make_app()
    said = exit_messages(app)

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        await press_and_settle(pilot, "s")
        await change_filters(pilot, "16")
        await press_and_settle(pilot, "q", "d")
        assert app._exit

    run_app(app, scenario)
    assert said == []


def test_a_save_that_cannot_be_written_says_why_and_stays_unsaved(make_app: MakeApp, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    app = make_app(save_folder=blocked)

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        await press_and_settle(pilot, "s")
        assert app.history.is_dirty
        assert any("cannot be written" in notification.message for notification in app._notifications)

    run_app(app, scenario)


def reason_text(app: ConvtuiApp) -> str:
    return str(app.screen.query_one("#reason").render())


def notified(app: ConvtuiApp, phrase: str) -> bool:
    return any(phrase in notification.message for notification in app._notifications)


def test_a_folder_typed_as_the_path_means_the_stacks_name_in_it(tmp_path: Path) -> None:
    (tmp_path / "mydir").mkdir()
    assert save_path_answer(str(tmp_path), "net.toml") == tmp_path / "net.toml"
    assert save_path_answer(str(tmp_path / "mydir") + "/", "net.toml") == tmp_path / "mydir" / "net.toml"
    assert export_path_answer(str(tmp_path / "mydir"), "net_keras.py") == tmp_path / "mydir" / "net_keras.py"
    with pytest.raises(ValueError, match="does not exist"):
        save_path_answer(str(tmp_path / "nodir") + "/", "net.toml")
    with pytest.raises(ValueError, match="is a folder"):
        save_path_answer(str(tmp_path))  # no name to give it
    assert save_path_answer(str(tmp_path / "nodir"), "net.toml") == tmp_path / "nodir.toml", "no slash, no folder: a file name"
    (tmp_path / "mnist.py").write_text("")
    with pytest.raises(ValueError, match="mnist.py is a file, not a folder"):
        export_path_answer(str(tmp_path / "mnist.py") + "/", "net_keras.py")


def test_save_as_and_export_into_a_folder_write_the_stacks_name_there(make_app: MakeApp, tmp_path: Path) -> None:
    folder = tmp_path / "mydir"
    folder.mkdir()
    app = make_app("lenet5")

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(folder) + "/")
        assert reason_text(app) == f"{folder}/ is a folder: writes lenet5.toml in it"
        await press_and_settle(pilot, "enter")
        assert (folder / "lenet5.toml").exists() and not (tmp_path / "mydir.toml").exists()
        assert notified(app, f"Saved to {folder / 'lenet5.toml'}")
        await press_and_settle(pilot, "x")
        await type_into(pilot, "#answer", str(folder))
        await press_and_settle(pilot, "enter")
        assert (folder / "lenet5_keras.py").exists() and not (tmp_path / "mydir.py").exists()

    run_app(app, scenario)


def test_save_as_gives_the_stack_the_files_name_and_marks_a_built_ins_description(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    description = load_preset("seed-28x28x1").description

    async def scenario(pilot: Pilot[None]) -> None:
        await change_filters(pilot, "8")
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(tmp_path / "mynet"))
        await press_and_settle(pilot, "enter")
        assert app.title == "mynet" and not app.history.is_dirty
        await press_and_settle(pilot, "u")
        assert app.stack.name == "mynet", "undo goes back over edits, not over the new name"
        await press_and_settle(pilot, "x")
        assert app.screen.query_one("#answer", Input).value == str(tmp_path / "mynet_keras.py")

    run_app(app, scenario)
    saved = load_preset(tmp_path / "mynet.toml")
    assert saved.name == "mynet" and saved.description == f"Based on the built-in seed-28x28x1: {description}"


def test_a_failed_save_as_changes_nothing_and_offers_the_typed_path_again(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("lenet5")
    target = tmp_path / "mynet.toml"

    def refuse(*_: object, **__: object) -> Path:
        raise PresetError("cannot be written (Read-only file system); choose another path", file=str(target))

    async def scenario(pilot: Pilot[None]) -> None:
        monkeypatch.setattr(files, "save_preset", refuse)
        await press_and_settle(pilot, "S")
        await type_into(pilot, "#answer", str(target))
        await press_and_settle(pilot, "enter")
        assert notified(app, "Read-only file system")
        assert app.stack.name == "lenet5" and app.title == "lenet5" and app.source == "lenet5"
        await press_and_settle(pilot, "S")
        assert app.screen.query_one("#answer", Input).value == str(target)

    run_app(app, scenario)


def test_saving_a_keras_models_stack_names_the_saved_files_in_the_header(tmp_path: Path) -> None:
    stack = load_preset("seed-28x28x1")
    model = tmp_path / "tiny.keras"
    app = ConvtuiApp(stack, weights=initial_weights(stack, 5), source=str(model), seed=0, save_folder=tmp_path)

    async def scenario(pilot: Pilot[None]) -> None:
        assert "weights tiny.keras" in app.sub_title
        await press_and_settle(pilot, "s")
        assert str(tmp_path / "seed-28x28x1.toml") in app.sub_title and "weights seed-28x28x1.npz" in app.sub_title
        assert "tiny.keras" not in app.sub_title

    run_app(app, scenario)


def test_the_seed_comes_from_the_opened_preset_and_is_saved_with_it(make_app: MakeApp, tmp_path: Path) -> None:
    seeded = tmp_path / "seeded.toml"
    seeded.write_text(f"seed = 7\n{(builtin_presets_folder() / 'lenet5.toml').read_text()}")
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        app.open_source(str(seeded))
        await press_and_settle(pilot)
        assert app.seed == 7 and "seed 7" in app.sub_title
        await press_and_settle(pilot, "r")
        await type_into(pilot, "#answer", "9")
        await press_and_settle(pilot, "enter", "s")

    run_app(app, scenario)
    assert read_preset(seeded).seed == 9
