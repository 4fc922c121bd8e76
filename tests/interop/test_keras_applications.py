"""The 15 keras.applications families, built with random weights, saved as .keras and imported.

Each family at its default size and top: the imported stack has exactly Keras's trainable and
non-trainable totals and every node's output shape. Eight of them, at the smallest input Keras
allows and with a 10-class top, run through convtui's engine on their own weights (batch-norm
statistics made non-trivial first) to Keras's model.predict within 1e-3.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from interop_helpers import assert_close

from convtui.engine.forward import forward
from convtui.interop import load_model_file
from convtui.model.layers import Rescaling

FAMILIES = (
    "VGG16",
    "VGG19",
    "ResNet50",
    "ResNet50V2",
    "ResNet101",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Small",
    "MobileNetV3Large",
    "DenseNet121",
    "InceptionV3",
    "Xception",
    "EfficientNetB0",
    "EfficientNetV2B0",
    "ConvNeXtTiny",
)
SMALLEST_INPUTS = {
    "ResNet50": (32, 32, 3),
    "MobileNetV2": (32, 32, 3),
    "MobileNetV3Small": (32, 32, 3),
    "EfficientNetB0": (32, 32, 3),
    "DenseNet121": (32, 32, 3),
    "InceptionV3": (75, 75, 3),
    "Xception": (71, 71, 3),
    "ConvNeXtTiny": (32, 32, 3),
}
"""The families that run, at the smallest input Keras builds them for."""
UNKNOWN_SIZE = ("MobileNetV3Small", "MobileNetV3Large")
"""Saved with input (None, None, 3): imported at 224x224, or at the input_shape asked for."""


def weights_size(variables: list[Any]) -> int:
    return sum(math.prod(variable.shape) for variable in variables)


def randomise_statistics(model: Any, seed: int) -> None:
    """Trained-like normalisation: moving and adapted statistics, scales and shifts away from 0 and 1."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        kind = variable.path.rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if kind in ("moving_variance", "variance", "gamma"):
            variable.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        elif kind in ("moving_mean", "mean", "beta", "bias"):
            variable.assign(rng.normal(0.0, 0.2, shape).astype(np.float32))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_imports_with_keras_totals_and_output_shapes(keras, h5py, keras_nodes, tmp_path, family):
    build = getattr(keras.applications, family)
    model = build(weights=None)
    path = tmp_path / f"{family}.keras"
    model.save(path)
    totals = (model.count_params(), weights_size(model.trainable_weights), weights_size(model.non_trainable_weights))
    sized = build(weights=None, input_shape=(224, 224, 3)) if family in UNKNOWN_SIZE else model
    shapes = [tuple(node.output.shape[1:]) for node in keras_nodes(sized)]
    del model, sized

    imported = load_model_file(path)
    stack_info = imported.stack.infer()

    assert stack_info.valid
    assert (stack_info.total_params, stack_info.trainable_params, stack_info.non_trainable_params) == totals
    assert [info.output_shape for info in stack_info.layers] == shapes
    assert imported.weights is not None and len(imported.weights) == sum(1 for info in stack_info.layers if info.weights)
    if family in UNKNOWN_SIZE:
        assert imported.stack.input_shape == (224, 224, 3)
        assert "the model's input size is unknown (None, None, 3): imported at (224, 224, 3)" in imported.notes[0]


@pytest.fixture(scope="module")
def small_models(keras: ModuleType, h5py: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    """The running families at their smallest input, 10 logits, statistics randomised, saved once: family -> (model, path)."""
    folder = tmp_path_factory.mktemp("applications")
    keras.backend.clear_session()  # Keras's automatic names (add, re_lu, ...) start again from 0
    saved = {}
    for seed, (family, shape) in enumerate(SMALLEST_INPUTS.items()):
        input_shape = None if family in UNKNOWN_SIZE else shape
        model = getattr(keras.applications, family)(weights=None, input_shape=input_shape, classes=10, classifier_activation=None)
        randomise_statistics(model, seed)
        path = folder / f"{family}.keras"
        model.save(path)
        saved[family] = (model, path)
    return saved


@pytest.mark.parametrize("family", SMALLEST_INPUTS)
def test_families_run_through_the_engine_to_what_model_predict_gives(small_models, family):
    model, path = small_models[family]
    shape = SMALLEST_INPUTS[family]
    imported = load_model_file(path, input_shape=shape)
    images = np.random.default_rng(7).uniform(0.0, 1.0, (2, *shape)).astype(np.float32)

    logits = forward(imported.stack, images, imported.weights).outputs[-1]

    assert_close(logits, model.predict(images, verbose=0), tolerance=1e-3)


def test_blocks_come_from_the_keras_names_and_sub_models(small_models):
    def blocks(family: str) -> dict[str, str | None]:
        stack = load_model_file(small_models[family][1], input_shape=SMALLEST_INPUTS[family]).stack
        return dict(zip(stack.names, stack.blocks))

    resnet = blocks("ResNet50")
    assert resnet["conv2_block1_1_conv"] == resnet["conv2_block1_add"] == "conv2_block1"
    assert resnet["conv1_conv"] == "conv1" and resnet["predictions"] is None
    mobilenet = blocks("MobileNetV3Small")
    assert mobilenet["expanded_conv_1_expand"] == "expanded_conv_1"
    assert mobilenet["add"] == mobilenet["multiply"] == mobilenet["expanded_conv_squeeze_excite_mul"] == "expanded_conv"
    assert blocks("EfficientNetB0")["block2a_se_excite"] == "block2a"
    convnext = blocks("ConvNeXtTiny")
    assert convnext["convnext_tiny_stem_conv"] == "convnext_tiny_stem"  # a sub-model is its own block
    assert convnext["convnext_tiny_stage_0_block_0_layer_scale"] == "convnext_tiny_stage_0_block_0"


def test_operations_come_as_rescaling_with_their_constant_and_one_note_per_kind(small_models):
    imported = load_model_file(small_models["MobileNetV3Small"][1], input_shape=(32, 32, 3))
    stack = imported.stack
    plus_three, sixth = (stack.layers[stack.names.index(name)] for name in ("add", "multiply"))
    assert plus_three == Rescaling(1.0, 3.0) and "3" in plus_three.label
    assert sixth == Rescaling(1.0 / 6.0) and "6" in sixth.label
    assert stack.inputs_of(stack.names.index("expanded_conv_squeeze_excite_mul")) == ("re_lu", "multiply")
    assert [note for note in imported.notes if "x + 3" in note] == [
        '9 layers ("add", "add_1", "add_2" and 6 more): the operation x + 3 imported as Rescaling(scale=1, offset=3), which computes the same'
    ]
