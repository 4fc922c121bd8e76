"""Importing Keras models written by Keras itself (torch backend), in its three file formats.

Three models between them hold the catalogue's layer types (and the Keras layers that import as
one: LeakyReLU, Softmax, ELU, SpatialDropout2D): a Sequential, a functional chain, and a graph
with nested Sequential and Functional sub-models, residual and concatenating merges and Keras 3
operations with constants. Each is saved as .keras, as model.to_json() and as a legacy .h5; the
imported stack must have Keras's shapes and parameter counts, node by node, and with the file's
weights the engine's output must equal model.predict.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from interop_helpers import assert_close

import convtui.interop
from convtui.engine.forward import forward
from convtui.engine.weights import load_weights
from convtui.interop import ImportedModel, ModelImportError, is_model_file, load_model_file
from convtui.interop.keras_layers import translate_operation
from convtui.model.layers import Add, ReLU, Rescaling, Reshape
from convtui.model.preset import load_preset

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
    x = layers.Reshape((4,), name="to_vector")(x)
    x = layers.BatchNormalization(center=False)(x)
    x = layers.Dense(3)(x)
    x = layers.Softmax()(x)
    return keras.Model(image, x, name="chain")


def graph_model(keras: ModuleType) -> Any:
    """Sub-models whose layers share a name (both "conv"), a squeeze-excite gate, operations with constants, merges."""
    layers = keras.layers
    block = keras.Sequential(
        [keras.Input((8, 8, 6)), layers.Conv2D(6, 3, padding="same", name="conv"), layers.BatchNormalization(scale=False, name="norm")],
        name="block",
    )
    gate_input = keras.Input((8, 8, 6), name="gate_input")
    squeezed = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(gate_input)
    squeezed = layers.Conv2D(6, 1, activation="hard_sigmoid", name="conv")(squeezed)
    gate = keras.Model(gate_input, layers.Multiply(name="excite")([gate_input, squeezed]), name="gate")
    image = keras.Input((8, 8, 3), name="image")
    shortcut = layers.Conv2D(6, 3, padding="same", name="stem")(image)
    x = gate(block(shortcut))
    x = (x + 3.0) * (1.0 / 6.0)
    x = 1.0 - x
    x = x / 4.0
    x = shortcut + x
    joined = layers.Concatenate(name="join")([layers.Conv2D(4, 1, name="left")(x), layers.DepthwiseConv2D(3, padding="same", name="right")(x)])
    outputs = layers.Dense(3, name="classes")(layers.GlobalMaxPooling2D(name="pool")(joined))
    return keras.Model(image, outputs, name="graph")


def global_max_model(keras: ModuleType) -> Any:
    layers = keras.layers
    return keras.Sequential([keras.Input((6, 5, 3)), layers.Conv2D(4, 2), layers.GlobalMaxPooling2D(), layers.Dense(2)], name="global_max")


MODEL_BUILDERS = {"zoo": sequential_model, "chain": functional_model, "graph": graph_model, "global_max": global_max_model}


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
        keras.backend.clear_session()  # Keras's automatic names (add, multiply, ...) restart, whatever ran before
        model = build(keras)
        randomise_weights(model)
        for keras_format in FORMATS:
            saved[name, keras_format] = (model, save(model, keras_format, folder))
    return saved


CASES = [(name, keras_format) for name in MODEL_BUILDERS for keras_format in FORMATS]


@pytest.mark.parametrize(("name", "keras_format"), CASES)
def test_imported_shapes_and_params_are_keras_own_node_by_node(saved_models, keras_nodes, name, keras_format):
    model, path = saved_models[name, keras_format]
    stack_info = load_model_file(path).stack.infer()
    nodes = keras_nodes(model)
    assert stack_info.valid
    assert [info.output_shape for info in stack_info.layers] == [tuple(node.output.shape[1:]) for node in nodes]
    assert [info.params for info in stack_info.layers] == [sum(math.prod(weight.shape) for weight in getattr(node, "weights", [])) for node in nodes]
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
    assert types == ["Conv2D", "Dropout", "Conv2D", "Activation", "MaxPooling2D", "ReLU", "GlobalAveragePooling2D", "Reshape", "BatchNormalization", "Dense", "Activation"]
    assert imported.stack.layers[5] == ReLU(negative_slope=0.3)
    assert imported.stack.layers[7] == Reshape((4,))
    assert any(note.startswith('layer 5 "leaky_re_lu') and note.endswith("imported as ReLU(negative_slope=0.3), which computes the same") for note in imported.notes)
    assert len(imported.notes) == 4  # SpatialDropout2D, ELU, LeakyReLU, Softmax


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


def test_tf_keras_2_merges_import_as_graph_nodes(tmp_path):
    merged = keras2_functional(
        keras2_layer("Conv2D", "a", ["input_1"], filters=1, kernel_size=[1, 1]),
        keras2_layer("Add", "add", ["input_1", "a"]),
        keras2_layer("Conv2D", "b", ["add"], filters=2, kernel_size=[3, 3]),
        output="add",
    )
    stack = load_model_file(write_json(merged, tmp_path / "merged.json")).stack
    assert stack.names == ("a", "add", "b")
    assert stack.inputs_of(1) == ("input", "a") and stack.layers[1] == Add()
    assert stack.outputs == ("add",)  # the model's output, not its last layer


def test_a_merge_of_one_tensor_which_keras_allows_is_named_with_what_convtui_needs(tmp_path):
    lone = keras2_functional(keras2_layer("Concatenate", "join", ["input_1"], axis=-1), output="join")
    message = import_error(write_json(lone, tmp_path / "lone.json"))
    assert 'layer 0 "join" (Concatenate): Concatenate takes at least 2 inputs, given 1 ("input")' in message


# --- graphs ---------------------------------------------------------------------------------


def test_sub_models_are_flattened_with_names_prefixed_only_where_taken(saved_models):
    stack = load_model_file(saved_models["graph", "keras"][1]).stack
    assert stack.names[:7] == ("stem", "block_conv", "norm", "squeeze", "gate_conv", "excite", "add")
    assert stack.inputs_of(stack.names.index("block_conv")) == ("stem",)
    assert stack.inputs_of(stack.names.index("excite")) == ("norm", "gate_conv")  # the gate's input is the block's output
    assert [stack.blocks[stack.names.index(name)] for name in ("stem", "block_conv", "norm", "squeeze", "excite")] == [None, "block", "block", "gate", "gate"]


def test_operations_come_as_catalogue_layers_with_their_constant(saved_models):
    imported = load_model_file(saved_models["graph", "h5"][1])  # the legacy .h5 leaves out which entries are operations
    stack = imported.stack
    operations = [stack.layers[stack.names.index(name)] for name in ("add", "multiply", "subtract", "true_divide")]
    assert operations == [Rescaling(1.0, 3.0), Rescaling(1.0 / 6.0), Rescaling(-1.0, 1.0), Rescaling(0.25)]
    residual = stack.names.index("add_1")
    assert stack.layers[residual] == Add() and stack.inputs_of(residual) == ("stem", "true_divide")
    assert 'layer 8 "subtract" (Subtract): the operation 1 - x imported as Rescaling(scale=-1, offset=1), which computes the same' in imported.notes
    assert f'layer {residual} "add_1" (Add): the operation a + b imported as Add(), which computes the same' in imported.notes
    renamed = '2 layers ("block_conv", "gate_conv"): its Keras name is another layer\'s too: renamed with its sub-model\'s name in front'
    assert imported.notes[0] == renamed  # the first layer renamed comes before the first operation
    assert any(note.endswith("x / 4 imported as Rescaling(scale=0.25, offset=0), which computes the same up to float32 rounding") for note in imported.notes)


def test_convtui_import_writes_the_graph_and_its_weights_at_the_input_shape_asked_for(saved_models, run_interop, tmp_path):
    path = saved_models["graph", "keras"][1]
    preset = tmp_path / "graph.toml"
    code, out, err = run_interop("import", path, "-o", preset, "--input-shape", "12,10,3")
    assert code == 0, err
    assert "imported at (12, 10, 3) instead of the file's (8, 8, 3)" in err
    reopened = load_preset(preset)
    imported = load_model_file(path, input_shape=(12, 10, 3))
    assert reopened == imported.stack and reopened.blocks == imported.stack.blocks
    images = np.random.default_rng(2).uniform(0, 1, (2, 12, 10, 3)).astype(np.float32)
    expected = forward(imported.stack, images, imported.weights).outputs[-1]
    np.testing.assert_array_equal(forward(reopened, images, load_weights(tmp_path / "graph.npz", reopened)).outputs[-1], expected)


def test_an_operation_with_a_number_is_rescaling_and_one_that_is_not_x_times_a_plus_b_is_refused():
    assert translate_operation("Subtract", ("x", (1.0, 2.0))).layer == Rescaling(1.0, (-1.0, -2.0))
    assert translate_operation("Multiply", (0.5, "x")).layer == Rescaling(0.5)
    assert translate_operation("TrueDivide", (2.0, "x")).reasons[0].startswith("the operation TrueDivide(2, x) is not in convtui's catalogue")
    assert translate_operation("Divide", ("x", "y")).layer is None


# --- what cannot be imported ----------------------------------------------------------------


def import_error(path: Path) -> str:
    with pytest.raises(ModelImportError) as caught:
        load_model_file(path)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_a_branching_model_imports(keras, tmp_path):
    layers = keras.layers
    image = keras.Input((8, 8, 3))
    stem = layers.Conv2D(4, 3, padding="same", name="stem")(image)
    joined = layers.Add(name="join")([layers.Conv2D(4, 1, name="left")(stem), layers.Conv2D(4, 1, name="right")(stem)])
    model = keras.Model(image, layers.Flatten(name="flat")(layers.LayerNormalization(name="norm")(joined)))
    stack_info = load_model_file(save(model, "keras", tmp_path)).stack.infer()
    assert [(info.name, info.inputs) for info in stack_info.layers] == [
        ("stem", ("input",)), ("left", ("stem",)), ("right", ("stem",)), ("join", ("left", "right")), ("norm", ("join",)), ("flat", ("norm",)),
    ]
    assert stack_info.total_params == model.count_params()


def test_what_cannot_be_imported_is_named_layer_by_layer_in_one_message(keras, tmp_path):
    layers = keras.layers
    first, second = keras.Input((8, 8, 3), name="first"), keras.Input((8, 8, 3), name="second")
    shared = layers.Conv2D(4, 1, name="shared")
    tower = keras.Sequential([keras.Input((8, 8, 4)), layers.Conv2D(4, 1, name="inside")], name="tower")
    x = layers.Add(name="both")([tower(shared(first)), tower(shared(second))])
    x = layers.Lambda(lambda tensor: tensor * 2, name="double")(x)
    x = layers.GaussianNoise(0.1, name="noise")(x)
    x = keras.ops.absolute(x)
    model = keras.Model([first, second], x)
    message = import_error(save(model, "json", tmp_path))
    assert message.startswith(
        f"{tmp_path / model.name}.json: cannot import 4 layers: the model: it has 2 inputs (first, second); convtui imports models with one input;"
        ' the model: its sub-model "tower" is shared: called 2 times; convtui imports each sub-model called once; '
    )
    assert 'layer 0 "shared" (Conv2D): it is shared: called 2 times; convtui imports each layer called once, so give each call its own layer' in message
    assert 'layer 3 "double" (Lambda): a Lambda layer runs Python code the file does not hold; rebuild that step from catalogue layers' in message
    assert 'layer 4 "noise" (GaussianNoise): not in convtui\'s catalogue' in message
    assert 'layer 5 "absolute" (Absolute): the operation Absolute(noise) is not in convtui\'s catalogue' in message
    assert "\n" not in message


def test_channels_first_is_refused_with_what_to_do(keras, tmp_path):
    model = keras.Sequential([keras.Input((3, 8, 8)), keras.layers.Conv2D(4, 3, data_format="channels_first", name="conv")])
    message = import_error(save(model, "json", tmp_path))
    assert 'layer 0 "conv" (Conv2D): data_format = "channels_first" is not supported' in message
    assert "rebuild the model with channels_last" in message


def test_an_input_of_unknown_size_is_imported_at_224_or_at_the_shape_asked_for(keras, tmp_path):
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3)])
    path = save(model, "json", tmp_path)
    imported = load_model_file(path)
    assert imported.stack.input_shape == (224, 224, 3)
    assert imported.notes[0] == "the model's input size is unknown (None, None, 3): imported at (224, 224, 3); give another with --input-shape H,W,C"
    assert load_model_file(path, input_shape=(32, 40, 3)).stack.infer().output_shape == (30, 38, 4)


def test_an_input_shape_asked_for_replaces_a_known_one_with_a_note(saved_models):
    imported = load_model_file(saved_models["global_max", "keras"][1], input_shape=(9, 9, 3))
    assert imported.stack.input_shape == (9, 9, 3)
    assert "imported at (9, 9, 3) instead of the file's (6, 5, 3)" in imported.notes


def test_an_input_without_a_size_at_all_says_how_to_give_one(tmp_path):
    sequential = {"class_name": "Sequential", "config": {"name": "unbuilt", "layers": [{"class_name": "Flatten", "config": {"name": "f"}}]}}
    message = import_error(write_json(sequential, tmp_path / "unbuilt.json"))
    assert "the model: its input shape is unknown; give one with --input-shape H,W,C" in message


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


def test_dir_lists_the_api_that_loads_on_first_use_and_each_name_resolves():
    listed = dir(convtui.interop)
    assert {"load_model_file", "save_imported", "export_source", "ImportedModel", "ModelImportError"} <= set(listed)
    assert set(convtui.interop.__all__) == {"MODEL_SUFFIXES", "is_model_file", *convtui.interop._LAZY}
    assert all(getattr(convtui.interop, name) is not None for name in convtui.interop.__all__)


def test_model_files_are_recognised_by_their_suffix():
    assert [is_model_file(name) for name in ("a.keras", "b.H5", "c.hdf5", "d.json", "e.toml", "lenet5")] == [True] * 4 + [False] * 2


def test_a_model_refused_as_a_whole_says_so_once(keras, tmp_path):
    """Only a model-level reason: no "the model:" after "cannot import the model", no second hint repeating the reason."""
    first, second = keras.Input((8, 8, 3), name="first"), keras.Input((8, 8, 3), name="second")
    model = keras.Model([first, second], keras.layers.Add(name="both")([first, second]), name="two_inputs")
    message = import_error(save(model, "json", tmp_path))
    assert message == f"{tmp_path / 'two_inputs.json'}: cannot import the model: it has 2 inputs (first, second); convtui imports models with one input"


def test_an_input_shape_the_weights_do_not_fit_says_to_drop_or_change_it(keras, tmp_path):
    """Flatten then Dense: at another input size the kernel's rows differ; the cause is --input-shape, not the model's layers."""
    model = keras.Sequential([keras.Input((10, 10, 1)), keras.layers.Conv2D(2, 3, name="conv"), keras.layers.Flatten(name="flat"), keras.layers.Dense(3, name="dense")], name="flat_dense")
    path = save(model, "keras", tmp_path)
    with pytest.raises(ModelImportError) as caught:
        load_model_file(path, input_shape=(12, 12, 1))
    message = str(caught.value)
    assert 'layer 2 "dense" (Dense): the file\'s weights have shapes [(128, 3), (3,)] but its kernel, bias need [(200, 3), (3,)]' in message
    assert message.endswith("the model was built for its input (10, 10, 1), and at (12, 12, 1) it does not fit: drop --input-shape, or give one it fits")
    assert "catalogue" not in message
