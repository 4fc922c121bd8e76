"""The ops of the layers and activations added for branching networks, three ways each.

- against a naive reference written here from Keras 3's definitions (one value or one row at a time, float64);
- against PyTorch's torch.nn.functional where it has the op;
- against real Keras layers (torch backend) on the same weights, within 1e-5 of the largest value,
  and against Keras's trainable and non-trainable parameter counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import naive
import numpy as np
import pytest

from convtui.engine import activations, forward, initial_weights, ops
from convtui.model import Stack
from convtui.model.arguments import ACTIVATION_NAMES
from convtui.model.layers import (
    Activation,
    BatchNormalization,
    Cropping2D,
    Dense,
    Dropout,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Identity,
    Layer,
    LayerNormalization,
    LayerScale,
    Normalization,
    ReLU,
    Rescaling,
    Reshape,
)

KERAS_TOLERANCE = 1e-5
NAIVE_TOLERANCE = 2e-6




@pytest.fixture(scope="module")
def torch() -> ModuleType:
    return pytest.importorskip("torch")


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> None:
    """Within `tolerance` of the largest expected value (values near 0 are compared on that scale)."""
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = float(np.abs(expected).max()) or 1.0
    assert float(np.abs(actual.astype(np.float64) - expected).max()) / scale <= tolerance


# ---------------------------------------------------------------- activations

INPUTS = np.concatenate(
    [np.array([-30, -5, -3, -1.5, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 1.5, 3, 5, 30], np.float32), np.random.default_rng(3).standard_normal(105, np.float32) * 4]
).reshape(4, 30)


def scalar_sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def scalar_softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def scalar_hard_sigmoid(v: float) -> float:
    return min(max(v / 6 + 0.5, 0.0), 1.0)  # the numpy backend's form: x/6 + 1/2, clipped


NEW_SCALAR_ACTIVATIONS: dict[str, Callable[[float], float]] = {
    # keras/src/backend/numpy/nn.py, with Keras 3's default arguments
    "hard_silu": lambda v: v * scalar_hard_sigmoid(v),
    "hard_swish": lambda v: v * scalar_hard_sigmoid(v),
    "mish": lambda v: v * math.tanh(scalar_softplus(v)),
    "celu": lambda v: max(v, 0.0) + math.expm1(min(v, 0.0)),
    "softsign": lambda v: v / (1 + abs(v)),
    "exponential": math.exp,
    "log_sigmoid": lambda v: -scalar_softplus(-v),
    "hard_tanh": lambda v: min(max(v, -1.0), 1.0),
    "tanh_shrink": lambda v: v - math.tanh(v),
    "hard_shrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "soft_shrink": lambda v: v - 0.5 if v > 0.5 else (v + 0.5 if v < -0.5 else 0.0),
    "sparse_sigmoid": lambda v: 0.0 if v <= -1 else (1.0 if v >= 1 else 0.5 * (v + 1)),
    "sparse_plus": lambda v: 0.0 if v <= -1 else ((v + 1) ** 2 / 4 if v < 1 else v),
    "squareplus": lambda v: (v + math.sqrt(v * v + 4)) / 2,
}


def naive_log_softmax(row: list[float]) -> list[float]:
    top = max(row)
    total = sum(math.exp(v - top) for v in row)
    return [v - top - math.log(total) for v in row]


ROW_ACTIVATIONS = {"log_softmax": naive_log_softmax}


def naive_activation(name: str, x: np.ndarray) -> np.ndarray:
    if name in ROW_ACTIVATIONS:
        return np.array([ROW_ACTIVATIONS[name]([float(v) for v in row]) for row in x])
    if name in NEW_SCALAR_ACTIVATIONS:
        return np.vectorize(NEW_SCALAR_ACTIVATIONS[name], otypes=[np.float64])(x.astype(np.float64))
    return naive.activation(name, x)


def test_every_keras_activation_string_has_an_op_and_a_reference(keras: ModuleType) -> None:
    """Every name keras.activations.get takes on its own, except glu (it halves the last axis),
    threshold (it needs two more arguments, so Keras fails on the string) and sparsemax (below)."""
    from keras.src.activations import ALL_OBJECTS_DICT

    assert set(ACTIVATION_NAMES) == set(ALL_OBJECTS_DICT) - {"glu", "threshold", "sparsemax"}
    assert set(activations.ACTIVATIONS) == set(ACTIVATION_NAMES)
    assert set(ACTIVATION_NAMES) <= {*NEW_SCALAR_ACTIVATIONS, *ROW_ACTIVATIONS, *naive.SCALAR_ACTIVATIONS, "softmax"}


@pytest.mark.parametrize("name", sorted({*NEW_SCALAR_ACTIVATIONS, *ROW_ACTIVATIONS}))
def test_new_activations_follow_their_keras_definitions(name: str) -> None:
    x = INPUTS[:, :20] if name == "exponential" else INPUTS  # exp(30) is past float32's precision budget, not its range
    actual = activations.ACTIVATIONS[name](x)
    np.testing.assert_allclose(actual, naive_activation(name, x), rtol=NAIVE_TOLERANCE, atol=1e-6)
    assert actual.dtype == np.float32


def test_exponential_overflows_to_infinity_as_keras_does_without_a_warning() -> None:
    with np.errstate(over="raise"):
        assert activations.ACTIVATIONS["exponential"](np.array([100.0], np.float32))[0] == np.inf


def test_squareplus_keeps_its_small_positive_values_where_keras_float32_form_cancels_to_zero() -> None:
    value = activations.ACTIVATIONS["squareplus"](np.array([-1e4], np.float32))[0]
    np.testing.assert_allclose(value, 2 / (math.sqrt(1e8 + 4) + 1e4), rtol=1e-6)


def test_keras_sparsemax_is_left_out_because_its_rows_do_not_sum_to_one(keras: ModuleType) -> None:
    """Sparsemax of [1, 0.8, 0.1, -1] is [0.6, 0.4, 0, 0] (tau = (1 + 0.8 - 1) / 2); Keras 3.15 gives
    [0.1, 0, 0, 0]. When this fails, Keras has fixed it: add "sparsemax" to ACTIVATION_NAMES."""
    x = keras.ops.convert_to_tensor(np.array([[1.0, 0.8, 0.1, -1.0]], np.float32))
    assert not np.allclose(keras.ops.convert_to_numpy(keras.activations.sparsemax(x)), [[0.6, 0.4, 0.0, 0.0]])


TORCH_ACTIVATIONS: dict[str, Callable] = {
    # Keras name: torch.nn.functional with the arguments that give Keras 3's semantics
    "hard_silu": lambda F, t: F.hardswish(t),
    "hard_swish": lambda F, t: F.hardswish(t),
    "mish": lambda F, t: F.mish(t),
    "celu": lambda F, t: F.celu(t, alpha=1.0),
    "softsign": lambda F, t: F.softsign(t),
    "log_sigmoid": lambda F, t: F.logsigmoid(t),
    "hard_tanh": lambda F, t: F.hardtanh(t, -1.0, 1.0),
    "tanh_shrink": lambda F, t: F.tanhshrink(t),
    "hard_shrink": lambda F, t: F.hardshrink(t, 0.5),
    "soft_shrink": lambda F, t: F.softshrink(t, 0.5),
    "log_softmax": lambda F, t: F.log_softmax(t, dim=-1),
    "exponential": lambda F, t: t.exp(),
}


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_new_activations_match_torch(name: str, torch: ModuleType) -> None:
    expected = TORCH_ACTIVATIONS[name](torch.nn.functional, torch.from_numpy(INPUTS.astype(np.float64))).numpy()
    np.testing.assert_allclose(activations.ACTIVATIONS[name](INPUTS), expected, rtol=NAIVE_TOLERANCE, atol=1e-6)


def test_gelu_approximate_is_torchs_tanh_form_and_the_default_is_exact(torch: ModuleType) -> None:
    t = torch.from_numpy(INPUTS.astype(np.float64))
    tanh_form = torch.nn.functional.gelu(t, approximate="tanh").numpy()
    exact = torch.nn.functional.gelu(t, approximate="none").numpy()
    assert_close(activations.gelu(INPUTS, approximate=True), tanh_form, NAIVE_TOLERANCE)
    assert_close(activations.ACTIVATIONS["gelu"](INPUTS), exact, NAIVE_TOLERANCE)
    assert not np.allclose(tanh_form, exact, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_every_activation_matches_keras(name: str, keras: ModuleType) -> None:
    """keras.activations.get(name), the function an Activation(name) layer calls, on the same values."""
    x = INPUTS[:, :20] if name == "exponential" else INPUTS
    expected = keras.ops.convert_to_numpy(keras.activations.get(name)(keras.ops.convert_to_tensor(x))).astype(np.float64)
    assert_close(activations.ACTIVATIONS[name](x), expected, KERAS_TOLERANCE)


# ---------------------------------------------------------------- relu layer, dropout, pooling, batch normalization


@pytest.mark.parametrize(
    "arguments",
    [dict(), dict(max_value=6.0), dict(negative_slope=0.1), dict(threshold=0.5), dict(max_value=4.0, negative_slope=0.5, threshold=1.0), dict(max_value=6.0, threshold=2.0)],
)
def test_relu_layer_matches_keras(arguments: dict, keras: ModuleType) -> None:
    run_against_keras(keras, ReLU(**arguments), keras.layers.ReLU(**arguments), (4, 5, 3))


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_keepdims_matches_keras(keepdims: bool, keras: ModuleType) -> None:
    run_against_keras(keras, GlobalAveragePooling2D(keepdims=keepdims), keras.layers.GlobalAveragePooling2D(keepdims=keepdims), (5, 4, 3))
    run_against_keras(keras, GlobalMaxPooling2D(keepdims=keepdims), keras.layers.GlobalMaxPooling2D(keepdims=keepdims), (5, 4, 3))


@pytest.mark.parametrize(("center", "scale"), [(True, False), (False, True), (False, False)])
def test_batch_normalization_without_center_or_scale_matches_keras(center: bool, scale: bool, keras: ModuleType) -> None:
    run_against_keras(keras, BatchNormalization(center=center, scale=scale), keras.layers.BatchNormalization(center=center, scale=scale), (3, 3, 4))


def test_dropout_with_noise_shape_does_nothing_at_inference(keras: ModuleType) -> None:
    run_against_keras(keras, Dropout(rate=0.5, noise_shape=[None, 1, 1, 3], seed=4), keras.layers.Dropout(0.5, noise_shape=(None, 1, 1, 3), seed=4), (4, 4, 3))


# ---------------------------------------------------------------- the new layers: naive, torch, Keras

RNG = np.random.default_rng(11)
X = (RNG.standard_normal((2, 5, 6, 4), np.float32) * 3 + 1).astype(np.float32)


def naive_layer_normalization(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, epsilon: float) -> np.ndarray:
    """Over the last axis, one pixel at a time."""
    output = np.zeros(x.shape)
    for index in np.ndindex(x.shape[:-1]):
        values = [float(v) for v in x[index]]
        mean = sum(values) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        for c, v in enumerate(values):
            scaled = (v - mean) / math.sqrt(variance + epsilon) * (1.0 if gamma is None else float(gamma[c]))
            output[index + (c,)] = scaled + (0.0 if beta is None else float(beta[c]))
    return output


def test_layer_normalization_matches_the_naive_loop_and_torch(torch: ModuleType) -> None:
    gamma, beta = RNG.standard_normal(4, np.float32), RNG.standard_normal(4, np.float32)
    actual = ops.layer_normalization(X, gamma, beta, (3,), 1e-3)
    assert_close(actual, naive_layer_normalization(X, gamma, beta, 1e-3), NAIVE_TOLERANCE)
    expected = torch.nn.functional.layer_norm(torch.from_numpy(X), (4,), torch.from_numpy(gamma), torch.from_numpy(beta), 1e-3).numpy()
    assert_close(actual, expected.astype(np.float64), NAIVE_TOLERANCE)
    assert_close(ops.layer_normalization(X, None, None, (3,), 1e-6), naive_layer_normalization(X, None, None, 1e-6), NAIVE_TOLERANCE)


def test_layer_normalization_over_several_axes_matches_torch(torch: ModuleType) -> None:
    gamma, beta = RNG.standard_normal((5, 6, 4), np.float32), RNG.standard_normal((5, 6, 4), np.float32)
    expected = torch.nn.functional.layer_norm(torch.from_numpy(X), (5, 6, 4), torch.from_numpy(gamma), torch.from_numpy(beta), 1e-3).numpy()
    assert_close(ops.layer_normalization(X, gamma, beta, (1, 2, 3), 1e-3), expected.astype(np.float64), NAIVE_TOLERANCE)


def test_normalization_floors_the_standard_deviation_at_keras_epsilon() -> None:
    mean, variance = np.array([1.0, 2.0, 0.0, -1.0], np.float32), np.array([4.0, 0.0, 1e-20, 9.0], np.float32)
    expected = [[(float(v) - float(mean[c])) / max(math.sqrt(float(variance[c])), 1e-7) for c, v in enumerate(pixel)] for pixel in X.reshape(-1, 4)]
    assert_close(ops.normalization(X, mean, variance), np.array(expected).reshape(X.shape), NAIVE_TOLERANCE)
    restored = ops.normalization(ops.normalization(X, mean, np.array([4.0, 1.0, 2.0, 9.0], np.float32)), mean, np.array([4.0, 1.0, 2.0, 9.0], np.float32), invert=True)
    assert_close(restored, X.astype(np.float64), NAIVE_TOLERANCE)


def test_cropping2d_and_rescaling_match_torch_slicing_and_arithmetic(torch: ModuleType) -> None:
    t = torch.from_numpy(X)
    np.testing.assert_array_equal(ops.cropping2d(X, ((1, 2), (0, 3))), t[:, 1:3, 0:3].numpy())
    scale, offset = np.array([0.5, -1.0, 2.0, 1 / 255], np.float32), np.array(-1.0, np.float32)
    np.testing.assert_array_equal(ops.rescaling(X, scale, offset), (t * torch.from_numpy(scale) + torch.from_numpy(offset)).numpy())


def run_against_keras(keras: ModuleType, layer: Layer, keras_layer, input_shape: tuple[int, ...], weights: dict[str, np.ndarray] | None = None) -> None:
    """One layer in convtui and in Keras on the same input and weights: outputs and parameter counts agree."""
    inputs = keras.Input(input_shape)
    model = keras.Model(inputs, keras_layer(inputs))
    stack = Stack(input_shape, (layer,))
    info = stack.infer().layers[0]
    assert info.is_valid, info.error
    assert tuple(model.output_shape[1:]) == info.output_shape
    trainable = sum(math.prod(weight.shape) for weight in keras_layer.trainable_weights)
    non_trainable = sum(math.prod(weight.shape) for weight in keras_layer.non_trainable_weights)
    assert (info.trainable_params, info.non_trainable_params) == (trainable, non_trainable)
    assert model.count_params() == info.params
    ours = initial_weights(stack, seed=1)
    if weights:
        ours[0] = {**ours.get(0, {}), **weights}
    if ours.get(0):
        keras_layer.set_weights([ours[0][weight.name] for weight in info.weights])
    x = np.random.default_rng(5).standard_normal((2, *input_shape), np.float32) * 2
    expected = keras.ops.convert_to_numpy(model(x)).astype(np.float64)
    assert_close(forward(stack, x, ours).outputs[0], expected, KERAS_TOLERANCE)


def statistics(*shape: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(sum(shape))
    return {"mean": rng.standard_normal(shape, np.float32), "variance": rng.uniform(0.1, 4, shape).astype(np.float32), "count": np.array(0, np.float32)}


NEW_LAYER_CASES = {
    # name: (convtui layer, Keras layer factory, input shape, weights to set)
    "Rescaling 1/255": (Rescaling(scale=1 / 255), lambda k: k.layers.Rescaling(1 / 255), (4, 4, 3), None),
    "Rescaling per channel": (Rescaling(scale=[0.5, 2.0, -1.0], offset=[0.0, 1.0, -1.0]), lambda k: k.layers.Rescaling([0.5, 2.0, -1.0], [0.0, 1.0, -1.0]), (4, 4, 3), None),
    "Normalization, weights (EfficientNet)": (Normalization(), lambda k: k.layers.Normalization(axis=-1), (4, 4, 3), statistics(3)),
    "Normalization, axis none": (Normalization(axis=None), lambda k: k.layers.Normalization(axis=None), (4, 4, 3), statistics()),
    "Normalization, two axes": (Normalization(axis=[1, 2]), lambda k: k.layers.Normalization(axis=(1, 2)), (4, 5, 3), statistics(4, 5)),
    "Normalization, inverted": (Normalization(invert=True), lambda k: k.layers.Normalization(invert=True), (4, 4, 3), statistics(3)),
    "Normalization, given (ConvNeXt)": (
        Normalization(mean=[123.7, 116.3, 103.5], variance=[3409.0, 3262.0, 3291.0]),
        lambda k: k.layers.Normalization(mean=[123.7, 116.3, 103.5], variance=[3409.0, 3262.0, 3291.0]),
        (4, 4, 3),
        None,
    ),
    "Normalization, given scalars": (Normalization(mean=2.0, variance=0.0), lambda k: k.layers.Normalization(mean=2.0, variance=0.0), (4, 4, 3), None),
    "LayerNormalization": (LayerNormalization(epsilon=1e-6), lambda k: k.layers.LayerNormalization(epsilon=1e-6), (4, 4, 8), None),
    "LayerNormalization, no center": (LayerNormalization(center=False), lambda k: k.layers.LayerNormalization(center=False), (4, 4, 8), None),
    "LayerNormalization, no scale": (LayerNormalization(scale=False), lambda k: k.layers.LayerNormalization(scale=False), (4, 4, 8), None),
    "LayerNormalization, three axes": (LayerNormalization(axis=[1, 2, 3]), lambda k: k.layers.LayerNormalization(axis=[1, 2, 3]), (3, 4, 5), None),
    "LayerNormalization, rms_scaling": (LayerNormalization(rms_scaling=True), lambda k: k.layers.LayerNormalization(rms_scaling=True), (4, 4, 8), None),
    "Reshape": (Reshape(target_shape=[-1, 6]), lambda k: k.layers.Reshape((-1, 6)), (4, 3, 4), None),
    "Reshape to a gate": (Reshape(target_shape=[1, 1, 12]), lambda k: k.layers.Reshape((1, 1, 12)), (1, 3, 4), None),
    "Cropping2D": (Cropping2D(cropping=[[1, 2], [0, 3]]), lambda k: k.layers.Cropping2D(((1, 2), (0, 3))), (6, 7, 2), None),
    "Cropping2D, mixed form": (Cropping2D(cropping=[1, [0, 2]]), lambda k: k.layers.Cropping2D((1, (0, 2))), (6, 7, 2), None),
    "Identity": (Identity(), lambda k: k.layers.Identity(), (3, 3, 2), None),
}


@pytest.mark.parametrize(("layer", "make", "input_shape", "weights"), NEW_LAYER_CASES.values(), ids=NEW_LAYER_CASES.keys())
def test_new_layers_match_keras(layer: Layer, make: Callable, input_shape: tuple[int, ...], weights: dict | None, keras: ModuleType) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rms_scaling's deprecation notice
        run_against_keras(keras, layer, make(keras), input_shape, weights)


def test_layer_normalization_with_trained_weights_matches_keras(keras: ModuleType) -> None:
    rng = np.random.default_rng(2)
    weights = {"gamma": rng.standard_normal(8, np.float32), "beta": rng.standard_normal(8, np.float32)}
    run_against_keras(keras, LayerNormalization(), keras.layers.LayerNormalization(), (4, 4, 8), weights)


def test_layer_scale_matches_convnexts(keras: ModuleType) -> None:
    from keras.src.applications.convnext import LayerScale as KerasLayerScale

    run_against_keras(keras, LayerScale(init_values=1e-6, projection_dim=8), KerasLayerScale(1e-6, 8), (3, 3, 8))
    trained = {"gamma": np.random.default_rng(6).standard_normal(8, np.float32)}
    run_against_keras(keras, LayerScale(init_values=0.5, projection_dim=8), KerasLayerScale(0.5, 8), (3, 3, 8), trained)


def test_a_convnext_block_tail_matches_keras(keras: ModuleType) -> None:
    """LayerNormalization, Dense, gelu, Dense, LayerScale: ConvNeXt's block after its depthwise convolution."""
    from keras.src.applications.convnext import LayerScale as KerasLayerScale

    layers = (LayerNormalization(epsilon=1e-6), Dense(units=16), Activation(activation="gelu"), Dense(units=4), LayerScale(init_values=0.1, projection_dim=4))
    stack = Stack((5, 5, 4), layers)
    weights = initial_weights(stack, seed=3)
    inputs = keras.Input((5, 5, 4))
    x = inputs
    for index, keras_layer in enumerate(
        [keras.layers.LayerNormalization(epsilon=1e-6), keras.layers.Dense(16), keras.layers.Activation("gelu"), keras.layers.Dense(4), KerasLayerScale(0.1, 4)]
    ):
        x = keras_layer(x)
        if index in weights:
            keras_layer.set_weights([weights[index][weight.name] for weight in stack.infer().layers[index].weights])
    model = keras.Model(inputs, x)
    image = np.random.default_rng(8).standard_normal((1, 5, 5, 4), np.float32)
    assert model.count_params() == stack.infer().total_params
    assert_close(forward(stack, image, weights).outputs[-1], keras.ops.convert_to_numpy(model(image)).astype(np.float64), KERAS_TOLERANCE)
