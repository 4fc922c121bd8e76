"""Importing Keras models written by Keras itself (torch backend), in its three file formats.

Two models between them hold every catalogue layer type (and the Keras layers that import as
one: LeakyReLU, Softmax, ELU, SpatialDropout2D, Reshape to a vector): a Sequential, and a
functional chain. Each is saved as .keras, as model.to_json() and as a legacy .h5; the imported
stack must have Keras's shapes and parameter counts, layer by layer, and with the file's
weights the engine's output must equal model.predict.
"""

from __future__ import annotations

import json
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from interop_helpers import assert_close

from convtui.engine.forward import forward
from convtui.interop import ImportedModel, ModelImportError, is_model_file, load_model_file
from convtui.model.layers import Flatten, ReLU

FORMATS = ("keras", "json", "h5")


def sequential_model(keras: ModuleType) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((17, 15, 3)),
            layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", kernel_initializer="he_normal"),
            layers.BatchNormalization(epsilon=0.01),
            layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="tanh"),
            layers.SeparableConv2D(6, 3, dilation_rate=2, activation="swish"),
            layers.Conv2DTranspose(5, 3, strides=2, padding="same"),
            layers.ZeroPadding2D(((1, 0), (0, 1))),
            layers.MaxPooling2D(3, strides=2, padding="same"),
            layers.UpSampling2D(2, interpolation="bilinear"),
            # Equal pads: Keras 3.15's torch backend replicates edge pixels for unequal "same" average
            # pooling (keras-team/keras#18452), where TensorFlow, JAX and convtui average real pixels only.
            layers.AveragePooling2D(3, strides=1, padding="same"),
            layers.ReLU(max_value=6.0, negative_slope=0.05, threshold=0.1),
            layers.Activation("gelu"),
            layers.Dropout(0.2),
            layers.Dense(4),  # on a map: the last axis
            layers.Flatten(),
            layers.Dense(10, activation="softmax", name="classes"),
        ],
        name="zoo",
    )


def functional_model(keras: ModuleType) -> Any:
    layers = keras.layers
    image = keras.Input((12, 12, 2), name="image")
    x = layers.Conv2D(4, 5, padding="same", use_bias=False)(image)
    x = layers.SpatialDropout2D(0.1)(x)
    x = layers.Conv2D(4, 3, groups=2, activation="elu")(x)  # a second Conv2D: weights under "conv2d_1"
    x = layers.ELU()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = layers.Reshape((4,), name="to_vector")(x)  # Keras MobileNet's top: imported as Flatten
    x = layers.BatchNormalization(center=False)(x)
    x = layers.Dense(3)(x)
    x = layers.Softmax()(x)
    return keras.Model(image, x, name="chain")


def global_max_model(keras: ModuleType) -> Any:
    layers = keras.layers
    return keras.Sequential([keras.Input((6, 5, 3)), layers.Conv2D(4, 2), layers.GlobalMaxPooling2D(), layers.Dense(2)], name="global_max")


MODEL_BUILDERS = {"zoo": sequential_model, "chain": functional_model, "global_max": global_max_model}


def randomise_weights(model: Any) -> None:
    """Trained-like weights: non-zero biases, batch-norm statistics far from 0 and 1."""
    rng = np.random.default_rng(3)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "moving_variance" in variable.path:
            variable.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        else:
            variable.assign(rng.normal(0, 0.4, shape).astype(np.float32))


def save(model: Any, keras_format: str, folder: Path) -> Path:
    path = folder / f"{model.name}.{keras_format}"
    if keras_format == "json":
        path.write_text(model.to_json(), encoding="utf-8")
    else:
        model.save(path)
    return path


@pytest.fixture(scope="module")
def saved_models(keras: ModuleType, h5py: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Any, Path]]:
    """Each model built once, its weights randomised, saved in each format: (name, format) -> (model, path)."""
    folder = tmp_path_factory.mktemp("keras_models")
    saved = {}
    for name, build in MODEL_BUILDERS.items():
        model = build(keras)
        randomise_weights(model)
        for keras_format in FORMATS:
            saved[name, keras_format] = (model, save(model, keras_format, folder))
    return saved


def keras_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


CASES = [(name, keras_format) for name in MODEL_BUILDERS for keras_format in FORMATS]


@pytest.mark.parametrize(("name", "keras_format"), CASES)
def test_imported_shapes_and_params_are_keras_own_layer_by_layer(saved_models, name, keras_format):
    model, path = saved_models[name, keras_format]
    stack_info = load_model_file(path).stack.infer()
    assert stack_info.valid
    assert [info.output_shape for info in stack_info.layers] == [tuple(layer.output.shape[1:]) for layer in keras_layers(model)]
    assert [info.params for info in stack_info.layers] == [layer.count_params() for layer in keras_layers(model)]
    assert stack_info.total_params == model.count_params()


@pytest.mark.parametrize(("name", "keras_format"), [case for case in CASES if case[1] != "json"])
def test_with_the_file_weights_the_engine_computes_what_model_predict_computes(saved_models, name, keras_format):
    model, path = saved_models[name, keras_format]
    imported = load_model_file(path)
    images = np.random.default_rng(5).uniform(0, 1, (2, *imported.stack.input_shape)).astype(np.float32)
    assert imported.weights is not None
    assert_close(forward(imported.stack, images, imported.weights).outputs[-1], model.predict(images, verbose=0))


def test_a_to_json_file_has_no_weights_and_says_so(saved_models):
    imported = load_model_file(saved_models["zoo", "json"][1])
    assert imported.weights is None
    assert any("no weights" in note for note in imported.notes)


def test_arguments_come_with_keras_names_and_without_keras_defaults(saved_models):
    stack = load_model_file(saved_models["zoo", "keras"][1]).stack
    assert stack.input_shape == (17, 15, 3)
    assert stack.layers[0].changed_arguments() == {
        "filters": 8, "kernel_size": (3, 3), "strides": (2, 2), "padding": "same", "activation": "relu", "kernel_initializer": "he_normal",
    }
    assert stack.layers[4].changed_arguments() == {"filters": 5, "kernel_size": (3, 3), "strides": (2, 2), "padding": "same"}
    assert stack.layers[6].changed_arguments() == {"pool_size": (3, 3), "strides": (2, 2), "padding": "same"}


def test_keras_layers_outside_the_catalogue_that_compute_the_same_come_as_catalogue_layers_with_a_note(saved_models):
    imported: ImportedModel = load_model_file(saved_models["chain", "keras"][1])
    types = [layer.type_name for layer in imported.stack.layers]
    assert types == ["Conv2D", "Dropout", "Conv2D", "Activation", "MaxPooling2D", "ReLU", "GlobalAveragePooling2D", "Flatten", "BatchNormalization", "Dense", "Activation"]
    assert imported.stack.layers[5] == ReLU(negative_slope=0.3)
    assert imported.stack.layers[7] == Flatten()
    assert any(note.startswith('layer 7 "to_vector" (Reshape): Reshape((4,)) imported as Flatten') for note in imported.notes)
    assert len(imported.notes) == 5  # SpatialDropout2D, ELU, LeakyReLU, Reshape, Softmax


def test_a_functional_chain_is_read_along_its_connections_not_in_the_order_its_config_lists_layers(saved_models, tmp_path):
    document = json.loads(saved_models["chain", "json"][1].read_text())
    document["config"]["layers"].reverse()
    shuffled = tmp_path / "reversed.json"
    shuffled.write_text(json.dumps(document))
    assert load_model_file(shuffled).stack.layers == load_model_file(saved_models["chain", "json"][1]).stack.layers


def keras2_layer(class_name: str, name: str, inbound: list[str], **config: Any) -> dict[str, Any]:
    """A layer as tf.keras 2 writes it in a functional model: inbound nodes as [[[name, 0, 0, {}], ...]]."""
    nodes = [[[source, 0, 0, {}] for source in inbound]] if inbound else []
    return {"class_name": class_name, "name": name, "config": {"name": name, "dtype": "float32", **config}, "inbound_nodes": nodes}


def keras2_functional(*layers: dict[str, Any], output: str) -> dict[str, Any]:
    model_layers = [keras2_layer("InputLayer", "input_1", [], batch_input_shape=[None, 8, 8, 1]), *layers]
    config = {"name": "model", "layers": model_layers, "input_layers": [["input_1", 0, 0]], "output_layers": [[output, 0, 0]]}
    return {"class_name": "Functional", "config": config, "keras_version": "2.12.0", "backend": "tensorflow"}


def write_json(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_tf_keras_2_configs_import_too(tmp_path):
    initializer = {"class_name": "HeNormal", "config": {"seed": None}}
    functional = keras2_functional(
        keras2_layer("Conv2D", "conv2d", ["input_1"], filters=2, kernel_size=[3, 3], activation="relu", kernel_initializer=initializer),
        keras2_layer("Flatten", "flatten", ["conv2d"], data_format="channels_last"),
        keras2_layer("Dense", "dense", ["flatten"], units=3, activation="linear"),
        output="dense",
    )
    stack = load_model_file(write_json(functional, tmp_path / "functional.json")).stack
    assert stack.input_shape == (8, 8, 1)
    assert [layer.label for layer in stack.layers] == ["Conv2D(2, 3x3, relu)", "Flatten", "Dense(3)"]
    assert stack.layers[0].kernel_initializer == "he_normal"
    sequential = {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [
            {"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [None, 6, 6, 3], "filters": 4, "kernel_size": [3, 3]}},
            {"class_name": "LeakyReLU", "config": {"name": "l", "alpha": 0.3}},
        ]},
    }
    stack = load_model_file(write_json(sequential, tmp_path / "sequential.json")).stack
    assert stack.input_shape == (6, 6, 3) and stack.layers[1] == ReLU(negative_slope=0.3)


def test_tf_keras_2_merges_are_branching(tmp_path):
    merged = keras2_functional(
        keras2_layer("Conv2D", "a", ["input_1"], filters=2, kernel_size=[1, 1]),
        keras2_layer("Add", "add", ["input_1", "a"]),
        output="add",
    )
    message = import_error(write_json(merged, tmp_path / "merged.json"))
    assert 'layer 1 "add" (Add): branching graphs are not supported (it merges 2 inputs: input_1, a)' in message


# --- what cannot be imported ----------------------------------------------------------------


def import_error(path: Path) -> str:
    with pytest.raises(ModelImportError) as caught:
        load_model_file(path)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_a_branching_model_and_a_layer_outside_the_catalogue_are_all_named_in_one_message(keras, tmp_path):
    layers = keras.layers
    image = keras.Input((8, 8, 3))
    stem = layers.Conv2D(4, 3, padding="same", name="stem")(image)
    left = layers.Conv2D(4, 1, name="left")(stem)
    right = layers.Conv2D(4, 1, name="right")(stem)
    joined = layers.Add(name="join")([left, right])
    normalised = layers.LayerNormalization(name="norm")(joined)
    model = keras.Model(image, layers.Flatten()(normalised))
    message = import_error(save(model, "keras", tmp_path))
    assert message.startswith(f"{tmp_path / model.name}.keras: cannot import 3 layers: ")
    assert 'layer 0 "stem" (Conv2D): branching graphs are not supported (its output feeds 2 layers: left, right)' in message
    assert 'layer 3 "join" (Add): branching graphs are not supported (it merges 2 inputs: left, right), not in convtui\'s catalogue' in message
    assert 'layer 4 "norm" (LayerNormalization): not in convtui\'s catalogue' in message
    assert "\n" not in message


def test_channels_first_is_refused_with_what_to_do(keras, tmp_path):
    model = keras.Sequential([keras.Input((3, 8, 8)), keras.layers.Conv2D(4, 3, data_format="channels_first", name="conv")])
    message = import_error(save(model, "json", tmp_path))
    assert 'layer 0 "conv" (Conv2D): data_format = "channels_first" is not supported' in message
    assert "rebuild the model with channels_last" in message


def test_an_input_of_unknown_size_is_refused_with_what_to_do(keras, tmp_path):
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3)])
    message = import_error(save(model, "json", tmp_path))
    assert "the model: its input shape is (None, None, 3)" in message
    assert "keras.Input(shape=(height, width, channels))" in message


def test_an_argument_convtui_does_not_model_is_named_with_its_value(keras, tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2DTranspose(2, 3, output_padding=1, strides=2, name="up")])
    message = import_error(save(model, "json", tmp_path))
    assert 'layer 0 "up" (Conv2DTranspose): output_padding = [1, 1] is not supported: convtui does not model it' in message


def test_weights_that_do_not_fit_the_layers_are_named_with_both_shapes(saved_models, tmp_path):
    """A .keras file whose config was edited after saving: its Dense has 9 units, its weights 10."""
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(saved_models["zoo", "keras"][1]) as source, zipfile.ZipFile(edited, "w") as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "config.json":
                data = data.replace(b'"units": 10', b'"units": 9')
            target.writestr(member, data)
    message = import_error(edited)
    assert 'layer 14 "classes" (Dense): the file\'s weights have shapes [(480, 10), (10,)] but its kernel, bias need [(480, 9), (9,)]' in message


def test_legacy_h5_without_h5py_says_how_to_install_it(saved_models, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    message = import_error(saved_models["zoo", "h5"][1])
    assert message.endswith("needs h5py to read HDF5 data, and it is not installed; run `pip install h5py`")


def test_h5py_is_a_core_dependency_and_no_extra_is_needed_for_model_files():
    """`.keras` and `.h5` files are a headline feature: `pip install convtui` alone must open them."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(requirement.startswith("h5py") for requirement in project["dependencies"])
    assert "keras" not in project["optional-dependencies"]


@pytest.mark.parametrize(
    ("file_name", "content", "expected"),
    [
        ("broken.keras", b"not a zip", "is not a .keras file (not a zip archive)"),
        ("broken.json", b"{", "holds no valid JSON"),
        ("layer.json", b'{"class_name": "Dense"}', "is not a serialised Keras model"),
        ("broken.h5", b"not hdf5", "is not an HDF5 file"),
        ("missing.keras", None, "no such file"),
    ],
)
def test_unreadable_files_are_one_line_naming_the_file(tmp_path, h5py, file_name, content, expected):
    path = tmp_path / file_name
    if content is not None:
        path.write_bytes(content)
    message = import_error(path)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_a_zip_without_config_is_not_a_keras_file(tmp_path):
    path = tmp_path / "weights_only.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    assert "no config.json inside" in import_error(path)


def test_model_files_are_recognised_by_their_suffix():
    assert [is_model_file(name) for name in ("a.keras", "b.H5", "c.hdf5", "d.json", "e.toml", "lenet5")] == [True] * 4 + [False] * 2
