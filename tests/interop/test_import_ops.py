"""Keras 3 operations that a catalogue layer computes exactly import as that layer, with a note naming both.

`-x`, `maximum(x, 0)`, `minimum(x, c)` and the activation operations (keras.ops.relu, sigmoid, ...)
are built on KerasTensors in a functional model, as a user writes them; the imported stack, run on
the file's weights, must give Keras's outputs within 1e-6. Renamed layers get a note too.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from convtui.engine.forward import forward
from convtui.interop import ImportedModel, ModelImportError, load_model_file
from convtui.interop.keras_layers import translate_operation
from convtui.model.layers import Activation, Add, Multiply, ReLU, Rescaling

ACTIVATIONS = {
    "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "hard_sigmoid": "hard_sigmoid", "sparse_sigmoid": "sparse_sigmoid",
    "log_sigmoid": "log_sigmoid", "silu": "silu", "swish": "silu", "hard_silu": "hard_silu", "hard_swish": "hard_silu",
    "tanh": "tanh", "hard_tanh": "hard_tanh", "tanh_shrink": "tanh_shrink", "hard_shrink": "hard_shrink", "soft_shrink": "soft_shrink",
    "softplus": "softplus", "sparse_plus": "sparse_plus", "squareplus": "squareplus", "softsign": "softsign", "selu": "selu",
    "celu": "celu", "elu": "elu", "softmax": "softmax", "log_softmax": "log_softmax", "exp": "exponential",
}
"""keras.ops function -> the activation of convtui's Activation layer it imports as."""


def operations_model(keras: ModuleType) -> tuple[Any, dict[str, Any]]:
    """One convolution, then each operation on its output as a branch of its own: the model and the
    expected convtui layer of each branch, by the branch's Keras name."""
    ops = keras.ops
    image = keras.Input((6, 5, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(image)
    branches = {
        "negated": (-x, Rescaling(-1.0, 0.0)),
        "positive": (ops.maximum(x, 0.0), ReLU()),
        "positive_first": (ops.maximum(0.0, x), ReLU()),
        "capped": (ops.minimum(x, 0.5), ReLU(max_value=0.5, negative_slope=1.0)),
        "nonpositive": (ops.minimum(0.0, x), ReLU(max_value=0.0, negative_slope=1.0)),
        "leaky": (ops.leaky_relu(x, negative_slope=0.1), ReLU(negative_slope=0.1)),
        "exact_gelu": (ops.gelu(x, approximate=False), Activation("gelu")),
        **{f"op_{name}": (getattr(ops, name)(x), Activation(activation)) for name, activation in ACTIVATIONS.items()},
    }
    outputs = [keras.layers.Identity(name=name)(tensor) for name, (tensor, _) in branches.items()]
    model = keras.Model(image, keras.layers.Concatenate(name="all")(outputs), name="operations")
    rng = np.random.default_rng(4)
    model.get_layer("conv").set_weights([rng.normal(0, 0.8, (3, 3, 3, 4)).astype(np.float32), rng.normal(0, 0.5, 4).astype(np.float32)])
    return model, {name: layer for name, (_, layer) in branches.items()}


@pytest.fixture
def fresh_keras(keras: ModuleType) -> ModuleType:
    """Keras with its automatic names (add, add_1, ...) restarted, whatever ran before."""
    keras.backend.clear_session()
    return keras


@pytest.fixture(scope="module")
def operations(keras: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], ImportedModel]:
    keras.backend.clear_session()
    model, expected = operations_model(keras)
    path = tmp_path_factory.mktemp("operations") / "operations.keras"
    model.save(path)
    return model, expected, load_model_file(path)


def operation_of(imported: ImportedModel, branch: str) -> Any:
    """The imported layer of a branch: the one its Identity takes."""
    stack = imported.stack
    return stack.layers[stack.names.index(stack.inputs_of(stack.names.index(branch))[0])]


def test_operations_that_a_catalogue_layer_computes_import_as_that_layer(operations):
    _, expected, imported = operations
    assert {branch: operation_of(imported, branch) for branch in expected} == expected


def test_the_imported_operations_compute_keras_outputs_within_1e_6(operations):
    model, _, imported = operations
    images = np.random.default_rng(6).uniform(-2, 2, (3, *imported.stack.input_shape)).astype(np.float32)
    np.testing.assert_allclose(forward(imported.stack, images, imported.weights).outputs[-1], model.predict(images, verbose=0), rtol=1e-6, atol=1e-6)


def test_each_operation_gets_a_note_with_the_keras_operation_and_the_layer_it_became(operations):
    notes = operations[2].notes
    for expected in (
        '"negative" (Negative): the operation -x imported as Rescaling(scale=-1, offset=0), which computes the same',
        '"maximum" (Maximum): the operation maximum(x, 0) imported as ReLU(), which computes the same',
        '"maximum_1" (Maximum): the operation maximum(0, x) imported as ReLU(), which computes the same',
        '"minimum" (Minimum): the operation minimum(x, 0.5) imported as ReLU(max_value=0.5, negative_slope=1), which computes the same',
        '"sigmoid" (Sigmoid): the operation sigmoid(x) imported as Activation("sigmoid"), which computes the same',
        '"leaky_relu" (LeakyRelu): the operation leaky_relu(x) imported as ReLU(negative_slope=0.1), which computes the same',
    ):
        assert any(note.endswith(expected) for note in notes), expected
    silu = '2 layers ("silu", "silu_1"): the operation silu(x) imported as Activation("silu"), which computes the same'  # ops.silu and ops.swish
    assert silu in notes


@pytest.mark.parametrize(
    ("class_name", "arguments", "config", "reason"),
    [
        ("Maximum", ("x", 1.0), {}, "the operation Maximum(x, 1) is not in convtui's catalogue"),
        ("Minimum", ("x", -1.0), {}, "the operation Minimum(x, -1) is not in convtui's catalogue"),
        ("Maximum", ("x", (0.0, 0.0)), {}, "the operation Maximum(x, [0, 0]) is not in convtui's catalogue"),
        ("Gelu", ("x",), {"approximate": True}, "approximate = true is not supported; convtui's gelu is Keras's with approximate = false"),
        ("Gelu", ("x",), {}, "approximate = true is not supported"),  # Keras's default for ops.gelu
        ("Softmax", ("x",), {"axis": 1}, "softmax over axis 1 is not supported; convtui's softmax is on the last axis"),
        ("Celu", ("x",), {"alpha": 2.0}, "alpha = 2.0 is not supported; convtui's celu is Keras's with alpha = 1.0"),
        ("Squareplus", ("x",), {"b": 1}, "b = 1 is not supported; convtui's squareplus is Keras's with b = 4"),
        ("Relu", ("x", "y"), {}, "the operation Relu(x, y) is not in convtui's catalogue"),
    ],
)
def test_operations_that_are_no_catalogue_layer_exactly_are_refused_with_why(class_name, arguments, config, reason):
    translation = translate_operation(class_name, arguments, config)
    assert translation.layer is None
    assert translation.reasons[0].startswith(reason)


def test_operations_between_tensors_are_merges_with_one_note_per_kind(fresh_keras, tmp_path):
    """Keras's `x * g` and `a + b` between tensors are layers too: a big model gets one line per kind, not one per layer."""
    keras = fresh_keras
    layers = keras.layers
    image = keras.Input((6, 6, 3), name="image")
    x = layers.Conv2D(3, 1, name="stem")(image)
    for index in range(4):
        gate = layers.Conv2D(3, 1, activation="sigmoid", name=f"gate{index}")(x)
        x = x * gate + x
    path = tmp_path / "gates.keras"
    keras.Model(image, x).save(path)
    imported = load_model_file(path)
    stack = imported.stack
    assert stack.layers[stack.names.index("multiply_3")] == Multiply() and stack.layers[stack.names.index("add_3")] == Add()
    assert imported.notes == (
        '4 layers ("multiply", "multiply_1", "multiply_2" and 1 more): the operation a * b imported as Multiply(), which computes the same',
        '4 layers ("add", "add_1", "add_2" and 1 more): the operation a + b imported as Add(), which computes the same',
    )


def test_a_layer_named_input_is_renamed_with_a_note(keras, tmp_path):
    """convtui calls the model's input "input"; a Keras layer of that name cannot keep it, and the user is told."""
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(3, 3, padding="same", name="input")(image)
    path = tmp_path / "named_input.keras"
    keras.Model(image, keras.layers.Conv2D(2, 1, name="c")(x)).save(path)
    imported = load_model_file(path)
    assert imported.stack.names == ("input_1", "c") and imported.stack.inputs_of(1) == ("input_1",)
    assert imported.notes == ('layer 0 "input_1" (Conv2D): its Keras name "input" is what convtui calls the model\'s input: renamed',)


def test_sub_model_layers_renamed_for_a_name_taken_are_one_note(keras, tmp_path):
    layers = keras.layers

    def block(name: str) -> Any:
        inputs = keras.Input((8, 8, 4))
        return keras.Model(inputs, layers.ReLU(name="relu")(layers.Conv2D(4, 3, padding="same", name="conv")(inputs)), name=name)

    image = keras.Input((8, 8, 3))
    x = block("dec")(block("enc")(layers.Conv2D(4, 1, name="conv")(image)))
    path = tmp_path / "nested.keras"
    keras.Model(image, x).save(path)
    imported = load_model_file(path)
    assert imported.stack.names == ("conv", "enc_conv", "enc_relu", "dec_conv", "dec_relu")
    assert imported.notes == (
        '4 layers ("enc_conv", "enc_relu", "dec_conv" and 1 more): its Keras name is another layer\'s too: renamed with its sub-model\'s name in front',
    )


def test_an_activation_operation_with_options_convtui_lacks_is_named_in_the_import_error(fresh_keras, tmp_path):
    keras = fresh_keras
    image = keras.Input((4, 4, 2))
    path = tmp_path / "tanh_gelu.keras"
    keras.Model(image, keras.ops.gelu(keras.layers.Conv2D(2, 1, name="conv")(image))).save(path)
    with pytest.raises(ModelImportError) as caught:
        load_model_file(path)
    assert 'layer 1 "gelu" (Gelu): approximate = true is not supported; convtui\'s gelu is Keras\'s with approximate = false' in str(caught.value)


def test_operations_come_with_their_options_from_a_legacy_h5_too(keras, h5py, tmp_path: Path):
    """A legacy .h5 leaves out which entries are operations; their options are still read (softmax's axis)."""
    image = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(2, 1, name="conv")(image)
    path = tmp_path / "softmax.h5"
    keras.Model(image, keras.ops.softmax(-x, axis=-1)).save(path)
    imported = load_model_file(path)
    assert imported.stack.layers[1:] == (Rescaling(-1.0, 0.0), Activation("softmax"))
