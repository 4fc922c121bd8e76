"""The forward pass: every layer's output kept, batches, the memory guard, cancellation, progress, errors.

Layer arithmetic is cross-checked against PyTorch in test_forward_torch.py; here the expected
values are shapes from `Stack.infer()` (Keras's shape rules), single-image runs, and formulas
written out in NumPy float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from convtui.engine import DEFAULT_MAX_MEMORY, ForwardCancelled, forward, initial_weights
from convtui.engine.forward import check_memory
from convtui.engine.runners import Context
from convtui.errors import EngineError
from convtui.model.layers import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
    ReLU,
    UpSampling2D,
)
from convtui.model.preset import builtin_preset_names, load_preset
from convtui.model.stack import Stack

SEED = load_preset("seed-28x28x1")


def random_images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def mixed_stack() -> Stack:
    """Small, with every kind of computation: convolutions (im2col and Winograd), BN, pools, Dense."""
    return Stack(
        (12, 12, 3),
        (
            Conv2D(filters=16, kernel_size=3, padding="same", activation="relu"),
            Conv2D(filters=16, kernel_size=3, padding="same"),  # 16 input channels: Winograd territory
            BatchNormalization(),
            ReLU(max_value=6),
            DepthwiseConv2D(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
            AveragePooling2D(pool_size=3, strides=2, padding="same"),
            UpSampling2D(size=2, interpolation="bilinear"),
            MaxPooling2D(pool_size=2),
            Dropout(rate=0.5),
            Flatten(),
            Dense(units=5, activation="softmax"),
        ),
    )


# ------------------------------------------------------------------------ shapes of every preset

# VGG16 is run at 32x32x3 (five poolings still leave 1x1): at 224x224 its forward and 138M weights cost seconds.
PRESET_INPUTS = {"vgg16": (32, 32, 3)}


@pytest.mark.parametrize("name", builtin_preset_names())
def test_every_preset_keeps_every_output_with_the_inferred_shape(name: str) -> None:
    stack = load_preset(name)
    if name in PRESET_INPUTS:
        stack = stack.with_input_shape(PRESET_INPUTS[name])
    stack_info = stack.infer()
    assert stack_info.valid
    result = forward(stack, random_images(stack_info.input_shape))
    assert result.input.shape == (1, *stack_info.input_shape)
    assert result.input.dtype == np.float32
    assert len(result.outputs) == len(stack_info.layers)
    for info, output in zip(stack_info.layers, result.outputs):
        assert output.dtype == np.float32, f"layer {info.index} {info.layer.label}"
        assert output.shape == (1, *info.output_shape), f"layer {info.index} {info.layer.label}"
        assert np.isfinite(output).all(), f"layer {info.index} {info.layer.label}"


def test_the_preset_list_is_what_this_file_expects() -> None:
    assert set(PRESET_INPUTS) <= set(builtin_preset_names())
    assert "seed-28x28x1" in builtin_preset_names()


def test_an_unbatched_image_gets_a_batch_axis_and_float32() -> None:
    image = random_images((28, 28, 1)).astype(np.float64)
    result = forward(SEED, image)
    assert result.input.shape == (1, 28, 28, 1)
    assert result.input.dtype == np.float32
    np.testing.assert_array_equal(result.input[0], image.astype(np.float32))
    assert [output.shape for output in result.outputs] == [(1, 26, 26, 32), (1, 24, 24, 64)]


def test_a_read_only_image_is_accepted_and_left_unchanged() -> None:
    image = random_images((1, 12, 12, 3))
    image.flags.writeable = False
    copy = image.copy()
    forward(mixed_stack(), image)
    np.testing.assert_array_equal(image, copy)


def test_outputs_of_earlier_layers_are_not_overwritten_by_later_ones() -> None:
    """Scratch buffers are shared between layers; the kept outputs must not be among them."""
    stack = mixed_stack()
    image = random_images((2, 12, 12, 3), seed=4)
    weights = initial_weights(stack, 0)
    full = forward(stack, image, weights)
    for cut in range(1, len(stack.layers)):
        prefix = Stack(stack.input_shape, stack.layers[:cut])
        partial = forward(prefix, image, {index: named for index, named in weights.items() if index < cut})
        np.testing.assert_array_equal(partial.outputs[-1], full.outputs[cut - 1], err_msg=f"layer {cut - 1}")


# ------------------------------------------------------------------------ batches


@pytest.mark.parametrize("stack", [SEED, mixed_stack()], ids=["seed", "mixed"])
def test_a_batch_of_n_images_equals_n_single_runs(stack: Stack) -> None:
    images = random_images((4, *stack.input_shape), seed=1)
    weights = initial_weights(stack, 3)
    batched = forward(stack, images, weights)
    for number in range(4):
        single = forward(stack, images[number], weights)
        for index, (together, alone) in enumerate(zip(batched.outputs, single.outputs)):
            assert together.shape[0] == 4
            scale = max(float(np.abs(alone).max()), 1e-6)
            np.testing.assert_allclose(together[number], alone[0], rtol=1e-5, atol=1e-6 * scale, err_msg=f"image {number}, layer {index}")


def test_weights_default_to_the_seeds() -> None:
    image = random_images((28, 28, 1))
    by_seed = forward(SEED, image, seed=5)
    explicit = forward(SEED, image, initial_weights(SEED, 5))
    for ours, theirs in zip(by_seed.outputs, explicit.outputs):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(by_seed.weights[0]["kernel"], initial_weights(SEED, 5)[0]["kernel"])
    other_seed = forward(SEED, image, seed=6)
    assert not np.array_equal(other_seed.outputs[-1], by_seed.outputs[-1])


def test_a_shared_context_follows_new_weights() -> None:
    """The context caches transformed filters; new weight arrays must never be run with stale ones."""
    stack = Stack((10, 10, 16), (Conv2D(filters=16, kernel_size=3, padding="same"), Conv2D(filters=8, kernel_size=3)))
    image = random_images((1, 10, 10, 16))
    context = Context()
    for seed in (0, 1, 2, 0):
        weights = initial_weights(stack, seed)
        shared = forward(stack, image, weights, context=context)
        fresh = forward(stack, image, weights, context=Context())
        for index, (ours, theirs) in enumerate(zip(shared.outputs, fresh.outputs)):
            np.testing.assert_array_equal(ours, theirs, err_msg=f"seed {seed}, layer {index}")


# ------------------------------------------------------------------------ memory guard


def big_late_layer_stack() -> Stack:
    """Layer 0's output is 16 KiB; layer 1's is 2 MiB: a 1 MiB budget is crossed at layer 1."""
    return Stack((32, 32, 1), (Conv2D(filters=4, kernel_size=3, padding="same"), Conv2D(filters=512, kernel_size=1), Flatten()))


def test_the_default_budget_is_two_gib() -> None:
    assert DEFAULT_MAX_MEMORY == 2 * 2**30


def test_the_memory_guard_refuses_and_names_the_layer_that_crosses_the_budget() -> None:
    progress: list[tuple[int, int]] = []
    with pytest.raises(EngineError) as caught:
        forward(big_late_layer_stack(), random_images((32, 32, 1)), max_memory=2**20, on_layer=lambda *done: progress.append(done))
    error = caught.value
    assert error.layer_index == 1
    assert "layer 1" in str(error)
    assert "--max-memory" in str(error)
    assert progress == []  # refused before running anything


def test_the_memory_guard_accepts_a_budget_that_suffices() -> None:
    result = forward(big_late_layer_stack(), random_images((32, 32, 1)), max_memory=64 * 2**20)
    assert result.outputs[1].shape == (1, 32, 32, 512)


def test_the_memory_guard_counts_the_batch() -> None:
    stack = big_late_layer_stack()
    forward(stack, random_images((1, 32, 32, 1)), max_memory=16 * 2**20)
    with pytest.raises(EngineError) as caught:
        forward(stack, np.zeros((16, 32, 32, 1), np.float32), max_memory=16 * 2**20)  # 16 x 2 MiB of layer 1 alone
    assert caught.value.layer_index == 1


def test_the_memory_guard_refuses_an_input_over_the_budget_even_without_layers() -> None:
    with pytest.raises(EngineError, match=r"the input \(600, 600, 1\) alone takes 1.37 MB, over the 1.00 MB budget"):
        check_memory(Stack((600, 600, 1), ()).infer(), 1, 2**20)
    check_memory(Stack((500, 500, 1), ()).infer(), 1, 2**20)  # 0.95 MiB: within it


def test_the_default_budget_accepts_the_seed_net() -> None:
    result = forward(SEED, random_images((28, 28, 1)))
    assert result.outputs[-1].shape == (1, 24, 24, 64)


def test_the_default_budget_refuses_a_stack_over_two_gib() -> None:
    # 512x512x2048 float32 outputs alone are 2 GiB.
    stack = Stack((512, 512, 3), (Conv2D(filters=8, kernel_size=1), Conv2D(filters=2048, kernel_size=1)))
    with pytest.raises(EngineError) as caught:
        forward(stack, np.zeros((512, 512, 3), np.float32))
    assert caught.value.layer_index == 1


# ------------------------------------------------------------------------ cancellation and progress


def test_should_stop_true_cancels_before_the_first_layer() -> None:
    progress: list[tuple[int, int]] = []
    with pytest.raises(ForwardCancelled):
        forward(SEED, random_images((28, 28, 1)), should_stop=lambda: True, on_layer=lambda *done: progress.append(done))
    assert progress == []


def test_should_stop_is_asked_between_layers() -> None:
    answers = iter([False, False, True] + [True] * 20)
    progress: list[tuple[int, int]] = []
    stack = mixed_stack()
    with pytest.raises(ForwardCancelled):
        forward(stack, random_images((12, 12, 3)), should_stop=lambda: next(answers), on_layer=lambda *done: progress.append(done))
    assert progress == [(1, 11), (2, 11)]


def test_on_layer_reports_every_layer_in_order() -> None:
    progress: list[tuple[int, int]] = []
    stops = []
    forward(mixed_stack(), random_images((12, 12, 3)), should_stop=lambda: stops.append(1) or False, on_layer=lambda *done: progress.append(done))
    assert progress == [(done, 11) for done in range(1, 12)]
    assert len(stops) >= 11


# ------------------------------------------------------------------------ errors


def test_an_invalid_stack_is_an_engine_error_with_exit_code_1() -> None:
    # 8x8 -> pool 4 -> 2x2: the 3x3 convolution cannot apply (layer 1); the Dense after it follows it.
    stack = Stack((8, 8, 1), (MaxPooling2D(pool_size=4), Conv2D(filters=2, kernel_size=3), Flatten(), Dense(units=2)))
    with pytest.raises(EngineError) as caught:
        forward(stack, random_images((8, 8, 1)))
    assert caught.value.exit_code == 1
    assert caught.value.layer_index == 1
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "shape",
    [(28, 28, 3), (27, 28, 1), (28, 28), (1, 1, 28, 28, 1), (2, 28, 28, 3), (784,)],
    ids=["channels", "height", "no-channel-axis", "five-axes", "batch-of-wrong-channels", "flat"],
)
def test_an_image_of_the_wrong_shape_is_an_engine_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(EngineError) as caught:
        forward(SEED, np.zeros(shape, np.float32))
    message = str(caught.value)
    assert "28x28x1" in message or "(28, 28, 1)" in message
    assert "\n" not in message


# ------------------------------------------------------------------------ formulas


def test_batch_normalization_uses_the_loaded_statistics_as_keras_inference() -> None:
    """Keras inference: gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, per channel."""
    stack = Stack((5, 6, 4), (BatchNormalization(epsilon=0.01),))
    rng = np.random.default_rng(7)
    statistics = {
        "gamma": rng.uniform(0.5, 2.0, 4),
        "beta": rng.normal(size=4),
        "moving_mean": rng.normal(size=4) * 3,
        "moving_variance": rng.uniform(0.05, 5.0, 4),
    }
    weights = {0: {name: value.astype(np.float32) for name, value in statistics.items()}}
    image = rng.normal(size=(2, 5, 6, 4)).astype(np.float32) * 4
    expected = (
        statistics["gamma"] * (image.astype(np.float64) - statistics["moving_mean"]) / np.sqrt(statistics["moving_variance"] + 0.01)
        + statistics["beta"]
    )
    np.testing.assert_allclose(forward(stack, image, weights).outputs[0], expected, rtol=1e-5, atol=1e-5)


def test_batch_normalization_without_center_and_scale() -> None:
    stack = Stack((3, 3, 2), (BatchNormalization(center=False, scale=False),))
    weights = {0: {"moving_mean": np.array([1.0, -2.0], np.float32), "moving_variance": np.array([4.0, 0.25], np.float32)}}
    assert {weight.name for weight in stack.infer().layers[0].weights} == {"moving_mean", "moving_variance"}
    image = random_images((1, 3, 3, 2))
    expected = (image.astype(np.float64) - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 0.001)
    np.testing.assert_allclose(forward(stack, image, weights).outputs[0], expected, rtol=1e-5, atol=1e-6)


def test_dense_on_an_image_acts_on_the_last_axis() -> None:
    stack = Stack((4, 5, 3), (Dense(units=2, activation="relu"),))
    assert stack.infer().layers[0].output_shape == (4, 5, 2)
    rng = np.random.default_rng(2)
    kernel, bias = rng.normal(size=(3, 2)), rng.normal(size=2)
    image = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    expected = np.zeros((2, 4, 5, 2))
    for n in range(2):
        for i in range(4):
            for j in range(5):
                for unit in range(2):
                    expected[n, i, j, unit] = max(sum(image[n, i, j, c] * kernel[c, unit] for c in range(3)) + bias[unit], 0.0)
    weights = {0: {"kernel": kernel.astype(np.float32), "bias": bias.astype(np.float32)}}
    np.testing.assert_allclose(forward(stack, image, weights).outputs[0], expected, rtol=1e-5, atol=1e-6)


def test_flatten_lays_out_height_then_width_then_channels() -> None:
    """Keras channels_last Flatten: index (i * W + j) * C + c."""
    stack = Stack((2, 3, 4), (Flatten(),))
    image = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    output = forward(stack, image).outputs[0]
    assert output.shape == (1, 24)
    for i in range(2):
        for j in range(3):
            for c in range(4):
                assert output[0, (i * 3 + j) * 4 + c] == image[0, i, j, c]


def test_global_average_pooling_is_the_channel_mean() -> None:
    stack = Stack((7, 5, 3), (GlobalAveragePooling2D(), ))
    image = random_images((2, 7, 5, 3), seed=9) * 100
    np.testing.assert_allclose(forward(stack, image).outputs[0], image.astype(np.float64).mean(axis=(1, 2)), rtol=1e-6)


def test_dropout_does_nothing_at_inference() -> None:
    stack = Stack((6, 6, 2), (Dropout(rate=0.9),))
    image = random_images((3, 6, 6, 2))
    np.testing.assert_array_equal(forward(stack, image).outputs[0], image)


def test_outputs_stay_float32_with_weights_given_in_float64() -> None:
    """ForwardResult promises float32 outputs; weights built by hand with NumPy are float64 by default."""
    stack = mixed_stack()
    weights = {index: {name: array.astype(np.float64) for name, array in named.items()} for index, named in initial_weights(stack, 0).items()}
    result = forward(stack, random_images((12, 12, 3)), weights)
    reference = forward(stack, random_images((12, 12, 3)), initial_weights(stack, 0))
    for info, output, expected in zip(stack.infer().layers, result.outputs, reference.outputs):
        assert output.dtype == np.float32, f"layer {info.index} {info.layer.label}: {output.dtype}"
        np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


# --- weights and pixels a script gives ------------------------------------------------------


def seed_weights() -> dict:
    return initial_weights(SEED, 0)


def replaced(index: int, named: object) -> dict:
    weights = seed_weights()
    weights[index] = named  # type: ignore[assignment]
    return weights


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "layer 0 (Conv2D): conv2d: no weights given (it needs kernel (3, 3, 1, 32), bias (32,)); give every weight of a layer, e.g. start from initial_weights(stack) and replace some"),
        (replaced(1, {"kernel": np.zeros((3, 3, 32, 64))}), "layer 1 (Conv2D): conv2d_1: bias missing (it needs kernel (3, 3, 32, 64), bias (64,)); give every weight of a layer, e.g. start from initial_weights(stack) and replace some"),
        (replaced(0, {"kernel": np.zeros((3, 3, 1, 16)), "bias": np.zeros(32)}), "layer 0 (Conv2D): conv2d: kernel has shape (3, 3, 1, 16) but needs (3, 3, 1, 32) (Keras's layout, as initial_weights makes it)"),
        (replaced(0, {"kernel": np.zeros((3, 3, 1, 32)), "bias": np.zeros(32), "gamma": np.ones(32)}), "layer 0 (Conv2D): conv2d: has no weight 'gamma': it has kernel (3, 3, 1, 32), bias (32,)"),
        (replaced(0, {"kernel": "zeros", "bias": np.zeros(32)}), "layer 0 (Conv2D): conv2d: kernel is not an array of numbers (found a str)"),
        (replaced(0, [np.zeros((3, 3, 1, 32)), np.zeros(32)]), "layer 0 (Conv2D): conv2d: weights must be a dict of weight name -> array, found a list"),
        ({**seed_weights(), 2: {"kernel": np.zeros(1)}}, "weights for layer 2: this stack has only 2 layers (0-1); remove that key"),
        ({"conv2d": seed_weights()[0]}, "weights are keyed by layer index, found 'conv2d': that is layer 0's name, so key its weights 0"),
        ({-1: {}}, "weights for layer -1: this stack has only 2 layers (0-1); remove that key"),
        ([seed_weights()[0]], "weights must be a dict of layer index -> {weight name: array}, found a list"),
    ],
)
def test_weights_that_do_not_fit_are_one_line_naming_the_layer_and_the_weight(weights: object, message: str) -> None:
    with pytest.raises(EngineError) as raised:
        forward(SEED, random_images((28, 28, 1)), weights)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_given_weights_are_made_float32_without_copying_those_that_already_are() -> None:
    """The check is per layer and weight: float32 arrays pass through as they are, whatever their size."""
    weights = seed_weights()
    result = forward(SEED, random_images((28, 28, 1)), weights)
    assert all(result.weights[index][name] is weights[index][name] for index in weights for name in weights[index])
    as_float64 = {index: {name: array.astype(np.float64) for name, array in named.items()} for index, named in weights.items()}
    assert np.array_equal(forward(SEED, random_images((28, 28, 1)), as_float64).outputs[-1], result.outputs[-1])


def test_pixels_as_nested_lists_run_and_other_things_are_refused_in_one_line() -> None:
    image = random_images((28, 28, 1))
    weights = seed_weights()
    assert np.array_equal(forward(SEED, image.tolist(), weights).outputs[-1], forward(SEED, image, weights).outputs[-1])  # type: ignore[arg-type]
    with pytest.raises(EngineError, match=r"^the image is not an array of numbers \(found a str\); give an \(H, W, C\) or \(N, H, W, C\) array$"):
        forward(SEED, "digit", weights)  # type: ignore[arg-type]
