"""Exported graphs, run with real Keras (Functional) and real PyTorch (an nn.Module whose forward follows the graph).

Random graphs of residual, Inception-like, DenseNet-like and squeeze-excite blocks, and hand-made
ones for names Python or PyTorch cannot take as they are, several outputs and a branch that
leads nowhere: the code must build a model with the same trainable and non-trainable parameter
counts as convtui's, whose outputs equal the engine's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest
from interop_helpers import assert_close, keras_spelling, load_generated, torch_counts
from interop_stacks import CATALOGUE_EXTRAS, appended, random_graph, trained_like_weights

from convtui.engine.forward import forward
from convtui.engine.weights import save_arrays, weights_to_arrays
from convtui.interop import export_source, load_model_file
from convtui.interop.export_pytorch import MERGE_WRITERS, MODULE_BUILDERS, TORCH_MODULE_ATTRIBUTES
from convtui.model.layers import (
    LAYER_TYPES,
    Add,
    Average,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Maximum,
    Minimum,
    Multiply,
    Reshape,
    Subtract,
)
from convtui.model.stack import Stack, StackInfo

NAMED = Stack(
    (6, 7, 2),
    (
        Conv2D(3, 3, padding="same", activation="relu"),
        Conv2D(3, 1),
        Conv2D(3, 3, padding=1),
        Add(),
        Conv2D(3, 1),
        Subtract(),
        Flatten(),
        Dense(2),
    ),
    name="awkward names",
    names=("forward", "class", "1x1 conv", "x", "inputs", "x-flat", "training", "x flat"),
    inputs=(None, None, ("forward",), ("class", "1x1 conv"), ("forward",), ("x", "inputs")),
)
"""Names that are Python keywords, nn.Module attributes, not identifiers, or the code's own variables."""

SEVERAL_OUTPUTS = Stack(
    (5, 5, 3),
    (Conv2D(4, 3), GlobalAveragePooling2D(), Dense(2), Conv2D(2, 1, strides=2), Flatten(), Dense(3), Dense(5)),
    name="several outputs",
    inputs=(None, None, None, ("conv2d",), None, None, ("flatten",)),
    outputs=("dense", "dense_2"),
)
"""Two outputs, and a head (dense_1) that leads to neither: Keras leaves it out, and so does the code."""

GATE_FIRST = appended(
    appended(appended(Stack((4, 4, 2), (Conv2D(3, 1),), name="gate first"), GlobalAveragePooling2D(keepdims=True)), Dense(3, activation="sigmoid")),
    Multiply(),
    ("dense", "conv2d"),
)

MIXED_RANKS = Stack(
    (4, 5, 3),
    (
        Conv2D(3, 1),
        GlobalAveragePooling2D(),
        Dense(3, activation="sigmoid"),
        Dense(15),
        Reshape((5, 3)),
        Subtract(),
        Maximum(),
        Average(),
        Minimum(),
    ),
    name="mixed ranks",
    inputs=(None, None, None, ("global_average_pooling2d",), None, ("dense", "conv2d"), ("reshape", "subtract", "dense"), ("dense", "reshape", "maximum"), ("reshape", "dense")),
    outputs=("average", "minimum"),
)
"""Merges of a (H, W, C) map, a (W, C) sequence and a (C,) vector, which Keras expands after the batch axis;
and one of a sequence and a vector only."""

GRAPHS = [NAMED, SEVERAL_OUTPUTS, GATE_FIRST, MIXED_RANKS, *CATALOGUE_EXTRAS, *(random_graph(seed) for seed in range(8))]


def stack_id(stack: Stack) -> str:
    return stack.name.replace(" ", "-")


def images(stack: Stack) -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, (2, *stack.input_shape)).astype(np.float32)


def used_counts(stack_info: StackInfo) -> tuple[int, int]:
    """(trainable, non-trainable) over the layers on the way to an output: what Keras counts."""
    used = [info for info in stack_info.layers if info.index not in stack_info.unused]
    return sum(info.trainable_params for info in used), sum(info.non_trainable_params for info in used)


def exported(stack: Stack, target: str, folder) -> tuple[ModuleType, list[np.ndarray]]:
    """The generated module, loading convtui's .npz, and the engine's value of each output."""
    weights = trained_like_weights(stack, seed=1)
    save_arrays(weights_to_arrays(weights), folder / "weights.npz")
    module = load_generated(export_source(stack, target, "weights.npz"), folder / f"{target}_graph.py")
    result = forward(stack, images(stack), weights)
    return module, [result.outputs[stack.names.index(name)] for name in stack.outputs or stack.names[-1:]]


@pytest.mark.parametrize("stack", GRAPHS, ids=stack_id)
def test_keras_functional_code_counts_and_computes_what_the_engine_does(stack, keras, tmp_path):
    module, expected = exported(stack, "keras", tmp_path)
    model = module.build_model()
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    non_trainable = sum(int(np.prod(weight.shape)) for weight in model.non_trainable_weights)
    assert (trainable, non_trainable) == used_counts(stack.infer())
    outputs = model.predict(images(stack), verbose=0)
    for actual, value in zip(outputs if len(expected) > 1 else [outputs], expected, strict=True):
        assert_close(np.asarray(actual), value)


@pytest.mark.parametrize("stack", GRAPHS, ids=stack_id)
def test_pytorch_module_forward_follows_the_graph_and_computes_what_the_engine_does(stack, torch, tmp_path):
    module, expected = exported(stack, "pytorch", tmp_path)
    model = module.build_model().eval()
    assert torch_counts(model) == used_counts(stack.infer())
    with torch.no_grad():
        outputs = model(torch.from_numpy(images(stack).transpose(0, 3, 1, 2).copy()))
    for actual, value in zip(outputs if len(expected) > 1 else [outputs], expected, strict=True):
        array = actual.numpy()
        assert_close(array.transpose(0, 2, 3, 1) if array.ndim == 4 else array, value)


RESIDUAL = Stack(
    (6, 6, 1),
    (Conv2D(4, 3, padding="same", activation="relu"), Conv2D(8, 3, padding="same"), Conv2D(8, 1), Add()),
    name="residual",
    inputs=(None, None, ("conv2d",), ("conv2d_1", "conv2d_2")),
)


def test_a_chain_passes_its_values_through_x_and_a_value_read_twice_gets_its_own_name():
    keras_code = export_source(RESIDUAL, "keras")
    assert keras_code.split("def build_model() -> keras.Model:\n")[1].split("\n\n")[0].splitlines() == [
        '    inputs = keras.Input(shape=INPUT_SHAPE, name="input")',
        '    x_conv2d = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2d")(inputs)  # layer 0',
        '    x_conv2d_1 = layers.Conv2D(8, 3, padding="same", name="conv2d_1")(x_conv2d)  # layer 1',
        '    x = layers.Conv2D(8, 1, name="conv2d_2")(x_conv2d)  # layer 2',
        '    x = layers.Add(name="add")([x_conv2d_1, x])  # layer 3',
        '    model = keras.Model(inputs, x, name="residual")',
        "    return model",
    ]
    torch_code = export_source(RESIDUAL, "pytorch")
    assert torch_code.split("torch.Tensor:\n")[1].split("\n\n")[0].splitlines() == [
        "        x_conv2d = self.conv2d(inputs)",
        "        x_conv2d_1 = self.conv2d_1(x_conv2d)",
        "        x = self.conv2d_2(x_conv2d)",
        "        x = x_conv2d_1 + x",
        "        return x",
    ]


def test_merges_are_written_as_keras_calls_on_lists_and_torch_operations():
    keras_code = export_source(NAMED, "keras")
    assert 'x_x = layers.Add(name="x")([x_class, x])' in keras_code
    assert 'x = layers.Subtract(name="x-flat")([x_x, x])' in keras_code
    torch_code = export_source(NAMED, "pytorch")
    assert "x_x = x_class + x\n" in torch_code and "x = x_x - x\n" in torch_code
    assert "self.forward_ = nn.Sequential(" in torch_code and "self.class_ = " in torch_code
    assert "self.layer_1x1_conv = " in torch_code and "self.training_ = " in torch_code


@pytest.mark.parametrize(("axis", "dim", "said"), [(-1, 1, "channels"), (3, 1, "channels"), (1, 2, "heights"), (-2, 3, "widths")])
def test_concatenate_joins_the_nchw_dim_of_keras_axis(axis, dim, said):
    stack = Stack((4, 4, 2), (Conv2D(2, 1), Concatenate(axis=axis)), inputs=(None, ("input", "conv2d")))
    source = export_source(stack, "pytorch")
    assert f"x = torch.cat([inputs, x], dim={dim})  # Keras's axis {axis}: {said}" in source
    assert "torch.cat joins channels on dim 1" in " ".join(source.split('"""')[1].split())  # the docstring, unwrapped


def test_every_catalogue_type_has_a_pytorch_module_or_operation():
    missing = [layer_type.type_name for layer_type in LAYER_TYPES if layer_type not in MODULE_BUILDERS and layer_type not in MERGE_WRITERS]
    assert missing == []


def test_no_module_attribute_shadows_what_nn_module_defines(torch):
    public = {name for name in [*dir(torch.nn.Module), *vars(torch.nn.Module())] if not name.startswith("_")}
    assert public <= TORCH_MODULE_ATTRIBUTES


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("keras", ["Total params: 103", "Non-trainable params: 38"]),
        ("pytorch", ["trainable params: 65; statistics (Keras's non-trainable params): 38", "normalization_1"]),
    ],
)
def test_run_as_a_script_the_graph_code_prints_keras_counts(target, expected, keras, torch, tmp_path):
    stack = CATALOGUE_EXTRAS[0]  # a custom Keras layer (LayerScale), normalisation statistics in both
    assert used_counts(stack.infer()) == (65, 38)
    path = tmp_path / f"{target}_script.py"
    path.write_text(export_source(stack, target), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, env={**os.environ, "KERAS_BACKEND": "torch"}
    )
    assert result.returncode == 0, result.stderr
    assert all(line in result.stdout for line in expected), result.stdout


def graph_by_name(stack: Stack) -> dict[str, tuple[object, tuple[str, ...]]]:
    """Each node's layer (as Keras spells it) and inputs, by name: Keras may list the layers in another topological order."""
    return {name: (keras_spelling(layer), stack.inputs_of(index)) for index, (name, layer) in enumerate(zip(stack.names, stack.layers))}


@pytest.mark.parametrize("stack", [RESIDUAL, GATE_FIRST, *(random_graph(seed) for seed in range(3))], ids=stack_id)
def test_keras_graph_saved_as_keras_file_imports_back_with_its_names_inputs_and_weights(stack, keras, tmp_path):
    module, _ = exported(stack, "keras", tmp_path)
    module.build_model().save(tmp_path / "round_trip.keras")
    imported = load_model_file(tmp_path / "round_trip.keras")
    assert graph_by_name(imported.stack) == graph_by_name(stack)
    assert imported.stack.outputs == stack.outputs
    expected = trained_like_weights(stack, seed=1)
    assert imported.weights is not None
    for index, named in expected.items():
        imported_named = imported.weights[imported.stack.names.index(stack.names[index])]
        assert imported_named.keys() == named.keys()
        for name, array in named.items():
            np.testing.assert_array_equal(imported_named[name], array)


def test_run_as_a_script_the_pytorch_code_prints_the_output_a_merge_makes(torch, tmp_path):
    """The residual graph ends in an Add, an expression in forward() rather than a module: the last line is still the output."""
    path = tmp_path / "residual_script.py"
    path.write_text(export_source(RESIDUAL, "pytorch"), encoding="utf-8")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    channels, height, width = RESIDUAL.infer().output_shape[2], *RESIDUAL.infer().output_shape[:2]
    assert result.stdout.splitlines()[-2].split() == ["output", "(1,", f"{channels},", f"{height},", f"{width})"]


def test_an_accented_layer_name_keeps_its_letters_in_the_code():
    stack = Stack((8, 8, 1), (Conv2D(2, 3),), names=("ünï côdé",))
    source = export_source(stack, "pytorch")
    assert "self.uni_code = nn.Conv2d(1, 2, 3)" in source
