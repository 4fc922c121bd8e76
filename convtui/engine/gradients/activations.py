"""The derivatives of Keras 3's activations (convtui/engine/activations.py), by name, and the
Activation and ReLU layers' training forward and backward.

Each elementwise derivative is written from the pre-activation x and, where cheaper, the output
y; softmax and log_softmax mix the last axis, so they are Jacobian-vector products. Every formula
keeps the input's dtype (float32 in the engine, float64 in the tests' finite differences) and,
like the forward, avoids exponentials that overflow. At a kink the derivative is PyTorch's choice
(relu'(0) = 0, leaky_relu'(0) = slope).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from convtui.engine import activations
from convtui.engine.activations import LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE, SHRINK_THRESHOLD, SQUAREPLUS_B
from convtui.engine.gradients.base import Forwarded, LayerGradient, TrainContext, Weights
from convtui.engine.runners import activate
from convtui.model import layers as catalogue

Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(x, y) -> dy/dx elementwise."""

INVERSE_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def inside(x: np.ndarray, low: float, high: float, slope: float = 1.0) -> np.ndarray:
    """`slope` strictly between low and high, 0 outside: the derivative of a clipped line."""
    return np.where((x > low) & (x < high), slope, 0.0).astype(x.dtype)


def sigmoid_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return y * (1.0 - y)


def elu_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 from 0 up; alpha * exp(x) = y + alpha below (alpha 1)."""
    return np.where(x >= 0, 1.0, y + 1.0).astype(x.dtype)


def selu_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA).astype(x.dtype)


def celu_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 above 0, exp(x / alpha) below (alpha 1); exp sees only x <= 0."""
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0))).astype(x.dtype)


def swish_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """s + x s (1 - s), s = sigmoid(x)."""
    s = activations.sigmoid(x)
    return s + x * s * (1.0 - s)


def gelu_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Phi(x) + x phi(x) of the exact gelu, in float64 as its forward is."""
    wide = np.asarray(x, np.float64)
    cumulative = 0.5 * activations.erfc(-wide / math.sqrt(2.0))
    density = INVERSE_SQRT_2PI * np.exp(-0.5 * wide * wide)
    return (cumulative + wide * density).astype(x.dtype)


def hard_silu_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """hard_sigmoid(x) + x / 6 on (-3, 3)."""
    return activations.hard_sigmoid(x) + x * inside(x, -3.0, 3.0, 1.0 / 6.0)


def mish_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""
    t = np.tanh(activations.softplus(x))
    return t + x * (1.0 - t * t) * activations.sigmoid(x)


def softsign_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    denominator = 1.0 + np.abs(x)
    return 1.0 / (denominator * denominator)


def beyond(threshold: float) -> Derivative:
    """1 where |x| > threshold, else 0: hard_shrink's and soft_shrink's derivative."""
    return lambda x, y: (np.abs(x) > threshold).astype(x.dtype)


def sparse_plus_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """0 up to -1, (x + 1) / 2 between, 1 from 1."""
    return np.where(x >= 1, 1.0, (np.clip(x, -1.0, 1.0) + 1.0) * 0.5).astype(x.dtype)


def squareplus_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(1 + x / r) / 2, r = sqrt(x^2 + 4); below 0 as 2 / (r (r - x)), which does not cancel."""
    root = np.hypot(x, math.sqrt(SQUAREPLUS_B))
    negative = 2.0 / (root * (root - np.minimum(x, 0.0)))
    return np.where(x >= 0, 0.5 * (1.0 + x / root), negative).astype(x.dtype)


DERIVATIVES: dict[str, Derivative] = {
    "relu": lambda x, y: (x > 0).astype(x.dtype),
    "relu6": lambda x, y: inside(x, 0.0, 6.0),
    "leaky_relu": lambda x, y: np.where(x > 0, 1.0, LEAKY_RELU_SLOPE).astype(x.dtype),
    "elu": elu_derivative,
    "selu": selu_derivative,
    "sigmoid": sigmoid_derivative,
    "hard_sigmoid": lambda x, y: inside(x, -3.0, 3.0, 1.0 / 6.0),
    "tanh": lambda x, y: 1.0 - y * y,
    "softplus": lambda x, y: activations.sigmoid(x),
    "swish": swish_derivative,
    "silu": swish_derivative,
    "gelu": gelu_derivative,
    "hard_silu": hard_silu_derivative,
    "hard_swish": hard_silu_derivative,
    "mish": mish_derivative,
    "celu": celu_derivative,
    "softsign": softsign_derivative,
    "exponential": lambda x, y: y,
    "log_sigmoid": lambda x, y: activations.sigmoid(-x),
    "hard_tanh": lambda x, y: inside(x, -1.0, 1.0),
    "tanh_shrink": lambda x, y: np.square(np.tanh(x)),
    "hard_shrink": beyond(SHRINK_THRESHOLD),
    "soft_shrink": beyond(SHRINK_THRESHOLD),
    "sparse_sigmoid": lambda x, y: inside(x, -1.0, 1.0, 0.5),
    "sparse_plus": sparse_plus_derivative,
    "squareplus": squareplus_derivative,
}


def softmax_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """J^T dy of softmax on the last axis: y * (dy - <dy, y>)."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """J^T dy of log_softmax on the last axis: dy - softmax * sum(dy), softmax = exp(y)."""
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)


JACOBIAN_PRODUCTS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "softmax": softmax_backward,
    "log_softmax": log_softmax_backward,
}
"""The activations that mix the last axis: (y, dy) -> dx."""


def activation_backward(name: str | None, x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The gradient at the pre-activation x, given the output y = activation(x) and its gradient dy."""
    if name in (None, "linear"):
        return dy
    if name in JACOBIAN_PRODUCTS:
        return JACOBIAN_PRODUCTS[name](y, dy)
    return dy * DERIVATIVES[name](x, y)


def relu_layer_derivative(x: np.ndarray, max_value: float | None, negative_slope: float, threshold: float) -> np.ndarray:
    """The ReLU layer's derivative: 1 on (threshold, max_value), negative_slope below threshold, 0 above the cap."""
    passed = x > threshold
    if max_value is not None:
        passed &= x < max_value
    derivative = passed.astype(x.dtype)
    if negative_slope != 0:
        derivative += np.where(x < threshold, negative_slope, 0.0).astype(x.dtype)
    return derivative


def activation_forward(layer: catalogue.Activation, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    output = activate(x, layer.activation)
    return Forwarded(output, (x, output))


def activation_layer_backward(
    layer: catalogue.Activation, cache: tuple[np.ndarray, np.ndarray], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    x, output = cache
    return activation_backward(layer.activation, x, output, d_output), {}


def relu_forward(layer: catalogue.ReLU, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(activations.relu_layer(x, layer.max_value, layer.negative_slope, layer.threshold), x)


def relu_backward(layer: catalogue.ReLU, x: np.ndarray, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    return d_output * relu_layer_derivative(x, layer.max_value, layer.negative_slope, layer.threshold), {}


ACTIVATION_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.Activation: LayerGradient(activation_forward, activation_layer_backward),
    catalogue.ReLU: LayerGradient(relu_forward, relu_backward),
}
