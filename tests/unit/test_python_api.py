"""The Python API does what `convtui run` does: the preset's `weights` file and `seed`, layers by name,
and one clear line (a project error) for every mistake a script can make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convtui import ConvtuiError, LayerNotFound, PresetError, forward, initial_weights, load_preset, preset_weights
from convtui.engine.weights import save_arrays, weights_to_arrays
from convtui.model.explain import explain

SMALL = 'name = "small"\ninput_shape = [8, 8, 1]\n{top}\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 3\n\n[[layers]]\ntype = "Dense"\nunits = 3\n'
PIXELS = np.random.default_rng(1).random((8, 8, 1), dtype=np.float32)


def write_preset(path: Path, top: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SMALL.format(top=top), encoding="utf-8")
    return path


def same_weights(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(
        first[index].keys() == second[index].keys() and all(np.array_equal(first[index][name], second[index][name]) for name in first[index])
        for index in first
    )


@pytest.fixture
def trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict]:
    """models/net.toml naming net.npz beside it (seed 5's weights), read from another working folder."""
    preset = write_preset(tmp_path / "models" / "net.toml", 'weights = "net.npz"')
    weights = initial_weights(load_preset(preset).infer(), 5)
    save_arrays(weights_to_arrays(weights), tmp_path / "models" / "net.npz")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return preset, weights


# --- 1. the preset's weights file and seed --------------------------------------------------


def test_a_stack_knows_where_it_was_read_from_its_weights_file_and_seed(trained: tuple[Path, dict]) -> None:
    preset, _ = trained
    stack = load_preset(preset)
    assert stack.source == str(preset) and stack.weights_path == preset.parent / "net.npz"
    assert stack.seed is None and load_preset(write_preset(preset.parent / "seeded.toml", "seed = 7")).seed == 7
    assert stack == load_preset(write_preset(preset.parent / "copy.toml"))  # where it came from is not what it is


def test_forward_without_weights_uses_the_presets_weights_file_as_convtui_run_does(trained: tuple[Path, dict], run_cli) -> None:
    preset, weights = trained
    stack = load_preset(preset)
    result = forward(stack, PIXELS)
    assert np.array_equal(result.outputs[-1], forward(stack, PIXELS, weights).outputs[-1])
    assert not np.array_equal(result.outputs[-1], forward(stack, PIXELS, initial_weights(stack)).outputs[-1])
    assert same_weights(preset_weights(stack), weights)
    np.save(preset.parent / "pixels.npy", PIXELS)
    saved = preset.parent / "run.npz"
    done = run_cli("run", preset, "--image", preset.parent / "pixels.npy", "--save", saved, "--save-layers", "-1")
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.load(saved)["layers.1.output"], result.outputs[-1])


def test_a_presets_seed_is_the_default_of_initial_weights_and_forward(tmp_path: Path) -> None:
    stack = load_preset(write_preset(tmp_path / "seeded.toml", "seed = 7"))
    info = stack.infer()
    assert same_weights(initial_weights(stack), initial_weights(info, 7))
    assert not same_weights(initial_weights(stack), initial_weights(info, 0))
    assert same_weights(initial_weights(stack, 0), initial_weights(info, 0))  # a seed given wins, positionally too
    assert np.array_equal(forward(stack, PIXELS).outputs[-1], forward(info, PIXELS, initial_weights(info, 7)).outputs[-1])
    assert np.array_equal(forward(stack, PIXELS, seed=3).outputs[-1], forward(info, PIXELS, initial_weights(info, 3)).outputs[-1])


def test_a_weights_file_that_lacks_some_weights_says_so_in_a_warning(trained: tuple[Path, dict]) -> None:
    preset, weights = trained
    save_arrays({"layers.0.kernel": weights[0]["kernel"]}, preset.parent / "net.npz")
    with pytest.warns(UserWarning, match=r"net\.npz lacks 3 weight\(s\), initialised from seed 0: layers\.0\.bias, layers\.1\.kernel, layers\.1\.bias"):
        loaded = preset_weights(load_preset(preset))
    assert np.array_equal(loaded[0]["kernel"], weights[0]["kernel"])


def test_a_weights_file_that_is_not_there_names_the_preset_and_the_path(trained: tuple[Path, dict]) -> None:
    preset, _ = trained
    (preset.parent / "net.npz").unlink()
    with pytest.raises(PresetError) as raised:
        forward(load_preset(preset), PIXELS)
    assert str(raised.value).startswith(f"{preset}: field 'weights': names \"net.npz\", but there is no {preset.parent / 'net.npz'}")


# --- 5. seeds -------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "found"), [(1.5, "1.5"), (2**32, "4294967296"), ("3", '"3" (a string)'), (-1, "-1"), (True, "true")])
def test_a_seed_that_the_command_line_refuses_the_api_refuses_in_one_line(seed: object, found: str) -> None:
    stack = load_preset("seed-28x28x1")
    for call in (lambda: initial_weights(stack, seed=seed), lambda: forward(stack, np.zeros((28, 28, 1)), seed=seed)):
        with pytest.raises(ConvtuiError) as raised:
            call()
        assert str(raised.value) == f"field 'seed': expected a whole number from 0 to 4,294,967,295, found {found}"


def test_a_numpy_integer_is_a_seed() -> None:
    stack = load_preset("seed-28x28x1")
    assert same_weights(initial_weights(stack, np.int64(4)), initial_weights(stack, 4))  # type: ignore[arg-type]


# --- 7. layers by name ----------------------------------------------------------------------


def test_layers_are_found_by_name_where_the_readme_names_them() -> None:
    stack = load_preset("se-block")
    info = stack.infer()
    result = forward(stack, np.zeros(stack.input_shape, np.float32))
    assert stack.inputs_of("se_excite") == ("conv", "se_expand") == stack.inputs_of(4) == stack.inputs_of(-1)
    assert stack.layer_index("se_reduce") == 2
    assert info.layer("se_reduce") is info.layers[2] and info.layer(-1) is info.layers[4]
    assert result.outputs["se_reduce"] is result.outputs[2]
    assert explain(info, "se_reduce") == explain(info, 2)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("gate", "no layer named 'gate'; the layers are conv, se_squeeze, se_reduce, se_expand, se_excite"),
        ("se_excit", "no layer named 'se_excit'; did you mean 'se_excite'?"),
        (99, "layer 99 out of range: this stack has 5 layers (0-4)"),
        (-6, "layer -6 out of range: this stack has 5 layers (0-4)"),
        (1.0, "a layer is given by its index or its name, found 1.0"),
    ],
)
def test_a_layer_that_is_not_there_is_one_clear_line_everywhere(key: object, message: str) -> None:
    stack = load_preset("se-block")
    info = stack.infer()
    outputs = forward(stack, np.zeros(stack.input_shape, np.float32)).outputs
    for lookup in (stack.inputs_of, stack.layer_index, info.layer, lambda key: explain(info, key), outputs.__getitem__):
        with pytest.raises(LayerNotFound) as raised:
            lookup(key)
        assert str(raised.value) == message
        assert isinstance(raised.value, IndexError) and isinstance(raised.value, KeyError) and isinstance(raised.value, ConvtuiError)


def test_a_long_list_of_names_is_cut_short() -> None:
    with pytest.raises(LayerNotFound, match=r"the layers are conv1_pad, conv1_conv, .*, \.\.\. \(176 in all\)$"):
        load_preset("resnet50").inputs_of("zzz")


# --- 8. Keras files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.keras", "model.json", "model.h5", "MODEL.HDF5"])
def test_load_preset_on_a_keras_model_points_to_the_keras_import(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b'{"class_name": "Functional"}' if name.endswith("json") else b"PK\x03\x04\x80\x81")
    with pytest.raises(PresetError) as raised:
        load_preset(tmp_path / name)
    assert str(raised.value) == (
        f"{tmp_path / name}: is a Keras model, not a preset; open it with convtui.interop.load_model_file(path)"
        " (its .stack and .weights), or write it as a preset with `convtui import`"
    )


# --- 17. explanations -----------------------------------------------------------------------


def test_layer_scale_explains_its_parameters_as_one_gamma_per_channel() -> None:
    from convtui.model.layers import layer_from_config
    from convtui.model.stack import Stack

    stack = Stack((4, 4, 6), (layer_from_config({"type": "LayerScale", "init_values": 1e-6, "projection_dim": 6}),))
    params = [formula for formula in explain(stack.infer(), 0) if formula.quantity == "params"]
    assert [(formula.formula, formula.reason) for formula in params] == [("C = 6", "one gamma per channel")]
