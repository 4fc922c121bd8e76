"""Weights: Keras 3's initialisers from a seed, the "edges" filter bank, and .npz files.

Expected values come from Keras's documented semantics (keras/src/initializers: VarianceScaling
with compute_fans, TruncatedNormal cut at two standard deviations; BatchNormalization's
initial gamma 1, beta 0, moving mean 0, moving variance 1) and from the issue's description of
the filter bank, never from convtui's own output.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from convtui.engine import forward, initial_weights, load_weights
from convtui.engine.weights import load_weights_and_missing, save_arrays, weights_to_arrays
from convtui.errors import EngineError, LayerConfigError
from convtui.model.layers import (
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
    Flatten,
    Layer,
    LayerNormalization,
    LayerScale,
    MaxPooling2D,
    Normalization,
    SeparableConv2D,
)
from convtui.model import load_preset
from convtui.model.stack import Stack

# Keras's VarianceScaling divides the truncated normal's stddev by this constant (the stddev of a
# standard normal truncated to [-2, 2]) so that the samples keep the variance scale / fan.
TRUNCATED_STDDEV = 0.87962566103423978


def small_stack() -> Stack:
    """One of every weighted layer type, small."""
    return Stack(
        (10, 10, 3),
        (
            Conv2D(filters=6, kernel_size=3, padding="same", activation="relu"),
            BatchNormalization(),
            DepthwiseConv2D(kernel_size=3, depth_multiplier=2),
            SeparableConv2D(filters=5, kernel_size=3, padding="same"),
            Conv2DTranspose(filters=4, kernel_size=3, strides=2),
            MaxPooling2D(pool_size=2),
            Flatten(),
            Dense(units=7),
        ),
    )


def keras_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """keras.src.initializers.random_initializers.compute_fans, written from its documentation."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def only_weight(layer: Layer, input_shape: tuple[int, int, int], name: str, seed: int = 0) -> np.ndarray:
    return initial_weights(Stack(input_shape, (layer,)), seed)[0][name]


# ------------------------------------------------------------------------ seeds and editing


def test_the_same_seed_gives_identical_weights() -> None:
    first, second = initial_weights(small_stack(), 7), initial_weights(small_stack(), 7)
    assert first.keys() == second.keys()
    for index in first:
        assert first[index].keys() == second[index].keys()
        for name in first[index]:
            assert first[index][name].dtype == np.float32
            np.testing.assert_array_equal(first[index][name], second[index][name], err_msg=f"layer {index} {name}")


def test_a_stack_and_its_stack_info_give_the_same_weights() -> None:
    stack = small_stack()
    from_stack, from_info = initial_weights(stack, 3), initial_weights(stack.infer(), 3)
    for index in from_stack:
        for name in from_stack[index]:
            np.testing.assert_array_equal(from_stack[index][name], from_info[index][name])


def test_different_seeds_give_different_random_weights() -> None:
    first, second = initial_weights(small_stack(), 0), initial_weights(small_stack(), 1)
    random_names = {"kernel", "depthwise_kernel", "pointwise_kernel"}
    compared = 0
    for index in first:
        for name in first[index].keys() & random_names:
            assert not np.array_equal(first[index][name], second[index][name]), f"layer {index} {name}"
            compared += 1
    assert compared == 6  # Conv2D, DepthwiseConv2D, SeparableConv2D (two), Conv2DTranspose, Dense


def test_every_random_kernel_of_the_small_stack_is_compared() -> None:
    weights = initial_weights(small_stack(), 0)
    random_kernels = sorted((index, name) for index in weights for name in weights[index] if "kernel" in name)
    assert random_kernels == [
        (0, "kernel"),
        (2, "kernel"),
        (3, "depthwise_kernel"),
        (3, "pointwise_kernel"),
        (4, "kernel"),
        (7, "kernel"),
    ]


def test_layers_of_the_same_stack_draw_different_weights() -> None:
    """Two identical layers at different indices must not get the same kernel (one stream per layer)."""
    stack = Stack((8, 8, 4), (Conv2D(filters=4, kernel_size=3, padding="same"), Conv2D(filters=4, kernel_size=3, padding="same")))
    weights = initial_weights(stack, 0)
    assert not np.array_equal(weights[0]["kernel"], weights[1]["kernel"])


@pytest.mark.parametrize(
    "edited",
    [
        Conv2D(filters=8, kernel_size=3, padding="same", activation="tanh", kernel_initializer="he_normal"),
        Conv2D(filters=8, kernel_size=5, padding="same"),
        Conv2D(filters=8, kernel_size=3, padding="same", use_bias=False),
    ],
    ids=["initializer-and-activation", "kernel-size", "no-bias"],
)
def test_editing_one_layer_leaves_the_other_layers_weights_identical(edited: Layer) -> None:
    stack = Stack(
        (12, 12, 2),
        (
            Conv2D(filters=4, kernel_size=3, padding="same"),
            Conv2D(filters=8, kernel_size=3, padding="same"),
            BatchNormalization(),
            Conv2D(filters=3, kernel_size=3),
            Flatten(),
            Dense(units=5),
        ),
    )
    before = initial_weights(stack, 11)
    after = initial_weights(stack.with_layer(1, edited), 11)
    for index in (0, 2, 3, 5):
        assert before[index].keys() == after[index].keys()
        for name in before[index]:
            np.testing.assert_array_equal(before[index][name], after[index][name], err_msg=f"layer {index} {name}")
    expected_names = {"kernel", "bias"} if edited.use_bias else {"kernel"}
    assert set(after[1]) == expected_names
    assert after[1]["kernel"].shape == (*edited.kernel_size, 4, 8)


def test_a_layers_weights_do_not_depend_on_the_layers_after_it() -> None:
    head = Conv2D(filters=4, kernel_size=3)
    short = Stack((9, 9, 1), (head,))
    long = Stack((9, 9, 1), (head, Conv2D(filters=16, kernel_size=3), Flatten(), Dense(units=3)))
    np.testing.assert_array_equal(initial_weights(short, 5)[0]["kernel"], initial_weights(long, 5)[0]["kernel"])


# ------------------------------------------------------------------------ Keras's initialisers


def test_glorot_uniform_is_the_default_and_within_keras_limit_with_its_std() -> None:
    """Keras: limit = sqrt(6 / (fan_in + fan_out)), fans = receptive field * (in, out); std = limit / sqrt 3."""
    kernel = only_weight(Conv2D(filters=128, kernel_size=3), (8, 8, 64), "kernel")
    assert kernel.shape == (3, 3, 64, 128)
    fan_in, fan_out = 9 * 64, 9 * 128
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.99 * limit  # fills the whole interval, not a narrower one
    assert kernel.std() == pytest.approx(limit / math.sqrt(3), rel=0.01)
    assert abs(float(kernel.mean())) < 0.01 * limit


@pytest.mark.parametrize(
    ("layer", "input_shape", "name"),
    [
        (Conv2D(filters=16, kernel_size=(5, 3)), (9, 9, 6), "kernel"),
        (Conv2D(filters=12, kernel_size=3, groups=3), (9, 9, 6), "kernel"),
        (Dense(units=40), (1, 1, 300), "kernel"),
        (DepthwiseConv2D(kernel_size=5, depth_multiplier=3), (9, 9, 8), "kernel"),
        (SeparableConv2D(filters=20, kernel_size=3), (9, 9, 8), "pointwise_kernel"),
        (Conv2DTranspose(filters=10, kernel_size=4, strides=2), (5, 5, 30), "kernel"),
    ],
    ids=["conv", "grouped-conv", "dense", "depthwise", "pointwise", "transpose"],
)
def test_glorot_uniform_limits_follow_keras_fans_for_every_layout(layer: Layer, input_shape: tuple[int, int, int], name: str) -> None:
    kernel = only_weight(layer, input_shape, name)
    fan_in, fan_out = keras_fans(kernel.shape)
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit


KERAS_INITIALISERS = {
    # name: (scale, mode, distribution) as keras.initializers defines them
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}


@pytest.mark.parametrize("initializer", list(KERAS_INITIALISERS))
@pytest.mark.parametrize(
    ("make", "input_shape"),
    [
        (lambda init: Conv2D(filters=96, kernel_size=3, kernel_initializer=init), (6, 6, 80)),
        (lambda init: Conv2DTranspose(filters=40, kernel_size=3, kernel_initializer=init), (6, 6, 160)),
    ],
    ids=["conv", "transpose"],
)
def test_variance_scaling_initialisers_match_keras(initializer: str, make, input_shape: tuple[int, int, int]) -> None:
    """Uniform: within +-sqrt(3 * scale / fan); truncated normal: within 2 stddev, variance scale / fan.

    Conv2DTranspose's kernel is (kh, kw, filters, C_in): Keras's compute_fans still reads the last
    two axes as (in, out), so he_* and lecun_* use 9 * filters as fan_in there.
    """
    scale, mode, distribution = KERAS_INITIALISERS[initializer]
    kernel = only_weight(make(initializer), input_shape, "kernel", seed=2)
    assert kernel.dtype == np.float32
    fan_in, fan_out = keras_fans(kernel.shape)
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / fan
    if distribution == "uniform":
        limit = math.sqrt(3 * variance)
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.99 * limit
    else:
        stddev = math.sqrt(variance) / TRUNCATED_STDDEV
        assert np.abs(kernel).max() <= 2 * stddev * (1 + 1e-6)
        assert np.abs(kernel).max() > 1.95 * stddev  # truncated at 2 stddev, not before
    assert kernel.var() == pytest.approx(variance, rel=0.03)
    assert abs(float(kernel.mean())) < 0.02 * math.sqrt(variance)


def test_zeros_and_ones_initialisers() -> None:
    assert not only_weight(Conv2D(filters=4, kernel_size=3, kernel_initializer="zeros"), (5, 5, 2), "kernel").any()
    np.testing.assert_array_equal(only_weight(Conv2D(filters=4, kernel_size=3, kernel_initializer="ones"), (5, 5, 2), "kernel"), 1.0)


def test_biases_are_zero_and_batch_normalization_starts_as_keras() -> None:
    weights = initial_weights(small_stack(), 4)
    for index, name in ((0, "bias"), (2, "bias"), (3, "bias"), (4, "bias"), (7, "bias")):
        assert weights[index][name].dtype == np.float32
        assert not weights[index][name].any(), f"layer {index} bias"
    batch_norm = weights[1]
    assert set(batch_norm) == {"gamma", "beta", "moving_mean", "moving_variance"}
    for name, value in (("gamma", 1.0), ("beta", 0.0), ("moving_mean", 0.0), ("moving_variance", 1.0)):
        assert batch_norm[name].shape == (6,)
        assert batch_norm[name].dtype == np.float32
        np.testing.assert_array_equal(batch_norm[name], value)


def test_layer_normalization_layer_scale_and_normalization_start_as_keras_builds_them() -> None:
    """LayerNormalization: gamma ones, beta zeros; ConvNeXt's LayerScale: gamma = init_values
    (initializers.Constant); Normalization without statistics: mean 0, variance 1, count 0."""
    stack = Stack((4, 4, 3), (LayerNormalization(), LayerScale(init_values=1e-6, projection_dim=3), Normalization(axis=[1, 2])))
    for seed in (0, 9):
        weights = initial_weights(stack, seed)
        np.testing.assert_array_equal(weights[0]["gamma"], np.ones(3, np.float32))
        np.testing.assert_array_equal(weights[0]["beta"], np.zeros(3, np.float32))
        np.testing.assert_array_equal(weights[1]["gamma"], np.full(3, 1e-6, np.float32))
        assert {name: (array.shape, array.dtype) for name, array in weights[2].items()} == {
            "mean": ((4, 4), np.float32),
            "variance": ((4, 4), np.float32),
            "count": ((), np.float32),
        }
        np.testing.assert_array_equal(weights[2]["mean"], 0.0)
        np.testing.assert_array_equal(weights[2]["variance"], 1.0)
        assert weights[2]["count"] == 0


def test_weights_have_keras_shapes_and_layers_without_weights_have_none() -> None:
    weights = initial_weights(small_stack(), 0)
    assert {name: array.shape for name, array in weights[0].items()} == {"kernel": (3, 3, 3, 6), "bias": (6,)}
    assert {name: array.shape for name, array in weights[2].items()} == {"kernel": (3, 3, 6, 2), "bias": (12,)}
    assert {name: array.shape for name, array in weights[3].items()} == {
        "depthwise_kernel": (3, 3, 12, 1),
        "pointwise_kernel": (1, 1, 12, 5),
        "bias": (5,),
    }
    assert {name: array.shape for name, array in weights[4].items()} == {"kernel": (3, 3, 4, 5), "bias": (4,)}
    # 10x10x3 -> same 10x10x6 -> depthwise valid 8x8x12 -> separable same 8x8x5 -> transpose (s=2, k=3) 17x17x4
    # -> pool 8x8x4 -> flatten 256
    assert {name: array.shape for name, array in weights[7].items()} == {"kernel": (256, 7), "bias": (7,)}
    for index in (5, 6):
        assert not weights.get(index)


# ------------------------------------------------------------------------ the "edges" bank

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
SOBEL_Y = SOBEL_X.T
LAPLACIAN = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], np.float64)
BOX = np.full((3, 3), 1 / 9)
IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float64)
SHARPEN = 2 * IDENTITY - BOX
# The issue lists the bank as "Sobel x and y, Laplacian, box blur, sharpen, identity, ...".
BANK_START = [SOBEL_X, SOBEL_Y, LAPLACIAN, BOX, SHARPEN, IDENTITY]


def test_edges_on_conv2d_is_the_classic_bank_divided_by_input_channels() -> None:
    kernel = only_weight(Conv2D(filters=6, kernel_size=3, kernel_initializer="edges"), (8, 8, 3), "kernel")
    assert kernel.shape == (3, 3, 3, 6)
    assert kernel.dtype == np.float32
    for index, expected in enumerate(BANK_START):
        for channel in range(3):
            np.testing.assert_allclose(kernel[:, :, channel, index], expected / 3, rtol=1e-6, atol=1e-7, err_msg=f"filter {index}")


def test_edges_does_not_depend_on_the_seed_and_keeps_biases_zero() -> None:
    layer = Conv2D(filters=10, kernel_size=3, kernel_initializer="edges")
    first = initial_weights(Stack((8, 8, 2), (layer,)), 0)[0]
    second = initial_weights(Stack((8, 8, 2), (layer,)), 99)[0]
    np.testing.assert_array_equal(first["kernel"], second["kernel"])
    assert not first["bias"].any()


def test_edges_past_the_end_of_the_bank_repeats_with_the_sign_flipped() -> None:
    kernel = only_weight(Conv2D(filters=30, kernel_size=3, kernel_initializer="edges"), (8, 8, 1), "kernel")
    bank = [kernel[:, :, 0, index] for index in range(30)]
    size = next(index for index in range(1, 30) if np.allclose(bank[index], -bank[0]))
    assert size >= 8  # the bank has at least the eight filters it names
    for index in range(size):
        np.testing.assert_allclose(bank[size + index], -bank[index], atol=1e-7)
        if 2 * size + index < 30:
            np.testing.assert_allclose(bank[2 * size + index], bank[index], atol=1e-7)
    # every filter of one round differs from every other: a bank, not repeats
    for a in range(size):
        for b in range(a + 1, size):
            assert not np.allclose(bank[a], bank[b]), (a, b)


@pytest.mark.parametrize("kernel_size", [(5, 5), (3, 5), (7, 7)])
def test_edges_at_other_sizes_keep_each_filters_meaning(kernel_size: tuple[int, int]) -> None:
    kernel = only_weight(Conv2D(filters=6, kernel_size=kernel_size, kernel_initializer="edges"), (9, 9, 1), "kernel")
    sobel_x, sobel_y, laplacian, box, sharpen, identity = (kernel[:, :, 0, index].astype(np.float64) for index in range(6))
    height, width = kernel_size
    centre = (height // 2, width // 2)
    np.testing.assert_allclose(sobel_x, -sobel_x[:, ::-1], atol=1e-7)  # left-right antisymmetric
    np.testing.assert_allclose(sobel_x, sobel_x[::-1, :], atol=1e-7)
    assert (sobel_x[:, -1] > 0).all() and (sobel_x[:, 0] < 0).all()
    np.testing.assert_allclose(sobel_y, -sobel_y[::-1, :], atol=1e-7)
    assert (sobel_y[-1] > 0).all() and (sobel_y[0] < 0).all()
    assert laplacian.sum() == pytest.approx(0, abs=1e-6)
    assert laplacian[centre] < 0 and (np.delete(laplacian.ravel(), centre[0] * width + centre[1]) > 0).all()
    np.testing.assert_allclose(box, 1 / (height * width), rtol=1e-6)
    assert sharpen.sum() == pytest.approx(1, abs=1e-6)
    expected_identity = np.zeros(kernel_size)
    expected_identity[centre] = 1
    np.testing.assert_array_equal(identity, expected_identity)


def test_edges_filters_respond_as_their_names_say() -> None:
    """On a vertical step (dark left, bright right), Sobel x fires on the edge, Sobel y stays silent,
    identity returns the image, box blur keeps flat regions."""
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[:, :, 4:] = 1.0
    stack = Stack((8, 8, 1), (Conv2D(filters=6, kernel_size=3, kernel_initializer="edges"),))
    output = forward(stack, image).outputs[0][0]  # valid: columns 0..5 of the map are image columns 1..6
    sobel_x, sobel_y, laplacian, box, _, identity = (output[:, :, index] for index in range(6))
    np.testing.assert_allclose(sobel_x[:, 2], 4.0, rtol=1e-6)  # window columns 2..4: step between 3 and 4
    np.testing.assert_allclose(sobel_x[:, 3], 4.0, rtol=1e-6)
    np.testing.assert_allclose(sobel_x[:, [0, 1, 4, 5]], 0.0, atol=1e-6)
    np.testing.assert_allclose(sobel_y, 0.0, atol=1e-6)
    np.testing.assert_allclose(laplacian[:, [0, 1, 4, 5]], 0.0, atol=1e-6)
    np.testing.assert_allclose(box[:, [0, 5]], [0.0, 1.0] * np.ones((6, 1)), atol=1e-6)
    np.testing.assert_allclose(identity, image[0, 1:7, 1:7, 0], atol=1e-7)


def test_edges_on_depthwise_conv2d_gives_each_channel_the_bank() -> None:
    """(kh, kw, C, depth_multiplier): channel c, multiplier m gets bank filter m (no sum over channels, no division)."""
    kernel = only_weight(DepthwiseConv2D(kernel_size=3, depth_multiplier=4, kernel_initializer="edges"), (8, 8, 3), "kernel")
    assert kernel.shape == (3, 3, 3, 4)
    for multiplier, expected in enumerate(BANK_START[:4]):
        for channel in range(3):
            np.testing.assert_allclose(kernel[:, :, channel, multiplier], expected, rtol=1e-6, atol=1e-7)


def test_edges_on_conv2d_transpose_uses_its_filters_axis() -> None:
    """Conv2DTranspose's kernel is (kh, kw, filters, C_in): filter o is bank o over the C_in channels."""
    kernel = only_weight(Conv2DTranspose(filters=5, kernel_size=3, kernel_initializer="edges"), (6, 6, 2), "kernel")
    assert kernel.shape == (3, 3, 5, 2)
    for output, expected in enumerate(BANK_START[:5]):
        for channel in range(2):
            np.testing.assert_allclose(kernel[:, :, output, channel], expected / 2, rtol=1e-6, atol=1e-7)


def test_edges_on_separable_conv2d_fills_the_depthwise_kernel_and_keeps_glorot_pointwise() -> None:
    weights = initial_weights(Stack((8, 8, 2), (SeparableConv2D(filters=6, kernel_size=3, depth_multiplier=2, kernel_initializer="edges"),)), 0)[0]
    depthwise, pointwise = weights["depthwise_kernel"], weights["pointwise_kernel"]
    for multiplier in range(2):
        for channel in range(2):
            np.testing.assert_allclose(depthwise[:, :, channel, multiplier], BANK_START[multiplier], rtol=1e-6, atol=1e-7)
    limit = math.sqrt(6 / (4 + 6))
    assert pointwise.shape == (1, 1, 4, 6)
    assert np.abs(pointwise).max() <= limit and np.unique(pointwise).size == pointwise.size


def test_edges_is_refused_on_dense() -> None:
    with pytest.raises(LayerConfigError):
        Dense(units=4, kernel_initializer="edges")


# ------------------------------------------------------------------------ .npz files


def test_save_then_load_gives_the_same_arrays(tmp_path: Path) -> None:
    stack = small_stack()
    weights = initial_weights(stack, 21)
    path = save_arrays(weights_to_arrays(weights), tmp_path / "w.npz")
    with np.load(path) as archive:
        assert set(archive.files) == {f"layers.{index}.{name}" for index in weights for name in weights[index]}
    loaded = load_weights(path, stack, seed=0)  # another seed: nothing may come from it
    assert loaded.keys() == weights.keys()
    for index in weights:
        assert loaded[index].keys() == weights[index].keys()
        for name in weights[index]:
            assert loaded[index][name].dtype == np.float32
            np.testing.assert_array_equal(loaded[index][name], weights[index][name])


def test_a_hand_written_npz_in_float64_is_loaded_as_float32(tmp_path: Path) -> None:
    stack = Stack((6, 6, 2), (Conv2D(filters=3, kernel_size=3), BatchNormalization()))
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 3))
    statistics = {"gamma": [1.5, 2.0, 0.5], "beta": [0.1, -0.2, 0.3], "moving_mean": [1, 2, 3], "moving_variance": [4, 5, 6]}
    np.savez(tmp_path / "w.npz", **{"layers.0.kernel": kernel}, **{f"layers.1.{name}": np.array(value, np.float64) for name, value in statistics.items()})
    loaded = load_weights(tmp_path / "w.npz", stack)
    np.testing.assert_array_equal(loaded[0]["kernel"], kernel.astype(np.float32))
    assert loaded[0]["kernel"].dtype == np.float32
    for name, value in statistics.items():
        np.testing.assert_array_equal(loaded[1][name], np.array(value, np.float32))


def test_keras_2s_depthwise_kernel_name_loads_as_keras_3s_kernel(tmp_path: Path) -> None:
    """Keras 2 named DepthwiseConv2D's weight depthwise_kernel; Keras 3 calls it kernel. Only that layer renames it."""
    stack = Stack((6, 6, 2), (DepthwiseConv2D(kernel_size=3, depth_multiplier=2), SeparableConv2D(filters=3, kernel_size=1)))
    kernel = np.arange(3 * 3 * 2 * 2, dtype=np.float32).reshape(3, 3, 2, 2)
    np.savez(tmp_path / "keras2.npz", **{"layers.0.depthwise_kernel": kernel})
    loaded, missing = load_weights_and_missing(tmp_path / "keras2.npz", stack)
    np.testing.assert_array_equal(loaded[0]["kernel"], kernel)
    assert "depthwise_kernel" not in loaded[0]
    assert "layers.0.kernel" not in missing and "layers.0.bias" in missing
    separable = np.full((1, 1, 4, 1), 2.0, np.float32)  # SeparableConv2D keeps the name depthwise_kernel in Keras 3
    np.savez(tmp_path / "separable.npz", **{"layers.1.depthwise_kernel": separable})
    np.testing.assert_array_equal(load_weights(tmp_path / "separable.npz", stack)[1]["depthwise_kernel"], separable)
    np.savez(tmp_path / "wrong.npz", **{"layers.0.depthwise_kernel": kernel[:2]})
    assert "(2, 3, 2, 2)" in load_error(tmp_path / "wrong.npz", stack)


def test_a_missing_key_is_initialised_from_the_seed(tmp_path: Path) -> None:
    stack = small_stack()
    bias = np.arange(6, dtype=np.float32)
    np.savez(tmp_path / "w.npz", **{"layers.0.bias": bias})
    for seed in (0, 5):
        loaded = load_weights(tmp_path / "w.npz", stack, seed=seed)
        fresh = initial_weights(stack, seed)
        np.testing.assert_array_equal(loaded[0]["bias"], bias)
        np.testing.assert_array_equal(loaded[0]["kernel"], fresh[0]["kernel"])
        for index in (2, 3, 4, 7):
            for name in fresh[index]:
                np.testing.assert_array_equal(loaded[index][name], fresh[index][name])
    assert not np.array_equal(load_weights(tmp_path / "w.npz", stack, 0)[0]["kernel"], load_weights(tmp_path / "w.npz", stack, 5)[0]["kernel"])


def test_run_save_keys_input_and_outputs_are_accepted_and_ignored(tmp_path: Path) -> None:
    stack = Stack((6, 6, 1), (Conv2D(filters=2, kernel_size=3), Flatten(), Dense(units=3)))
    kernel = np.ones((3, 3, 1, 2), np.float32)
    np.savez(
        tmp_path / "run.npz",
        input=np.zeros((1, 6, 6, 1), np.float32),
        **{"layers.0.output": np.zeros((1, 4, 4, 2)), "layers.1.output": np.zeros((1, 32)), "layers.2.output": np.zeros((1, 3))},
        **{"layers.0.kernel": kernel},
    )
    loaded = load_weights(tmp_path / "run.npz", stack, seed=0)
    np.testing.assert_array_equal(loaded[0]["kernel"], kernel)
    assert set(loaded[0]) == {"kernel", "bias"}
    assert 1 not in loaded or not loaded[1]
    np.testing.assert_array_equal(loaded[2]["kernel"], initial_weights(stack, 0)[2]["kernel"])


def load_error(path: Path, stack: Stack) -> str:
    with pytest.raises(EngineError) as caught:
        load_weights(path, stack)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


SEED_LIKE = Stack((8, 8, 1), (Conv2D(filters=4, kernel_size=3, activation="relu"), MaxPooling2D(pool_size=2), Flatten(), Dense(units=2)))


@pytest.mark.parametrize(
    ("key", "array", "words"),
    [
        ("layers.0.kernel", np.zeros((3, 3, 1, 5)), ["(3, 3, 1, 5)", "(3, 3, 1, 4)"]),
        ("layers.0.kernel", np.zeros((4, 3, 3, 1)), ["(4, 3, 3, 1)", "(3, 3, 1, 4)"]),
        ("layers.3.bias", np.zeros(3), ["(3,)", "(2,)"]),
        ("layers.0.gamma", np.zeros(4), ["gamma"]),
        ("layers.1.kernel", np.zeros((3, 3, 1, 4)), ["layer 1"]),
        ("layers.9.kernel", np.zeros((3, 3, 1, 4)), ["9"]),
        ("layers.x.kernel", np.zeros(4), []),
        ("conv1/kernel:0", np.zeros(4), []),
        ("kernel", np.zeros(4), []),
        ("layers.0.bias", np.array([0.0, np.nan, 0.0, 0.0]), []),
        ("layers.0.bias", np.array([0.0, np.inf, 0.0, 0.0]), []),
        ("layers.0.bias", np.array(["a", "b", "c", "d"]), []),
    ],
    ids=[
        "wrong-filters",
        "torch-layout",
        "dense-bias",
        "no-such-weight",
        "layer-without-weights",
        "index-out-of-range",
        "index-not-a-number",
        "keras-h5-name",
        "no-layer-prefix",
        "nan",
        "inf",
        "strings",
    ],
)
def test_a_bad_key_is_an_engine_error_naming_the_file_and_the_key(tmp_path: Path, key: str, array: np.ndarray, words: list[str]) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **{key: array})
    message = load_error(path, SEED_LIKE)
    assert key in message
    for word in words:
        assert word in message


def test_a_missing_file_is_an_engine_error(tmp_path: Path) -> None:
    load_error(tmp_path / "absent.npz", SEED_LIKE)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip file at all", b"PK\x03\x04 truncated zip header"],
    ids=["empty", "text", "broken-zip-header"],
)
def test_a_file_that_is_not_an_npz_is_an_engine_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.npz"
    path.write_bytes(content)
    load_error(path, SEED_LIKE)


def test_a_truncated_npz_is_an_engine_error(tmp_path: Path) -> None:
    """An .npz cut short (an interrupted download or copy) must be a clear error, not a zipfile traceback."""
    whole = tmp_path / "whole.npz"
    save_arrays(weights_to_arrays(initial_weights(SEED_LIKE, 0)), whole)
    data = whole.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    load_error(truncated, SEED_LIKE)


def test_a_zip_whose_members_are_not_arrays_is_an_engine_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("layers.0.bias.npy", b"this is not an npy array")
    load_error(path, SEED_LIKE)


def test_an_npy_array_given_as_weights_is_an_engine_error(tmp_path: Path) -> None:
    """A single array saved with numpy.save is not a weights file: one clear error, not a TypeError."""
    path = tmp_path / "kernel.npy"
    np.save(path, np.zeros((3, 3, 1, 4), np.float32))
    load_error(path, SEED_LIKE)


def test_a_folder_given_as_weights_is_an_engine_error(tmp_path: Path) -> None:
    load_error(tmp_path, SEED_LIKE)


def test_save_arrays_to_an_unwritable_place_is_an_engine_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "w.npz"
    with pytest.raises(EngineError) as caught:
        save_arrays({"layers.0.bias": np.zeros(2, np.float32)}, target)
    assert str(target) in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_inserting_a_layer_leaves_every_other_layers_initial_weights_alone() -> None:
    """Each layer's stream follows its name, so an edit above it does not re-seed it."""
    stack = load_preset("seed-28x28x1")
    before = initial_weights(stack, 3)
    after = initial_weights(stack.with_inserted(1, MaxPooling2D(pool_size=1)), 3)
    np.testing.assert_array_equal(after[0]["kernel"], before[0]["kernel"])
    np.testing.assert_array_equal(after[2]["kernel"], before[1]["kernel"])
    assert not np.array_equal(initial_weights(stack, 4)[1]["kernel"], before[1]["kernel"])


def test_a_weight_of_another_shape_says_what_to_do(tmp_path: Path) -> None:
    """A Dense kernel made at another input size: the message says the file fits another stack or input shape."""
    np.savez(tmp_path / "other.npz", **{"layers.3.kernel": np.zeros((50, 2))})
    message = load_error(tmp_path / "other.npz", SEED_LIKE)
    assert message.endswith("the file was made for another stack or input shape; use it with the ones it was made for, or without these weights")


# --- which weights a run starts from (the commands and the API alike) ------------------------


def test_chosen_weights_take_the_given_file_then_the_presets_file_then_the_seed(tmp_path: Path) -> None:
    from convtui.engine.weights import chosen_weights

    (tmp_path / "net.toml").write_text('input_shape = [8, 8, 1]\nweights = "named.npz"\nseed = 7\n\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 3\n')
    stack = load_preset(tmp_path / "net.toml")
    named, given = initial_weights(stack.infer(), 1), initial_weights(stack.infer(), 2)
    save_arrays({"layers.0.kernel": named[0]["kernel"]}, tmp_path / "named.npz")
    save_arrays(weights_to_arrays(given), tmp_path / "given.npz")
    by_file = chosen_weights(stack, path=tmp_path / "given.npz")
    assert np.array_equal(by_file.weights[0]["kernel"], given[0]["kernel"]) and by_file.missing == () and by_file.note is None
    by_preset = chosen_weights(stack)
    assert np.array_equal(by_preset.weights[0]["kernel"], named[0]["kernel"]) and by_preset.seed == 7
    assert by_preset.note == f"{tmp_path / 'named.npz'} lacks 1 weight(s), initialised from seed 7: layers.0.bias"
    by_seed = chosen_weights(stack.infer(), seed=3)
    assert by_seed.path is None and np.array_equal(by_seed.weights[0]["kernel"], initial_weights(stack.infer(), 3)[0]["kernel"])


def test_load_weights_fills_what_a_file_lacks_from_the_stacks_own_seed(tmp_path: Path) -> None:
    (tmp_path / "net.toml").write_text('input_shape = [8, 8, 1]\nseed = 7\n\n[[layers]]\ntype = "Dense"\nunits = 2\n')
    stack = load_preset(tmp_path / "net.toml")
    save_arrays({"layers.0.bias": np.ones(2, np.float32)}, tmp_path / "bias.npz")
    assert np.array_equal(load_weights(tmp_path / "bias.npz", stack)[0]["kernel"], initial_weights(stack.infer(), 7)[0]["kernel"])
