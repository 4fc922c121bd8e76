"""Exported code, run with real Keras and real PyTorch: same shapes, same parameter counts, same outputs as the engine.

Each stack's code is written to a file and imported as a module, as a user would; its
build_model() loads the .npz convtui wrote (weights with non-trivial biases and batch-norm
statistics), and its output on random images must equal the engine's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from interop_helpers import assert_close, keras_spelling, load_generated, torch_counts
from interop_stacks import CONVOLUTIONS, GLOBAL_AVERAGE, HAND_MADE, INITIALIZERS, POOLING_AND_THE_REST, random_stack, trained_like_weights

from convtui.engine.forward import forward
from convtui.engine.weights import save_arrays, weights_to_arrays
from convtui.errors import ConvtuiError
from convtui.interop import export_source, load_model_file
from convtui.model.layers import BatchNormalization, Conv2D, Dense, Flatten
from convtui.model.stack import Stack

STACKS = [*HAND_MADE, *(random_stack(seed) for seed in range(6))]


def stack_id(stack: Stack) -> str:
    return stack.name.replace(" ", "-")


def images(stack: Stack, count: int = 2) -> np.ndarray:
    return np.random.default_rng(7).uniform(0, 1, (count, *stack.input_shape)).astype(np.float32)


def exported(stack: Stack, target: str, folder: Path) -> tuple[ModuleType, np.ndarray]:
    """The generated module (with weights beside it, by a relative path) and the engine's output for `images`."""
    weights = trained_like_weights(stack)
    save_arrays(weights_to_arrays(weights), folder / "weights.npz")
    module = load_generated(export_source(stack, target, "weights.npz"), folder / f"{target}_model.py")
    return module, forward(stack, images(stack), weights).outputs[-1]


@pytest.mark.parametrize("stack", STACKS, ids=stack_id)
def test_keras_code_builds_the_same_model_and_computes_what_the_engine_computes(stack, keras, tmp_path):
    module, expected = exported(stack, "keras", tmp_path)
    model = module.build_model()
    stack_info = stack.infer()
    assert tuple(model.output_shape[1:]) == stack_info.output_shape
    assert model.count_params() == stack_info.total_params
    assert_close(model.predict(images(stack), verbose=0), expected)


@pytest.mark.parametrize("stack", STACKS, ids=stack_id)
def test_pytorch_code_takes_nchw_and_computes_what_the_engine_computes(stack, torch, tmp_path):
    module, expected = exported(stack, "pytorch", tmp_path)
    model = module.build_model().eval()
    assert sum(torch_counts(model)) == stack.infer().total_params
    with torch.no_grad():
        output = model(torch.from_numpy(images(stack).transpose(0, 3, 1, 2).copy())).numpy()
    assert_close(output.transpose(0, 2, 3, 1) if output.ndim == 4 else output, expected)


@pytest.mark.parametrize("target", ["keras", "pytorch"])
def test_code_without_weights_builds_a_model_of_the_same_size(target, keras, torch, tmp_path):
    module = load_generated(export_source(CONVOLUTIONS, target, None), tmp_path / f"{target}_plain.py")
    model = module.build_model()
    assert "WEIGHTS_FILE" not in vars(module)
    size = model.count_params() if target == "keras" else sum(torch_counts(model))
    assert size == CONVOLUTIONS.infer().total_params


@pytest.mark.parametrize(("target", "label"), [("keras", "Total params:"), ("pytorch", "trainable params:")])
def test_run_as_a_script_the_code_prints_the_summary(target, label, keras, torch, tmp_path):
    path = tmp_path / f"{target}_script.py"
    path.write_text(export_source(GLOBAL_AVERAGE, target), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, env={**os.environ, "KERAS_BACKEND": "torch"}
    )
    assert result.returncode == 0, result.stderr
    assert f"{label} {GLOBAL_AVERAGE.infer().total_params}" in result.stdout


def test_an_absolute_weights_path_is_written_as_is_and_a_relative_one_from_the_generated_file(tmp_path):
    absolute = str(tmp_path / "w.npz")
    assert f'WEIGHTS_FILE = Path("{absolute}")' in export_source(GLOBAL_AVERAGE, "pytorch", absolute)
    assert 'WEIGHTS_FILE = Path(__file__).parent / "../w.npz"' in export_source(GLOBAL_AVERAGE, "keras", "../w.npz")


def test_pytorch_batch_norm_takes_keras_epsilon_and_the_complement_of_its_momentum(torch, tmp_path):
    module = load_generated(export_source(POOLING_AND_THE_REST, "pytorch"), tmp_path / "batch_norm.py")
    torch_norms = [module for module in module.build_model().modules() if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)]
    keras_norms = [layer for layer in POOLING_AND_THE_REST.layers if isinstance(layer, BatchNormalization)]
    assert [(norm.eps, norm.momentum) for norm in torch_norms] == [
        (layer.epsilon, pytest.approx(1 - layer.momentum)) for layer in keras_norms
    ]
    assert [norm.affine for norm in torch_norms] == [True, True, False, True]
    assert [(norm.weight.requires_grad, norm.bias.requires_grad) for norm in torch_norms if norm.affine] == [
        (True, False), (False, True), (True, True)
    ]


def test_pytorch_code_marks_where_the_frameworks_differ_and_explains_each_difference_once():
    source = export_source(CONVOLUTIONS, "pytorch")
    assert "nn.ZeroPad2d((0, 1, 1, 1)),  # TensorFlow's \"same\": the odd pixel at the bottom/right" in source  # equal on H only
    assert "Permute(0, 2, 3, 1),  # flatten in Keras's (H, W, C) order" in source
    assert "nn.LeakyReLU(0.2),  # Keras's leaky_relu slope is 0.2" in source
    docstring = source.split('"""')[1]
    assert [line.split(" ")[1] for line in docstring.splitlines() if line.startswith("- ")] == ["TensorFlow's", "Conv2DTranspose's", "Keras"]
    assert "BatchNormalization" not in docstring  # only the differences this model meets


@pytest.mark.parametrize("stack", [POOLING_AND_THE_REST, INITIALIZERS, *(random_stack(seed) for seed in range(3))], ids=stack_id)
def test_keras_export_saved_as_keras_file_imports_back_as_the_same_stack_and_weights(stack, keras, tmp_path):
    module, _ = exported(stack, "keras", tmp_path)
    module.build_model().save(tmp_path / "round_trip.keras")
    imported = load_model_file(tmp_path / "round_trip.keras")
    assert imported.stack.layers == tuple(map(keras_spelling, stack.layers))
    assert imported.stack.input_shape == stack.input_shape
    expected = trained_like_weights(stack)
    assert imported.weights is not None and imported.weights.keys() == expected.keys()
    for index, named in expected.items():
        for name, array in named.items():
            np.testing.assert_array_equal(imported.weights[index][name], array)


def test_exporting_an_invalid_stack_names_the_layer_and_exits_1():
    stack = Stack((4, 4, 1), (Conv2D(2, 5), Flatten(), Dense(2)))
    with pytest.raises(ConvtuiError) as caught:
        export_source(stack, "keras")
    assert (caught.value.layer_index, caught.value.layer_type, caught.value.exit_code) == (0, "Conv2D", 1)
    assert "fix it before exporting" in str(caught.value)


def test_an_unknown_target_names_the_argument_and_the_targets_not_the_cli_option():
    with pytest.raises(ConvtuiError) as caught:
        export_source(GLOBAL_AVERAGE, "tf")  # type: ignore[arg-type]
    assert str(caught.value) == "export_source's target 'tf' is not one of 'keras', 'pytorch'; give one of those"


def test_keras_code_runs_without_keras_backend_set_on_the_backend_that_is_installed(keras, tmp_path):
    """Keras would pick TensorFlow, which this environment lacks: the file takes the installed one."""
    path = tmp_path / "keras_script.py"
    path.write_text(export_source(GLOBAL_AVERAGE, "keras"), encoding="utf-8")
    environment = {name: value for name, value in os.environ.items() if name != "KERAS_BACKEND"}
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr
    assert f"Total params: {GLOBAL_AVERAGE.infer().total_params}" in result.stdout
