"""The training step's faster paths give the plain paths' results: the backward split over ranges of
images (one per core), the input's gradient as a Winograd convolution, the optimisers' in-place state.

The plain paths are the ones test_conv_gradients.py and test_gradients.py check against PyTorch
and finite differences; here each fast path is compared with them on shapes that take it.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from array_checks import random, relative_error
from convtui.engine.gradients import GRADIENTS, base
from convtui.engine.gradients.base import TrainContext
from convtui.engine.gradients.convolution import Geometry, convolved_input_gradient, input_gradient
from convtui.engine.ops import Workspace
from convtui.engine.optimizers import SGD, Adam, AdamW, RMSprop
from convtui.model import layers as catalogue
@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch):
    """A function that runs a callable with the batch split in `count` parts (even small layers), or on one thread (count 1)."""

    def run(count: int, call):
        with monkeypatch.context() as patch:
            patch.setattr(base.threads, "thread_count", lambda: count)
            patch.setattr(base, "PARALLEL_MIN_VALUES", 0 if count > 1 else 1 << 60)
            return call()

    return run


LAYERS = [
    catalogue.Conv2D(filters=6, kernel_size=(3, 3), activation="relu"),
    catalogue.Conv2D(filters=5, kernel_size=(3, 3), padding="same", activation="tanh"),
    catalogue.Conv2D(filters=8, kernel_size=(3, 3), strides=(2, 2), padding="same"),
    catalogue.Conv2D(filters=40, kernel_size=(3, 3), padding="same", activation="relu"),
]


@pytest.mark.parametrize("channels", [1, 3, 34, 66])
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: f"{layer.filters}f-{layer.padding}-{layer.strides}-{layer.activation}")
@pytest.mark.parametrize("count", [2, 3])
def test_conv2d_split_over_images_equals_one_thread(split, layer: catalogue.Conv2D, channels: int, count: int) -> None:
    """Forward, input gradient and weight gradients (both backward paths) of every part-split Conv2D match the one-thread run."""
    rng = np.random.default_rng(channels)
    x = random(rng, 5, 16, 15, channels)
    weights = {"kernel": random(rng, 3, 3, channels, layer.filters) * 0.3, "bias": random(rng, layer.filters)}
    gradient = GRADIENTS[catalogue.Conv2D]

    def run() -> tuple[np.ndarray, np.ndarray, dict, dict]:
        forwarded = gradient.forward(layer, x, weights, TrainContext(np.random.default_rng(0)))
        d_output = np.random.default_rng(1).standard_normal(forwarded.output.shape).astype(np.float32)
        d_input, d_weights = gradient.backward(layer, forwarded.cache, d_output, weights)
        return forwarded.output.copy(), d_input.copy(), d_weights, gradient.weights_only(layer, forwarded.cache, d_output, weights)

    plain, parted = split(1, run), split(count, run)
    assert relative_error(parted[0], plain[0]) <= 1e-6
    assert relative_error(parted[1], plain[1]) <= 1e-5
    for name in ("kernel", "bias"):
        assert relative_error(parted[2][name], plain[2][name]) <= 1e-5, name
        assert relative_error(parted[3][name], plain[2][name]) <= 1e-5, name


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool_size, strides", [((2, 2), None), ((3, 3), (2, 2)), ((2, 2), (1, 1))])
def test_max_pooling_split_over_images_equals_one_thread(split, padding: str, pool_size, strides) -> None:
    """Ties included (a relu output's zeros): the winner per window and the gradient's pixels are the same."""
    layer = catalogue.MaxPooling2D(pool_size=pool_size, strides=strides, padding=padding)
    rng = np.random.default_rng(2)
    x = np.maximum(random(rng, 6, 9, 11, 4), 0)
    gradient = GRADIENTS[catalogue.MaxPooling2D]

    def run() -> tuple[np.ndarray, np.ndarray]:
        forwarded = gradient.forward(layer, x, {}, TrainContext(np.random.default_rng(0)))
        d_output = np.random.default_rng(1).standard_normal(forwarded.output.shape).astype(np.float32)
        return forwarded.output.copy(), gradient.backward(layer, forwarded.cache, d_output, {})[0].copy()

    plain, parted = split(1, run), split(2, run)
    np.testing.assert_array_equal(parted[0], plain[0])
    np.testing.assert_array_equal(parted[1], plain[1])


@pytest.mark.parametrize("pads", [((0, 0), (0, 0)), ((1, 1), (1, 1)), ((0, 1), (1, 0))])
def test_input_gradient_as_a_winograd_convolution(pads) -> None:
    """Where Winograd pays (32+ channels, 14+ pixels) the flipped-kernel convolution equals col2im's gradient."""
    rng = np.random.default_rng(3)
    x_shape = (4, 18, 17, 65)
    kernel = random(rng, 3, 3, 65, 40)
    geometry = Geometry((3, 3), (1, 1), pads)
    out_h, out_w = x_shape[1] + sum(pads[0]) - 2, x_shape[2] + sum(pads[1]) - 2
    d_output = random(rng, 4, out_h, out_w, 40)
    scratch = Workspace().scratch
    found = convolved_input_gradient(d_output, kernel, geometry, x_shape, scratch)
    assert found is not None
    assert relative_error(found, input_gradient(d_output, kernel, geometry, x_shape, scratch)) <= 1e-5


def test_input_gradient_as_a_convolution_only_where_it_applies() -> None:
    """Strides, dilation, few channels on either side keep col2im."""
    rng = np.random.default_rng(5)
    scratch = Workspace().scratch
    kernel = random(rng, 3, 3, 65, 40)
    strided = Geometry((3, 3), (2, 2), ((1, 1), (1, 1)))
    assert convolved_input_gradient(random(rng, 2, 9, 9, 40), kernel, strided, (2, 18, 18, 65), scratch) is None
    dilated = Geometry((3, 3), (1, 1), ((0, 0), (0, 0)), (2, 2))
    assert convolved_input_gradient(random(rng, 2, 14, 14, 40), kernel, dilated, (2, 18, 18, 65), scratch) is None
    plain = Geometry((3, 3), (1, 1), ((0, 0), (0, 0)))
    assert convolved_input_gradient(random(rng, 2, 16, 16, 40), kernel, plain, (2, 18, 18, 65), scratch) is not None
    thin = random(rng, 3, 3, 65, 4)
    assert convolved_input_gradient(random(rng, 2, 16, 16, 4), thin, plain, (2, 18, 18, 65), scratch) is None
    narrow = random(rng, 3, 3, 32, 64)
    assert convolved_input_gradient(random(rng, 2, 16, 16, 64), narrow, plain, (2, 18, 18, 32), scratch) is None


@pytest.mark.parametrize("optimizer", [Adam(), AdamW(), RMSprop(momentum=0.9, centered=True), SGD(momentum=0.9, nesterov=True)], ids=lambda o: o.name)
def test_optimisers_keep_their_state_arrays(optimizer) -> None:
    """After the first step the state and scratch are the same arrays, updated in place, and the weights too."""
    rng = np.random.default_rng(6)
    weights = {0: {"kernel": random(rng, 3, 3, 2, 4), "bias": random(rng, 4)}}
    held = {name: array for name, array in weights[0].items()}
    optimizer.step(weights, {0: {name: random(rng, *array.shape) for name, array in weights[0].items()}})
    state = {key: id(array) for key, array in {**optimizer.slots, **optimizer.buffers}.items()}
    for _ in range(3):
        optimizer.step(weights, {0: {name: random(rng, *array.shape) for name, array in weights[0].items()}})
    assert {key: id(array) for key, array in {**optimizer.slots, **optimizer.buffers}.items()} == state
    assert all(weights[0][name] is held[name] for name in held)


OPTIMISER_MAKERS = [Adam, partial(Adam, amsgrad=True), AdamW, partial(RMSprop, momentum=0.9, centered=True), partial(SGD, momentum=0.9, nesterov=True), SGD]


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("make", OPTIMISER_MAKERS, ids=lambda make: make().name)
def test_optimisers_split_over_values_equal_one_thread(split, make, count: int) -> None:
    """Updates over flat ranges of each weight, one per part, give the one-thread values bit for bit, state included."""
    rng = np.random.default_rng(8)
    start = {"kernel": random(rng, 5, 4, 3), "bias": random(rng, 7)}
    steps = [{name: random(rng, *array.shape) for name, array in start.items()} for _ in range(3)]

    def run() -> tuple[dict, dict]:
        optimizer, weights = make(), {0: {name: array.copy() for name, array in start.items()}}
        for gradients in steps:
            optimizer.step(weights, {0: gradients})
        return weights[0], optimizer.slots

    (plain, plain_slots), (parted, parted_slots) = split(1, run), split(count, run)
    for name in start:
        np.testing.assert_array_equal(parted[name], plain[name])
    assert plain_slots.keys() == parted_slots.keys()
    for key in plain_slots:
        np.testing.assert_array_equal(parted_slots[key], plain_slots[key])


@pytest.mark.parametrize("activation", ["softmax", "relu", None])
def test_dense_split_over_rows_equals_one_thread(split, activation) -> None:
    """Dense's forward and both gradients with the rows split over parts match the one-thread products."""
    layer = catalogue.Dense(units=7, activation=activation)
    rng = np.random.default_rng(7)
    x = random(rng, 9, 40)
    weights = {"kernel": random(rng, 40, 7), "bias": random(rng, 7)}
    gradient = GRADIENTS[catalogue.Dense]

    def run() -> tuple[np.ndarray, np.ndarray, dict]:
        forwarded = gradient.forward(layer, x, weights, TrainContext(np.random.default_rng(0)))
        d_output = np.random.default_rng(1).standard_normal(forwarded.output.shape).astype(np.float32)
        d_input, d_weights = gradient.backward(layer, forwarded.cache, d_output, weights)
        return forwarded.output.copy(), d_input.copy(), d_weights

    plain, parted = split(1, run), split(2, run)
    assert relative_error(parted[0], plain[0]) <= 1e-6
    assert relative_error(parted[1], plain[1]) <= 1e-6
    for name in ("kernel", "bias"):
        assert relative_error(parted[2][name], plain[2][name]) <= 1e-6, name


def small_net():
    from convtui.model.stack import Stack

    return Stack(
        (12, 12, 1),
        (
            catalogue.Conv2D(filters=8, kernel_size=(3, 3), activation="relu"),
            catalogue.MaxPooling2D(pool_size=(2, 2)),
            catalogue.Conv2D(filters=33, kernel_size=(3, 3), padding="same", activation="relu"),
            catalogue.Flatten(),
            catalogue.Dense(units=5, activation="softmax"),
        ),
    ).infer()


@pytest.mark.parametrize("count", [1, 2])
def test_steps_reusing_the_arena_equal_steps_with_fresh_arrays(split, count: int) -> None:
    """Three steps sharing one context (the arena's arrays reused) leave the same weights as three with a fresh context each,
    and from the second step on the arena hands out the same arrays."""
    from convtui.engine.losses import loss_for
    from convtui.engine.train import train_step, writable_weights
    from convtui.engine.weights import initial_weights

    info = small_net()
    rng = np.random.default_rng(8)
    batches = [(rng.random((6, 12, 12, 1), dtype=np.float32), rng.integers(0, 5, 6)) for _ in range(3)]

    def train(shared: bool) -> tuple[dict, list[set[int]]]:
        weights, optimizer, loss = writable_weights(initial_weights(info, seed=0)), Adam(), loss_for(info)
        context, held = TrainContext(np.random.default_rng(0)), []
        for images, labels in batches:
            if not shared:
                context = TrainContext(np.random.default_rng(0))
            train_step(info, weights, images, labels, optimizer, loss, context)
            held.append({id(array) for arrays in context.arena._free.values() for array in arrays})
        return weights, held

    (reused, held), (fresh, _) = split(count, lambda: train(True)), split(count, lambda: train(False))
    for index, named in fresh.items():
        for name, value in named.items():
            np.testing.assert_array_equal(reused[index][name], value, err_msg=f"{index} {name}")
    assert held[0] and held[0] == held[1] == held[2]


def test_the_arena_hands_back_only_what_a_step_asked_for() -> None:
    arena = base.StepArena()
    first = arena.take((3, 4))
    arena.take((2,), np.uint8)
    arena.release()
    assert arena.take((3, 4)) is first
    arena.release()
    assert arena.nbytes == first.nbytes  # the uint8 array, not asked for in the last step, is dropped
    assert arena.take((2,), np.uint8) is not None and arena.take((3, 4)) is first
