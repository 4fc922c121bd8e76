"""Plain-loop references for every op, straight from the definitions, in float64.

Slow on purpose and independent of the engine's tricks: no strided views, no im2col, no
Winograd; padding is a bounds check, Conv2DTranspose follows Keras's JAX path literally (zeros
between input pixels, Keras's pads, a flipped kernel). Use on small shapes only.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def output_side(size: int, kernel: int, stride: int, dilation: int, pads: Pair) -> int:
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1


def conv2d(
    x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides: Pair, pads: Pads, dilation: Pair, groups: int
) -> np.ndarray:
    """out[n, i, j, f] = sum over taps and the group's channels of x[n, i*s + a*d - pad, ...] * kernel[a, b, c, f]."""
    batch, height, width, _ = x.shape
    kernel_h, kernel_w, group_channels, filters = kernel.shape
    group_filters = filters // groups
    out_h = output_side(height, kernel_h, strides[0], dilation[0], pads[0])
    out_w = output_side(width, kernel_w, strides[1], dilation[1], pads[1])
    output = np.zeros((batch, out_h, out_w, filters))
    for n, i, j, f in itertools.product(range(batch), range(out_h), range(out_w), range(filters)):
        group = f // group_filters
        total = 0.0
        for a, b, c in itertools.product(range(kernel_h), range(kernel_w), range(group_channels)):
            row = i * strides[0] + a * dilation[0] - pads[0][0]
            column = j * strides[1] + b * dilation[1] - pads[1][0]
            if 0 <= row < height and 0 <= column < width:
                total += float(x[n, row, column, group * group_channels + c]) * float(kernel[a, b, c, f])
        output[n, i, j, f] = total + (0.0 if bias is None else float(bias[f]))
    return output


def depthwise_conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides: Pair, pads: Pads, dilation: Pair) -> np.ndarray:
    """Channel c with its own depth_multiplier filters; output channel c * multiplier + m."""
    batch, height, width, channels = x.shape
    kernel_h, kernel_w, _, multiplier = kernel.shape
    out_h = output_side(height, kernel_h, strides[0], dilation[0], pads[0])
    out_w = output_side(width, kernel_w, strides[1], dilation[1], pads[1])
    output = np.zeros((batch, out_h, out_w, channels * multiplier))
    for n, i, j, c, m in itertools.product(range(batch), range(out_h), range(out_w), range(channels), range(multiplier)):
        total = 0.0
        for a, b in itertools.product(range(kernel_h), range(kernel_w)):
            row = i * strides[0] + a * dilation[0] - pads[0][0]
            column = j * strides[1] + b * dilation[1] - pads[1][0]
            if 0 <= row < height and 0 <= column < width:
                total += float(x[n, row, column, c]) * float(kernel[a, b, c, m])
        output[n, i, j, c * multiplier + m] = total + (0.0 if bias is None else float(bias[c * multiplier + m]))
    return output


def separable_conv2d(
    x: np.ndarray, depthwise: np.ndarray, pointwise: np.ndarray, bias: np.ndarray | None, strides: Pair, pads: Pads, dilation: Pair
) -> np.ndarray:
    middle = depthwise_conv2d(x, depthwise, None, strides, pads, dilation)
    return conv2d(middle, pointwise, bias, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)


def keras_transpose_pads(kernel: int, stride: int, padding: str) -> Pair:
    """Keras 3's _convert_conv_transpose_padding_args_from_keras_to_jax with output_padding=None, dilation 1."""
    if padding == "valid":
        return kernel - 1, kernel - 1 + max(kernel, stride) - kernel
    total = stride + kernel - 2
    left = min(total // 2 + total % 2, kernel - 1)
    return left, total - left


def conv2d_transpose(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides: Pair, padding: str) -> np.ndarray:
    """Keras's JAX path: s-1 zeros between input pixels, Keras's pads, correlation with the flipped kernel."""
    batch, height, width, channels = x.shape
    kernel_h, kernel_w, filters, _ = kernel.shape
    (top, bottom), (left, right) = keras_transpose_pads(kernel_h, strides[0], padding), keras_transpose_pads(kernel_w, strides[1], padding)
    dilated_h, dilated_w = (height - 1) * strides[0] + 1, (width - 1) * strides[1] + 1
    out_h, out_w = dilated_h + top + bottom - kernel_h + 1, dilated_w + left + right - kernel_w + 1
    output = np.zeros((batch, out_h, out_w, filters))
    for n, i, j, f in itertools.product(range(batch), range(out_h), range(out_w), range(filters)):
        total = 0.0
        for a, b in itertools.product(range(kernel_h), range(kernel_w)):
            row, column = i + a - top, j + b - left  # in the zero-dilated input
            if not (0 <= row < dilated_h and 0 <= column < dilated_w) or row % strides[0] or column % strides[1]:
                continue
            for c in range(channels):
                pixel = float(x[n, row // strides[0], column // strides[1], c])
                total += pixel * float(kernel[kernel_h - 1 - a, kernel_w - 1 - b, f, c])
        output[n, i, j, f] = total + (0.0 if bias is None else float(bias[f]))
    return output


def _pool(x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, reduce: str) -> np.ndarray:
    """Max or mean over the real pixels of each window (padding is never a candidate nor counted)."""
    batch, height, width, channels = x.shape
    out_h = output_side(height, pool_size[0], strides[0], 1, pads[0])
    out_w = output_side(width, pool_size[1], strides[1], 1, pads[1])
    output = np.zeros((batch, out_h, out_w, channels))
    for n, i, j, c in itertools.product(range(batch), range(out_h), range(out_w), range(channels)):
        values = []
        for a, b in itertools.product(range(pool_size[0]), range(pool_size[1])):
            row, column = i * strides[0] + a - pads[0][0], j * strides[1] + b - pads[1][0]
            if 0 <= row < height and 0 <= column < width:
                values.append(float(x[n, row, column, c]))
        output[n, i, j, c] = max(values) if reduce == "max" else sum(values) / len(values)
    return output


def max_pool2d(x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads) -> np.ndarray:
    return _pool(x, pool_size, strides, pads, "max")


def average_pool2d(x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads) -> np.ndarray:
    return _pool(x, pool_size, strides, pads, "mean")


def global_pool(x: np.ndarray, reduce: str, keepdims: bool) -> np.ndarray:
    batch, height, width, channels = x.shape
    output = np.zeros((batch, channels))
    for n, c in itertools.product(range(batch), range(channels)):
        values = [float(x[n, i, j, c]) for i in range(height) for j in range(width)]
        output[n, c] = max(values) if reduce == "max" else sum(values) / len(values)
    return output.reshape(batch, 1, 1, channels) if keepdims else output


def batch_normalization(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, variance: np.ndarray, epsilon: float
) -> np.ndarray:
    output = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        c = index[-1]
        output[index] = (float(x[index]) - float(mean[c])) / math.sqrt(float(variance[c]) + epsilon) * float(gamma[c]) + float(beta[c])
    return output


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    output = np.zeros((*x.shape[:-1], kernel.shape[1]))
    for index in np.ndindex(x.shape[:-1]):
        for f in range(kernel.shape[1]):
            total = sum(float(x[index][c]) * float(kernel[c, f]) for c in range(kernel.shape[0]))
            output[index][f] = total + (0.0 if bias is None else float(bias[f]))
    return output


def zero_padding2d(x: np.ndarray, pads: Pads) -> np.ndarray:
    batch, height, width, channels = x.shape
    (top, bottom), (left, right) = pads
    output = np.zeros((batch, height + top + bottom, width + left + right, channels))
    for n, i, j, c in itertools.product(range(batch), range(height), range(width), range(channels)):
        output[n, i + top, j + left, c] = x[n, i, j, c]
    return output


def upsampling_nearest(x: np.ndarray, size: Pair) -> np.ndarray:
    batch, height, width, channels = x.shape
    output = np.zeros((batch, height * size[0], width * size[1], channels))
    for n, i, j, c in itertools.product(range(batch), range(height * size[0]), range(width * size[1]), range(channels)):
        output[n, i, j, c] = x[n, i // size[0], j // size[1], c]
    return output


def _linear_source(position: int, factor: int, size: int) -> tuple[int, int, float]:
    """Half-pixel centres: output pixel p samples input coordinate (p + 0.5) / factor - 0.5, clamped."""
    coordinate = min(max((position + 0.5) / factor - 0.5, 0.0), size - 1.0)
    below = math.floor(coordinate)
    return below, min(below + 1, size - 1), coordinate - below


def upsampling_bilinear(x: np.ndarray, size: Pair) -> np.ndarray:
    batch, height, width, channels = x.shape
    output = np.zeros((batch, height * size[0], width * size[1], channels))
    for n, i, j, c in itertools.product(range(batch), range(height * size[0]), range(width * size[1]), range(channels)):
        top, bottom, row_weight = _linear_source(i, size[0], height)
        left, right, column_weight = _linear_source(j, size[1], width)
        upper = (1 - column_weight) * x[n, top, left, c] + column_weight * x[n, top, right, c]
        lower = (1 - column_weight) * x[n, bottom, left, c] + column_weight * x[n, bottom, right, c]
        output[n, i, j, c] = (1 - row_weight) * upper + row_weight * lower
    return output


# Activations, one scalar at a time, as Keras 3 defines them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


SCALAR_ACTIVATIONS = {
    "linear": lambda v: v,
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "leaky_relu": lambda v: v if v >= 0 else 0.2 * v,
    "elu": lambda v: v if v >= 0 else math.expm1(v),
    "selu": lambda v: SELU_SCALE * (v if v >= 0 else SELU_ALPHA * math.expm1(v)),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda v: min(max(v + 3.0, 0.0), 6.0) / 6.0,
    "tanh": math.tanh,
    "softplus": lambda v: max(v, 0.0) + math.log1p(math.exp(-abs(v))),
    "swish": lambda v: v * _sigmoid(v),
    "silu": lambda v: v * _sigmoid(v),
    "gelu": lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2)),
}


def activation(name: str, x: np.ndarray) -> np.ndarray:
    if name == "softmax":
        return softmax(x)
    function = SCALAR_ACTIVATIONS[name]
    return np.array([function(float(v)) for v in x.ravel()]).reshape(x.shape)


def softmax(x: np.ndarray) -> np.ndarray:
    """exp(v - max) / sum over the last axis, in float64."""
    output = np.zeros(x.shape)
    for index in np.ndindex(x.shape[:-1]):
        row = [float(v) for v in x[index]]
        top = max(row)
        exponentials = [math.exp(v - top) for v in row]
        output[index] = [e / sum(exponentials) for e in exponentials]
    return output


def relu_layer(x: np.ndarray, max_value: float | None, negative_slope: float, threshold: float) -> np.ndarray:
    """Keras's ReLU layer per value, as its documentation states it (plus the leaky shortcut's max(x, slope*x))."""

    def one(v: float) -> float:
        if negative_slope != 0 and max_value is None and threshold == 0:
            return max(v, negative_slope * v)
        kept = v if v > threshold else 0.0
        if max_value is not None:
            kept = min(max(kept, 0.0), max_value)
        return kept - negative_slope * max(threshold - v, 0.0)

    return np.array([one(float(v)) for v in x.ravel()]).reshape(x.shape)
