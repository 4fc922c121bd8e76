"""`convtui import`, `convtui export` and `convtui diff` as a user runs them: files written, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from interop_helpers import RunInterop, load_generated

from convtui.engine.weights import initial_weights, load_weights, save_arrays, weights_to_arrays
from convtui.errors import ConvtuiError
from convtui.interop import load_model_file, save_imported
from convtui.model.preset import load_preset


def small_model(keras: ModuleType) -> Any:
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), layers.Conv2D(3, 3, activation="relu"), layers.BatchNormalization(), layers.Flatten(), layers.Dense(2)],
        name="small",
    )
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(0.5, 1.5, tuple(w.shape)).astype(np.float32) for w in model.weights])
    return model


@pytest.fixture(scope="module")
def keras_file(keras: ModuleType, h5py: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    model = small_model(keras)
    path = tmp_path_factory.mktemp("models") / "small.keras"
    model.save(path)
    return model, path


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convtui: error: "), stderr
    return lines[0]


# --- import ---------------------------------------------------------------------------------


def test_import_writes_the_preset_and_its_weights_which_run_then_uses(keras_file, run_interop: RunInterop, tmp_path):
    model, path = keras_file
    (tmp_path / "out").mkdir()
    code, out, err = run_interop("import", path, "-o", tmp_path / "out" / "net.toml")
    assert code == 0, err
    assert sorted(item.name for item in (tmp_path / "out").iterdir()) == ["net.npz", "net.toml"]
    assert f"wrote {tmp_path / 'out' / 'net.toml'} (4 layers, {model.count_params():,} params)" in out
    stack = load_preset(tmp_path / "out" / "net.toml")
    assert stack.weights_file == "net.npz"
    weights = load_weights(tmp_path / "out" / "net.npz", stack)
    np.testing.assert_array_equal(weights[0]["kernel"], model.layers[0].kernel.numpy())
    code, _, err = run_interop("run", tmp_path / "out" / "net.toml", "--image", "checkerboard", "--no-color", "--width", "80")
    assert code == 0, err


def test_import_without_output_writes_the_model_name_in_the_current_folder(keras_file, run_interop: RunInterop, tmp_path):
    code, _, err = run_interop("import", keras_file[1], cwd=tmp_path)
    assert code == 0, err
    assert sorted(item.name for item in tmp_path.iterdir()) == ["small.npz", "small.toml"]


def test_import_never_overwrites_without_force(keras_file, run_interop: RunInterop, tmp_path):
    preset = tmp_path / "net.toml"
    preset.write_text("# mine\n")
    code, _, err = run_interop("import", keras_file[1], "-o", preset)
    assert code == 2
    assert one_error_line(err) == f"convtui: error: {preset}: already exists; pass --force to overwrite it, or choose another name with -o"
    assert preset.read_text() == "# mine\n"
    assert run_interop("import", keras_file[1], "-o", preset, "--force")[0] == 0
    assert load_preset(preset).weights_file == "net.npz"


def test_import_into_a_missing_folder_names_the_o_file_before_reading_the_model(run_interop: RunInterop, tmp_path):
    """The .npz is written first, beside the preset; the message names what the user typed, and comes before the import's work."""
    preset = tmp_path / "nodir" / "net.toml"
    code, out, err = run_interop("import", tmp_path / "not_read.keras", "-o", preset)
    assert code == 2 and out == ""
    assert one_error_line(err) == f"convtui: error: {preset}: the folder {preset.parent} does not exist; create it first or choose another -o path"


def test_save_imported_into_a_missing_folder_names_the_preset_path_given(keras_file, tmp_path):
    preset = tmp_path / "nodir" / "net.toml"
    with pytest.raises(ConvtuiError) as caught:
        save_imported(load_model_file(keras_file[1]), preset)
    assert str(caught.value) == f"{preset}: the folder {preset.parent} does not exist; create it first or choose another path"


def test_a_model_that_cannot_be_imported_writes_nothing_and_says_why_in_one_line(keras, run_interop: RunInterop, tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GaussianNoise(0.1, name="noise")])
    model.save(tmp_path / "bad.keras")
    (tmp_path / "out").mkdir()
    code, out, err = run_interop("import", tmp_path / "bad.keras", "-o", tmp_path / "out" / "bad.toml")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert 'bad.keras: cannot import 1 layer: layer 1 "noise" (GaussianNoise): not in convtui\'s catalogue. ' in line
    assert line.endswith("rebuild the model from those")
    assert list((tmp_path / "out").iterdir()) == []


# --- export ---------------------------------------------------------------------------------


@pytest.fixture
def imported_preset(keras_file, run_interop: RunInterop, tmp_path) -> Path:
    (tmp_path / "presets").mkdir()
    (tmp_path / "code").mkdir()  # writes never create folders: a mistyped path should not make directories
    preset = tmp_path / "presets" / "net.toml"
    assert run_interop("import", keras_file[1], "-o", preset)[0] == 0
    return preset


def test_export_loads_the_preset_weights_by_a_path_relative_to_the_written_file(imported_preset, keras_file, run_interop: RunInterop, tmp_path, keras):
    code, _, err = run_interop("export", imported_preset, "--to", "keras", "-o", tmp_path / "code" / "net_keras.py")
    assert code == 0, err
    source = (tmp_path / "code" / "net_keras.py").read_text()
    assert 'WEIGHTS_FILE = Path(__file__).parent / "../presets/net.npz"' in source
    model, _ = keras_file
    rebuilt = load_generated(source, tmp_path / "code" / "net_keras.py").build_model()
    images = np.random.default_rng(2).uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(rebuilt.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5, atol=1e-5)


def test_export_to_stdout_writes_an_absolute_weights_path(imported_preset, run_interop: RunInterop):
    code, out, _ = run_interop("export", imported_preset, "--to", "pytorch")
    assert code == 0
    assert f'WEIGHTS_FILE = Path("{imported_preset.with_suffix(".npz").resolve()}")' in out
    assert "def build_model() -> Model:" in out


def test_export_with_no_weights_leaves_them_out(imported_preset, run_interop: RunInterop):
    code, out, _ = run_interop("export", imported_preset, "--to", "pytorch", "--no-weights")
    assert code == 0 and "WEIGHTS_FILE" not in out and "load_weights" not in out


def test_export_refuses_a_weights_file_that_lacks_some_of_the_stack_weights(imported_preset, run_interop: RunInterop, tmp_path):
    partial = tmp_path / "partial.npz"
    save_arrays({"layers.0.kernel": np.zeros((3, 3, 1, 3), np.float32)}, partial)
    code, out, err = run_interop("export", imported_preset, "--to", "keras", "--weights", partial)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        f"convtui: error: {partial}: lacks 7 of the stack's weights (layers.0.bias, layers.1.gamma, layers.1.beta and 4 more);"
        " give the .npz that `convtui import` or `convtui run --save` wrote for this stack"
    )


def test_export_never_overwrites_without_force(run_interop: RunInterop, tmp_path):
    code_file = tmp_path / "net.py"
    code_file.write_text("# mine\n")
    code, out, err = run_interop("export", "lenet5", "--to", "keras", "-o", code_file)
    assert code == 2 and out == ""
    assert one_error_line(err) == f"convtui: error: {code_file}: already exists; pass --force to overwrite it, or choose another name with -o"
    assert code_file.read_text() == "# mine\n"
    assert run_interop("export", "lenet5", "--to", "keras", "-o", code_file, "--force")[0] == 0
    assert "def build_model()" in code_file.read_text()
    code, _, err = run_interop("export", "lenet5", "--to", "keras", "-o", tmp_path)
    assert code == 2 and one_error_line(err) == f"convtui: error: {tmp_path}: is a folder; give the path of a file to write with -o"


def test_export_refuses_weights_with_no_weights(imported_preset, run_interop: RunInterop):
    code, out, err = run_interop("export", imported_preset, "--to", "keras", "--weights", imported_preset.with_suffix(".npz"), "--no-weights")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "convtui: error: argument --no-weights: not allowed with argument --weights; see `convtui export --help`"
    ]


def test_export_of_a_preset_whose_weights_file_is_missing_names_the_preset_and_the_path(imported_preset, run_interop: RunInterop):
    imported_preset.with_suffix(".npz").unlink()
    code, out, err = run_interop("export", imported_preset, "--to", "keras")
    assert code == 2 and out == ""
    assert one_error_line(err).startswith(
        f'convtui: error: {imported_preset}: field \'weights\': names "net.npz", but there is no {imported_preset.with_suffix(".npz").absolute()} '
    )


def test_export_to_an_unknown_target_names_the_option_and_the_targets(run_interop: RunInterop):
    code, _, err = run_interop("export", "lenet5", "--to", "tf")
    assert code == 2
    assert one_error_line(err) == "convtui: error: argument --to: invalid choice: 'tf' (choose from 'keras', 'pytorch'); see `convtui export --help`"


def test_export_needs_a_target(run_interop: RunInterop):
    code, _, err = run_interop("export", "lenet5")
    assert code == 2
    assert err.splitlines() == ["convtui: error: the following arguments are required: --to; see `convtui export --help`"]


# --- diff -----------------------------------------------------------------------------------


def test_diff_of_two_presets_prints_the_table_and_exits_0(run_interop: RunInterop):
    code, out, err = run_interop("diff", "lenet5", "mnist-convnet")
    assert code == 0, err
    assert "lenet5" in out and "mnist-convnet" in out
    assert "Total params:      61,706 -> 34,826 (-26,880, -43.6%)" in out


def test_diff_opens_keras_model_files_too(keras_file, imported_preset, run_interop: RunInterop):
    code, out, _ = run_interop("diff", keras_file[1], imported_preset)
    assert code == 0 and "The two stacks are identical." in out


def test_diff_of_a_missing_file_is_one_line_and_exit_2(run_interop: RunInterop, tmp_path):
    code, out, err = run_interop("diff", "lenet5", tmp_path / "nope.toml")
    assert code == 2 and out == ""
    assert one_error_line(err).startswith(f"convtui: error: {tmp_path / 'nope.toml'}: no such file or built-in preset")


def test_the_commands_and_is_model_file_import_no_numpy_rich_or_textual():
    """The CLI builds every command's parser and asks is_model_file on every start: both must stay instant."""
    code = (
        "import sys\n"
        "from convtui.cli.parser import build_parser\n"
        "build_parser()\n"
        "from convtui.interop import is_model_file\n"
        "assert is_model_file('model.keras')\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'numpy', 'rich', 'textual'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


def test_export_straight_from_a_keras_file_says_the_weights_stay_behind(keras_file, run_interop: RunInterop):
    code, out, err = run_interop("export", keras_file[1], "--to", "pytorch")
    assert code == 0 and "WEIGHTS_FILE" not in out
    assert "`convtui import` it and export the preset" in err


# --- summary and run open Keras model files too ---------------------------------------------


@pytest.fixture(scope="module")
def model_files(keras_file, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same model as .keras (with weights), legacy .h5 (with weights) and model.to_json() (without)."""
    model, keras_path = keras_file
    folder = tmp_path_factory.mktemp("model-files")
    model.save(folder / "small.h5")
    (folder / "small.json").write_text(model.to_json(), encoding="utf-8")
    return {".keras": keras_path, ".h5": folder / "small.h5", ".json": folder / "small.json"}


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".json"])
def test_summary_opens_keras_model_files(keras_file, model_files, run_interop: RunInterop, suffix):
    code, out, err = run_interop("summary", model_files[suffix], "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["total_params"] == keras_file[0].count_params()
    assert [layer["type"] for layer in data["layers"]] == ["Conv2D", "BatchNormalization", "Flatten", "Dense"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_run_of_a_keras_model_uses_its_trained_weights(keras_file, model_files, run_interop: RunInterop, tmp_path, suffix):
    model, _ = keras_file
    code, _, err = run_interop("run", model_files[suffix], "--no-color", "--width", "80", "--seed", "3", "--save", tmp_path / "run.npz")
    assert code == 0, err
    with np.load(tmp_path / "run.npz") as saved:
        np.testing.assert_array_equal(saved["layers.0.kernel"], model.layers[0].kernel.numpy())
        expected = model.predict(saved["input"], verbose=0)
        np.testing.assert_allclose(saved["layers.3.output"], expected, rtol=1e-4, atol=1e-4)


def test_run_of_a_keras_model_takes_weights_from_the_option_first(keras_file, run_interop: RunInterop, tmp_path):
    _, path = keras_file
    seeded = initial_weights(load_model_file(path).stack, seed=5)
    save_arrays(weights_to_arrays(seeded), tmp_path / "other.npz")
    code, _, err = run_interop("run", path, "--no-color", "--weights", tmp_path / "other.npz", "--save", tmp_path / "run.npz")
    assert code == 0, err
    with np.load(tmp_path / "run.npz") as saved:
        np.testing.assert_array_equal(saved["layers.0.kernel"], seeded[0]["kernel"])


def test_run_of_a_model_without_weights_says_they_are_seeded(model_files, run_interop: RunInterop):
    code, _, err = run_interop("run", model_files[".json"], "--no-color", "--width", "80")
    assert code == 0
    assert err == "convtui: note: the file has no weights: convtui starts from its seeded initial weights\n"


@pytest.mark.parametrize("command", [["summary"], ["export", "--to", "keras"], ["diff", "seed-28x28x1"]])
def test_every_command_reports_what_opening_a_model_noted(model_files, run_interop: RunInterop, command):
    arguments = [command[0], model_files[".json"], *command[1:]] if command[0] != "diff" else ["diff", command[1], model_files[".json"]]
    code, _, err = run_interop(*arguments)
    assert code == 0, err
    assert "convtui: note: the file has no weights: convtui starts from its seeded initial weights\n" in err
