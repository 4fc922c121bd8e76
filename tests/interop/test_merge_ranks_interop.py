"""A Keras model whose merges take inputs of different ranks (a squeeze-excite gate straight from a
Dense, a (W, C) sequence and a (C,) vector added to a map), through `convtui import` and back out
through `convtui export`: Keras's values, in convtui's engine, in the Keras code and in the
PyTorch module (NCHW, where a lower-rank input must be expanded as Keras expands it).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from interop_helpers import RunInterop, load_generated
from test_keras_import import randomise_weights, save

from convtui.engine.forward import forward
from convtui.engine.weights import load_weights
from convtui.model.preset import load_preset


def mixed_rank_model(keras: ModuleType) -> Any:
    layers = keras.layers
    image = keras.Input((6, 6, 3), name="image")
    features = layers.Conv2D(4, 3, padding="same", activation="relu", name="features")(image)
    squeezed = layers.GlobalAveragePooling2D(name="squeeze")(features)
    gate = layers.Dense(4, activation="sigmoid", name="excite")(layers.Dense(2, activation="relu", name="reduce")(squeezed))
    gated = layers.Multiply(name="gate")([features, gate])
    rows = layers.Reshape((6, 4), name="rows")(layers.Dense(24, name="row_values")(squeezed))
    mixed = layers.Add(name="mix")([rows, gated, layers.Dense(4, name="shift")(squeezed)])
    return keras.Model(image, layers.Conv2D(2, 1, name="head")(mixed), name="mixed_ranks")


@pytest.fixture
def imported(keras: ModuleType, run_interop: RunInterop, tmp_path: Path) -> tuple[Any, Path]:
    """The Keras model with random weights, and the preset `convtui import` wrote of it."""
    model = mixed_rank_model(keras)
    randomise_weights(model)
    preset = tmp_path / "mixed.toml"
    code, _, err = run_interop("import", save(model, "keras", tmp_path), "-o", preset)
    assert code == 0, err
    return model, preset


def images() -> np.ndarray:
    return np.random.default_rng(4).uniform(-1, 1, (3, 6, 6, 3)).astype(np.float32)


def test_convtui_import_of_mixed_rank_merges_computes_what_keras_computes(imported: tuple[Any, Path]) -> None:
    model, preset = imported
    stack = load_preset(preset)
    info = stack.infer()
    assert [layer.output_shape for layer in info.layers if layer.layer.is_merge] == [(6, 6, 4), (6, 6, 4)]
    assert info.total_params == model.count_params()
    ours = forward(stack, images(), load_weights(preset.with_suffix(".npz"), stack)).outputs[-1]
    np.testing.assert_allclose(ours, model.predict(images(), verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target", ["pytorch", "keras"])
def test_exported_code_expands_lower_rank_inputs_as_keras_does(imported: tuple[Any, Path], target: str, run_interop: RunInterop, torch, tmp_path: Path) -> None:
    _, preset = imported
    code_file = tmp_path / f"mixed_{target}.py"
    code, _, err = run_interop("export", preset, "--to", target, "-o", code_file)
    assert code == 0, err
    model = load_generated(code_file.read_text(encoding="utf-8"), code_file).build_model()
    stack = load_preset(preset)
    expected = forward(stack, images(), load_weights(preset.with_suffix(".npz"), stack)).outputs[-1]
    if target == "keras":
        actual = model.predict(images(), verbose=0)
    else:
        with torch.no_grad():
            actual = model.eval()(torch.from_numpy(images().transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
