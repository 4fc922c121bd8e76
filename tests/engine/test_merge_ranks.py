"""Elementwise merges of inputs of different ranks, as Keras 3 allows them: shapes lined up from the
last axis, a lower-rank input expanded just after the batch axis (the squeeze-excite gate straight
from a Dense, without a Reshape). Shapes and values against real Keras Functional models.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from test_graph_keras import keras_model

from convtui.engine import forward, initial_weights, merging
from convtui.errors import ShapeError
from convtui.model import Stack
from convtui.model.layers import (
    Activation,
    Add,
    Average,
    Conv2D,
    Dense,
    ElementwiseMerge,
    GlobalAveragePooling2D,
    Maximum,
    Minimum,
    Multiply,
    Reshape,
    Subtract,
    broadcast_shapes,
)
from convtui.model.layers.merging import rank_broadcast_text

RANK_COMBINATIONS = [
    ((4, 4, 3), (3,)),
    ((3,), (4, 4, 3)),
    ((4, 4, 3), (1,)),
    ((4, 4, 3), (4, 3)),
    ((4, 4, 3), (1, 3)),
    ((4, 1, 3), (5, 1)),
    ((4, 4, 3), (4, 1), (3,)),
    ((2, 4, 4, 3), (4, 3)),
    ((6,), (2, 6)),
    ((4, 4, 3), (4,)),
    ((4, 4, 3), (3, 3)),
    ((4, 4, 3), (3,), (2,)),
    ((2, 6), (3,)),
]
"""Shapes without the batch axis; the last four do not fit."""


def keras_output_shape(keras: ModuleType, merge: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[int, ...] | None:
    """What Keras's merge gives for inputs of these shapes, or None where it refuses them."""
    try:
        output = getattr(keras.layers, merge)()([keras.Input(shape) for shape in shapes])
    except ValueError as error:
        assert "incompatible shapes" in str(error)
        return None
    return tuple(output.shape[1:])


@pytest.mark.parametrize("shapes", RANK_COMBINATIONS, ids=str)
def test_shapes_of_any_ranks_broadcast_as_keras_merges_do(keras: ModuleType, shapes: tuple[tuple[int, ...], ...]) -> None:
    expected = keras_output_shape(keras, "Multiply", shapes)
    assert broadcast_shapes(shapes) == expected
    for merge in (Add(), Multiply(), Average(), Maximum(), Minimum(), *((Subtract(),) if len(shapes) == 2 else ())):
        if expected is None:
            with pytest.raises(ShapeError):
                merge.infer_inputs(shapes)
        else:
            assert merge.infer_inputs(shapes).output_shape == expected


def refusal(merge: ElementwiseMerge, *shapes: tuple[int, ...]) -> str:
    with pytest.raises(ShapeError) as caught:
        merge.infer_inputs(shapes, ("conv", "gate", "third")[: len(shapes)])
    return str(caught.value)


def test_a_gate_of_the_wrong_width_is_refused_naming_the_axis_and_what_to_change() -> None:
    message = refusal(Multiply(), (16, 16, 8), (4,))
    assert "conv gives (16, 16, 8), gate gives (4,)" in message
    assert "on the last axis the sides are 8 and 4" in message
    assert "make gate give 8 there (Dense(8) for a gate on the channels)" in message
    assert "same rank" not in message
    inner = refusal(Add(), (16, 16, 8), (3, 8))
    assert "on axis -2 the sides are 16 and 3" in inner and "make gate give 16 there" in inner and "Dense" not in inner


def test_maps_that_do_not_fit_keep_their_projection_advice_whatever_else_is_merged() -> None:
    assert "put a Conv2D(8, 1x1) after gate" in refusal(Add(), (16, 16, 8), (16, 16, 4))
    assert "put a Conv2D(8, 1x1) after gate" in refusal(Add(), (16, 16, 8), (16, 16, 4), (8,))
    assert "make third give 3 there, or Reshape it" in refusal(Maximum(), (4, 1, 8), (3, 8), (5, 8))


def test_a_lower_rank_input_says_how_it_is_laid_over_the_result() -> None:
    assert rank_broadcast_text((8,), (16, 16, 8)) == "the (8,) input is laid along the last axis, broadcast over 16x16"
    assert rank_broadcast_text((16, 8), (16, 16, 8)) == "the (16, 8) input is laid along the last 2 axes, broadcast over 16"
    assert rank_broadcast_text((16, 16, 8), (16, 16, 8)) is None


def test_the_engine_expands_a_lower_rank_batch_after_its_batch_axis() -> None:
    """With 4 images and a 4-pixel-wide map NumPy alone would line the gate's batch up with the columns."""
    rng = np.random.default_rng(0)
    maps, gate = rng.normal(size=(4, 3, 4, 4)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)
    np.testing.assert_array_equal(merging.multiply([maps, gate]), maps * gate[:, None, None, :])
    np.testing.assert_array_equal(merging.subtract([gate, maps]), gate[:, None, None, :] - maps)
    rows = rng.normal(size=(4, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(merging.add([gate, rows, maps]), gate[:, None, None, :] + rows[:, None] + maps)


def se_gate() -> Stack:
    """Squeeze-excite the EfficientNet way, minus the Reshape: the Dense's (C,) gate multiplies the map."""
    return Stack(
        (4, 4, 3),
        (Conv2D(4, 3, padding="same"), GlobalAveragePooling2D(), Dense(2, activation="relu"), Dense(4, activation="sigmoid"), Multiply()),
        name="se gate",
        inputs=(None, None, None, None, ("conv2d", "dense_1")),
    )


def map_plus_vector() -> Stack:
    """The Add and the activation after it run as one fused chain."""
    return Stack(
        (4, 4, 3),
        (Conv2D(4, 1), GlobalAveragePooling2D(), Dense(4), Add(), Activation(activation="relu")),
        name="map plus vector",
        inputs=(None, None, None, ("dense", "conv2d"), None),
    )


def three_ranks() -> Stack:
    """A map, a (W, C) sequence and a (C,) vector in one merge; the widest input is not the first."""
    return Stack(
        (4, 4, 3),
        (Conv2D(3, 1), GlobalAveragePooling2D(), Dense(12), Reshape(target_shape=(4, 3)), Dense(3), Maximum(), Average()),
        name="three ranks",
        inputs=(None, None, None, None, ("global_average_pooling2d",), ("dense_1", "reshape", "conv2d"), ("maximum", "dense_1")),
    )


@pytest.mark.parametrize("stack", [se_gate(), map_plus_vector(), three_ranks()], ids=lambda stack: stack.name)
def test_mixed_rank_merges_compute_what_a_keras_functional_model_computes(keras: ModuleType, stack: Stack) -> None:
    info = stack.infer()
    assert info.valid, info.first_invalid
    model = keras_model(keras, stack)
    weights = initial_weights(stack, 5)
    for layer_info in info.layers:
        assert tuple(model.get_layer(layer_info.name).output.shape[1:]) == layer_info.output_shape, layer_info.name
        if layer_info.weights:
            model.get_layer(layer_info.name).set_weights([weights[layer_info.index][weight.name] for weight in layer_info.weights])
    images = np.random.default_rng(1).uniform(-1, 1, (4, *stack.input_shape)).astype(np.float32)
    expected = model.predict(images, verbose=0)
    for layer_info, ours, theirs in zip(info.layers, forward(stack, images, weights).outputs, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=layer_info.name)
