"""Pilot tests of the app's interop: opening a Keras model with its weights (from the command line
and the open prompt), the seed taking over a layer an edit reshaped, saving NAME.toml + NAME.npz,
exporting Keras and PyTorch code, and the Compare tab following edits.

The Keras file is made once per module by Keras itself (torch backend); the tests needing it
are skipped where Keras is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import MakeApp, press_and_settle, render_text, run_app, settle, type_into

from convtui import cli
from convtui.engine.forward import forward
from convtui.engine.images import load_image
from convtui.engine.weights import initial_weights, load_weights
from convtui.interop import ImportedModel, load_model_file, save_imported
from convtui.interop.export import export_source
from convtui.model.layers import Conv2D, Dropout
from convtui.model.preset import load_preset
from convtui.tui.app import ConvtuiApp
from convtui.tui.bindings import APP_BINDINGS, key_text
from convtui.tui.commands import ConvtuiCommands
from convtui.tui.opened_weights import CarriedWeights, carry_weights
from convtui.tui.widgets.compare import CompareView
from convtui.tui.widgets.run_status import RunStatus


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.keras: Conv2D(4) relu, MaxPooling2D, Conv2D(6), Flatten, Dense(3), with Keras's random weights."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(7)
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(), layers.Conv2D(6, 3), layers.Flatten(), layers.Dense(3)],
        name="tiny",
    )
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def app_from_command_line(model: Path, save_folder: Path, monkeypatch: pytest.MonkeyPatch) -> ConvtuiApp:
    """`convtui MODEL` as the console script runs it, up to the point where the app would take the terminal."""
    started: list[ConvtuiApp] = []
    monkeypatch.setattr(ConvtuiApp, "run", lambda self: started.append(self))
    assert cli.main([str(model)]) == 0
    app = started[0]
    app.save_folder = save_folder
    return app


def engine_outputs(imported: ImportedModel, weights: dict) -> list[np.ndarray]:
    image = load_image("digit", imported.stack.input_shape)
    return [output[0] for output in forward(imported.stack, image.pixels, weights).outputs]


async def answer(pilot: Pilot[None], text: str) -> None:
    """Put a long path in the prompt at once (typing it key by key takes seconds); the prompt checks it as typed."""
    pilot.app.screen.query_one("#answer", Input).value = text
    await pilot.pause()


def status_line(app: ConvtuiApp) -> str:
    status = app.screen.query_one(RunStatus)
    return render_text(status.render()) if status.display else ""


def test_convtui_model_opens_it_with_its_weights_and_saves_them_beside_the_preset(
    keras_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported = load_model_file(keras_file)
    assert imported.weights is not None
    app = app_from_command_line(keras_file, tmp_path, monkeypatch)
    trained = engine_outputs(imported, imported.weights)
    seeded = engine_outputs(imported, initial_weights(imported.stack, 0))

    async def scenario(pilot: Pilot[None]) -> None:
        run = app.view_state.current_run
        assert run is not None and app.stack == imported.stack
        for index, output in enumerate(trained):
            np.testing.assert_allclose(run.output(index), output, rtol=1e-5, atol=1e-6)
        assert not np.allclose(run.output(0), seeded[0]), "the maps are the model's, not the seed's"
        assert run.weights[4]["kernel"] is imported.weights[4]["kernel"] or np.array_equal(run.weights[4]["kernel"], imported.weights[4]["kernel"])
        assert "weights tiny.keras" in app.sub_title and status_line(app) == ""
        await press_and_settle(pilot, "s")

    run_app(app, scenario)
    preset = tmp_path / "tiny.toml"
    assert load_preset(preset) == imported.stack and load_preset(preset).weights_file == "tiny.npz"
    saved = load_weights(tmp_path / "tiny.npz", imported.stack)
    assert all(np.array_equal(saved[index][name], imported.weights[index][name]) for index in imported.weights for name in imported.weights[index])
    assert not (keras_file.parent / "tiny.toml").exists(), "the model file's folder is left alone"


def test_an_edit_that_reshapes_a_layer_seeds_it_says_so_and_keeps_the_others(keras_file: Path, tmp_path: Path) -> None:
    imported = load_model_file(keras_file)
    app = ConvtuiApp(imported.stack, weights=imported.weights, source=str(keras_file), seed=0, save_folder=tmp_path)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "e")
        await type_into(pilot, "#field-filters", "2")
        await press_and_settle(pilot, "enter")
        run = app.view_state.current_run
        assert run is not None and run.message == "" and len(run.outputs) == 5
        seeded = initial_weights(app.stack, 0)
        assert np.array_equal(run.weights[0]["kernel"], seeded[0]["kernel"]) and np.array_equal(run.weights[2]["kernel"], seeded[2]["kernel"])
        assert np.array_equal(run.weights[4]["kernel"], imported.weights[4]["kernel"]), "the Dense layer keeps the model's weights"
        line = status_line(app)
        assert "Seeded weights (seed 0) for layers 0, 2 (weight shapes changed)" in line and "tiny.keras" in line
        assert line.count("\n") <= 1, "one line"

        await press_and_settle(pilot, "u")
        assert status_line(app) == "", "undo gives the model's weights back"
        app.edit(app.stack.with_inserted(0, Dropout(rate=0.5)))  # shifts every layer: the weights move with them
        await settle(pilot)
        run = app.view_state.current_run
        assert run is not None and status_line(app) == ""
        assert np.array_equal(run.weights[1]["kernel"], imported.weights[0]["kernel"])
        assert np.array_equal(run.weights[5]["kernel"], imported.weights[4]["kernel"])

    run_app(app, scenario)


def test_a_preset_with_a_weights_file_seeds_a_reshaped_layer_instead_of_failing(keras_file: Path, tmp_path: Path) -> None:
    imported = load_model_file(keras_file)
    preset, npz = save_imported(imported, tmp_path / "net.toml")
    app = ConvtuiApp(load_preset(preset), source=str(preset), seed=0, save_folder=tmp_path)
    exported = tmp_path / "net_keras.py"

    async def scenario(pilot: Pilot[None]) -> None:
        run = app.view_state.current_run
        assert run is not None and np.array_equal(run.weights[0]["kernel"], imported.weights[0]["kernel"])
        await press_and_settle(pilot, "x")
        await answer(pilot, str(exported))
        await press_and_settle(pilot, "enter")
        assert exported.read_text() == export_source(app.stack, "keras", "net.npz"), "a saved stack's code loads its weights"

        app.edit(app.stack.with_layer(2, Conv2D(filters=5, kernel_size=3)))
        await settle(pilot)
        run = app.view_state.current_run
        assert run is not None and run.message == "" and len(run.outputs) == 5, "no engine error: the layer is seeded"
        assert "layers 2, 4 (weight shapes changed); the other layers use the weights from net.npz" in status_line(app)
        assert np.array_equal(run.weights[0]["kernel"], imported.weights[0]["kernel"])

    run_app(app, scenario)


def test_opening_a_model_file_from_the_open_prompt(keras_file: Path, make_app: MakeApp) -> None:
    imported = load_model_file(keras_file)
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        await answer(pilot, str(keras_file.with_name("nothing.keras")))
        assert "no such file" in str(app.screen.query_one("#reason").render())
        await answer(pilot, str(keras_file))
        await press_and_settle(pilot, "enter")
        run = app.view_state.current_run
        assert app.stack == imported.stack and run is not None
        np.testing.assert_allclose(run.output(0), engine_outputs(imported, imported.weights)[0], rtol=1e-5, atol=1e-6)

    run_app(app, scenario)


def test_export_writes_the_code_and_reports_errors_without_crashing(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    keras_code, torch_code = tmp_path / "seed.py", tmp_path / "seed-28x28x1_torch.py"

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "x")
        await answer(pilot, str(tmp_path / "seed"))
        await press_and_settle(pilot, "enter")
        assert keras_code.read_text() == export_source(app.stack, "keras")
        await press_and_settle(pilot, "X", "enter")  # the default path: the save folder, NAME_torch.py
        assert torch_code.read_text() == export_source(app.stack, "pytorch")
        assert any(str(torch_code) in notification.message for notification in app._notifications)

        assert not app.export_to(tmp_path / "no-such-folder" / "x.py", "keras")
        app.edit(app.stack.with_layer(1, Conv2D(filters=8, kernel_size=40)))
        await settle(pilot)
        assert not app.export_to(tmp_path / "invalid.py", "pytorch")
        await pilot.pause()
        assert not (tmp_path / "invalid.py").exists() and app.is_running
        messages = [notification.message for notification in app._notifications]
        assert any("does not exist" in message for message in messages)
        assert any(message.startswith("Not exported") and "fix it before exporting" in message for message in messages), messages

    run_app(app, scenario)


def test_compare_follows_edits_and_the_palette_offers_every_preset(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        titles = [title for title, _, _ in ConvtuiCommands(app.screen).commands()]
        assert "Compare with preset: lenet5" in titles and "Compare with file…" in titles and "Export as PyTorch code" in titles
        await press_and_settle(pilot, "v")
        await type_into(pilot, "#answer", "seed-28x28x1")
        await press_and_settle(pilot, "enter")
        assert app.screen.query_one("#views").active == "compare"
        assert "The two stacks are identical." in render_text(app.screen.query_one(CompareView).render())

        app.screen.query_one("#stack-table").focus()
        await press_and_settle(pilot, "down", "down", "e")
        await type_into(pilot, "#field-filters", "16")
        await press_and_settle(pilot, "enter")
        text = render_text(app.screen.query_one(CompareView).render())
        changed = [line.split() for line in text.splitlines() if line.split()[:2] in (["-", "1"], ["+", "1"])]
        assert [words[-3] for words in changed] == ["18,496", "4,624"]  # the unified diff: the old layer 1, then the new
        assert "18,816 -> 4,944 (-13,872, -73.7%)" in text
        assert "1 edited" in text and "identical" not in text

    run_app(app, scenario)


def test_compare_starts_at_the_stack_as_opened_and_moves_with_each_save(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        view = app.screen.query_one(CompareView)
        assert "seed-28x28x1 as opened -> current" in render_text(view.render())
        assert "The two stacks are identical." in render_text(view.render())
        app.screen.query_one("#stack-table").focus()
        await press_and_settle(pilot, "down", "down", "e")
        await type_into(pilot, "#field-filters", "16")
        await press_and_settle(pilot, "enter")
        assert "18,816 -> 4,944" in render_text(view.render())
        await press_and_settle(pilot, "s")
        text = render_text(view.render())
        assert "seed-28x28x1 as saved -> current" in text and "The two stacks are identical." in text
        app.compare_with_source("lenet5")
        await press_and_settle(pilot, "s")
        assert app.view_state.compared is not None and app.view_state.compared.title == "lenet5", "a comparison the user picked stays"

    run_app(app, scenario)


def test_the_readme_lists_every_key() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    keys_section = readme[readme.index("### Keys") : readme.index("## Command line")]
    for binding in APP_BINDINGS:
        first_key = key_text(binding).split(" / ")[0]
        assert f"`{first_key}`" in keys_section, binding.description


def test_weights_follow_their_layers_through_edits_and_the_note_names_the_seeded_ones() -> None:
    seed = load_preset("seed-28x28x1")
    trained = initial_weights(seed, 5)  # stands for a model's weights: not the seed-0 ones
    moved = seed.with_inserted(0, Dropout(rate=0.1))
    carried = carry_weights(trained, seed.infer(), moved.infer())
    assert carried.complete and carried.weights[1] is trained[0] and carried.weights[2] is trained[1]
    assert carried.note(0, "net.keras") == ""

    edited = moved.with_layer(2, Conv2D(filters=16, kernel_size=3, activation="relu")).with_inserted(3, Conv2D(filters=4, kernel_size=3))
    carried = carry_weights(trained, seed.infer(), edited.infer())
    assert carried.reshaped == (2,) and carried.new == (3,) and set(carried.weights) == {1}
    assert carried.note(0, "net.keras") == (
        "Seeded weights (seed 0) for layer 2 (weight shapes changed); layer 3 (new); the other layers use the weights from net.keras."
    )
    assert "layers 0, 1, 2, 3, 4, 5 and 2 more" in CarriedWeights({}, reshaped=tuple(range(8))).note(0, "x")
