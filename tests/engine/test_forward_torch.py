"""The engine against PyTorch on random stacks of every layer type and option.

Each stack is drawn from a seeded generator (reproducible: the test id is the stack number) and
run twice: by convtui's engine (NHWC, Keras layouts) and by a reference written below with
torch.nn.functional on NCHW float64 tensors, from the same weights transposed to PyTorch's
layouts. Keras 3's semantics that PyTorch does not have are spelt out in the reference itself:
TensorFlow's "same" padding (the odd pixel at the bottom/right) as an explicit F.pad, max
pooling padded with -inf, average pooling divided by the count of real pixels, Conv2DTranspose's
output cropped or zero-extended to Keras's size, Keras's activation definitions.

Every layer is compared twice: from the engine's own input to that layer (so each layer is
judged alone, tightly) and along the whole chain from the image (looser, errors accumulate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from convtui.engine import forward  # noqa: E402
from convtui.model.arguments import ACTIVATION_NAMES  # noqa: E402
from convtui.model.layers import (  # noqa: E402
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Layer,
    MaxPooling2D,
    ReLU,
    SeparableConv2D,
    UpSampling2D,
    ZeroPadding2D,
)
from convtui.model.stack import Stack  # noqa: E402

Tensor = "torch.Tensor"
Weights = dict[str, np.ndarray]
Shape = tuple[int, ...]

# =============================================================================== the torch reference


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(n / s); the total padding split with the odd pixel after."""
    span = dilation * (kernel - 1) + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def resolved_pads(padding, x, kernel: tuple[int, int], strides: tuple[int, int], dilation=(1, 1)) -> tuple[int, int, int, int]:
    """(left, right, top, bottom), the order F.pad takes for the last two axes of NCHW."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        top, bottom = tf_same_pads(x.shape[2], kernel[0], strides[0], dilation[0])
        left, right = tf_same_pads(x.shape[3], kernel[1], strides[1], dilation[1])
        return (left, right, top, bottom)
    height, width = padding  # convtui's explicit symmetric padding (PyTorch style)
    return (width, width, height, height)


def tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.asarray(array, np.float64))


def expect_shape(weights: Weights, name: str, shape: Shape) -> np.ndarray:
    """The weight in Keras's layout, whose shape must be the one Keras documents."""
    assert tuple(weights[name].shape) == tuple(shape), f"{name}: {weights[name].shape} is not Keras's {shape}"
    return weights[name]


def bias_of(layer: Layer, weights: Weights, size: int) -> Tensor | None:
    return tensor(expect_shape(weights, "bias", (size,))) if layer.use_bias else None


def keras_relu(x: Tensor, max_value: float | None, negative_slope: float, threshold: float) -> Tensor:
    """keras.src.activations.activations.ReLU.static_call, step by step."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    negative_part = F.relu(threshold - x) if negative_slope != 0 else None
    y = x * (x > threshold) if threshold != 0 else F.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0.0, max_value)
    if negative_part is not None:
        y = y - negative_slope * negative_part
    return y


# Keras 3's activations (keras/src/activations/activations.py); channels are axis 1 in NCHW and (N, F).
TORCH_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": lambda x: x,
    "relu": F.relu,
    "relu6": lambda x: torch.clamp(x, 0.0, 6.0),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),  # Keras 3's default negative_slope is 0.2 (PyTorch's 0.01)
    "elu": lambda x: F.elu(x, alpha=1.0),
    "selu": F.selu,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": lambda x: torch.clamp(x + 3.0, 0.0, 6.0) / 6.0,  # Keras 3: relu6(x + 3) / 6
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=1),  # Keras: the last axis, the channels
    "softplus": lambda x: torch.log1p(torch.exp(-x.abs())) + F.relu(x),
    "swish": F.silu,
    "silu": F.silu,
    "gelu": lambda x: F.gelu(x, approximate="none"),  # Keras 3's gelu has approximate=False
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "mish": F.mish,
    "celu": lambda x: F.celu(x, alpha=1.0),
    "softsign": F.softsign,
    "log_sigmoid": F.logsigmoid,
    "hard_tanh": lambda x: F.hardtanh(x, -1.0, 1.0),
    "tanh_shrink": F.tanhshrink,
    "hard_shrink": lambda x: F.hardshrink(x, 0.5),
    "soft_shrink": lambda x: F.softshrink(x, 0.5),
    "log_softmax": lambda x: F.log_softmax(x, dim=1),
    "exponential": torch.exp,
    "sparse_sigmoid": lambda x: torch.clamp((x + 1.0) / 2.0, 0.0, 1.0),
    "sparse_plus": lambda x: torch.where(x >= 1, x, torch.clamp(x + 1.0, 0.0, 2.0) ** 2 / 4.0),
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4.0)) / 2.0,
}


def activate(x: Tensor, name: str | None) -> Tensor:
    return x if name is None else TORCH_ACTIVATIONS[name](x)


def ref_conv2d(layer: Conv2D, x: Tensor, weights: Weights) -> Tensor:
    channels = x.shape[1]
    kernel = expect_shape(weights, "kernel", (*layer.kernel_size, channels // layer.groups, layer.filters))
    padded = F.pad(x, resolved_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate))
    y = F.conv2d(
        padded,
        tensor(kernel).permute(3, 2, 0, 1),  # HWIO -> OIHW
        bias_of(layer, weights, layer.filters),
        stride=layer.strides,
        dilation=layer.dilation_rate,
        groups=layer.groups,
    )
    return activate(y, layer.activation)


def depthwise(x: Tensor, kernel: np.ndarray, layer: DepthwiseConv2D | SeparableConv2D) -> Tensor:
    """Keras (kh, kw, C, m) -> PyTorch (C*m, 1, kh, kw) with groups = C: output channel c*m + k."""
    kernel_h, kernel_w, channels, multiplier = kernel.shape
    weight = tensor(kernel).reshape(kernel_h, kernel_w, channels * multiplier).permute(2, 0, 1).unsqueeze(1)
    padded = F.pad(x, resolved_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate))
    return F.conv2d(padded, weight, stride=layer.strides, dilation=layer.dilation_rate, groups=channels)


def ref_depthwise_conv2d(layer: DepthwiseConv2D, x: Tensor, weights: Weights) -> Tensor:
    channels = x.shape[1]
    kernel = expect_shape(weights, "kernel", (*layer.kernel_size, channels, layer.depth_multiplier))
    y = depthwise(x, kernel, layer)
    bias = bias_of(layer, weights, channels * layer.depth_multiplier)
    if bias is not None:
        y = y + bias[None, :, None, None]
    return activate(y, layer.activation)


def ref_separable_conv2d(layer: SeparableConv2D, x: Tensor, weights: Weights) -> Tensor:
    channels = x.shape[1]
    kernel = expect_shape(weights, "depthwise_kernel", (*layer.kernel_size, channels, layer.depth_multiplier))
    pointwise = expect_shape(weights, "pointwise_kernel", (1, 1, channels * layer.depth_multiplier, layer.filters))
    y = F.conv2d(depthwise(x, kernel, layer), tensor(pointwise).permute(3, 2, 0, 1), bias_of(layer, weights, layer.filters))
    return activate(y, layer.activation)


def keras_transpose_side(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Keras's output side and where it starts in the full (n - 1) * s + k transposed output."""
    if padding == "same":
        return size * stride, max(kernel - stride, 0) // 2
    return size * stride + max(kernel - stride, 0), 0


def ref_conv2d_transpose(layer: Conv2DTranspose, x: Tensor, weights: Weights) -> Tensor:
    channels = x.shape[1]
    kernel = expect_shape(weights, "kernel", (*layer.kernel_size, layer.filters, channels))
    # Keras (kh, kw, filters, C_in) -> PyTorch's conv_transpose2d (C_in, filters, kh, kw).
    full = F.conv_transpose2d(x, tensor(kernel).permute(3, 2, 0, 1), stride=layer.strides)
    (out_h, top), (out_w, left) = (
        keras_transpose_side(x.shape[2], layer.kernel_size[0], layer.strides[0], layer.padding),
        keras_transpose_side(x.shape[3], layer.kernel_size[1], layer.strides[1], layer.padding),
    )
    # When s > k the full output is shorter than Keras's: the missing rows/columns are zeros (+ bias).
    extended = F.pad(full, (0, max(left + out_w - full.shape[3], 0), 0, max(top + out_h - full.shape[2], 0)))
    y = extended[:, :, top : top + out_h, left : left + out_w]
    bias = bias_of(layer, weights, layer.filters)
    if bias is not None:
        y = y + bias[None, :, None, None]
    return activate(y, layer.activation)


def ref_max_pooling2d(layer: MaxPooling2D, x: Tensor, weights: Weights) -> Tensor:
    pads = resolved_pads(layer.padding, x, layer.pool_size, layer.step)
    return F.max_pool2d(F.pad(x, pads, value=-math.inf), layer.pool_size, layer.step)


def ref_average_pooling2d(layer: AveragePooling2D, x: Tensor, weights: Weights) -> Tensor:
    """Zero-padded window sums divided by the share of real pixels (the same pooling of a ones mask)."""
    pads = resolved_pads(layer.padding, x, layer.pool_size, layer.step)
    sums = F.avg_pool2d(F.pad(x, pads), layer.pool_size, layer.step)
    real = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pads), layer.pool_size, layer.step)
    return sums / real


def ref_global_average_pooling2d(layer: GlobalAveragePooling2D, x: Tensor, weights: Weights) -> Tensor:
    return x.mean(dim=(2, 3), keepdim=layer.keepdims)


def ref_global_max_pooling2d(layer: GlobalMaxPooling2D, x: Tensor, weights: Weights) -> Tensor:
    return x.amax(dim=(2, 3), keepdim=layer.keepdims)


def ref_batch_normalization(layer: BatchNormalization, x: Tensor, weights: Weights) -> Tensor:
    channels = (x.shape[1],)
    return F.batch_norm(
        x,
        tensor(expect_shape(weights, "moving_mean", channels)),
        tensor(expect_shape(weights, "moving_variance", channels)),
        tensor(expect_shape(weights, "gamma", channels)) if layer.scale else None,
        tensor(expect_shape(weights, "beta", channels)) if layer.center else None,
        training=False,
        eps=layer.epsilon,
    )


def ref_dense(layer: Dense, x: Tensor, weights: Weights) -> Tensor:
    """On the last Keras axis: the features of (N, F), the channels of NCHW."""
    features = x.shape[1]
    kernel = tensor(expect_shape(weights, "kernel", (features, layer.units)))
    bias = bias_of(layer, weights, layer.units)
    if x.dim() == 2:
        y = F.linear(x, kernel.T, bias)
    else:
        y = F.linear(x.permute(0, 2, 3, 1), kernel.T, bias).permute(0, 3, 1, 2)
    return activate(y, layer.activation)


def ref_flatten(layer: Flatten, x: Tensor, weights: Weights) -> Tensor:
    """Keras flattens channels-last: (H, W, C) row by row."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x


def ref_dropout(layer: Dropout, x: Tensor, weights: Weights) -> Tensor:
    return x


def ref_activation(layer: Activation, x: Tensor, weights: Weights) -> Tensor:
    return activate(x, layer.activation)


def ref_relu(layer: ReLU, x: Tensor, weights: Weights) -> Tensor:
    return keras_relu(x, layer.max_value, layer.negative_slope, layer.threshold)


def ref_zero_padding2d(layer: ZeroPadding2D, x: Tensor, weights: Weights) -> Tensor:
    (top, bottom), (left, right) = layer.padding
    return F.pad(x, (left, right, top, bottom))


def ref_upsampling2d(layer: UpSampling2D, x: Tensor, weights: Weights) -> Tensor:
    rows, columns = layer.size
    if layer.interpolation == "nearest":
        return x.repeat_interleave(rows, dim=2).repeat_interleave(columns, dim=3)
    # Keras: ops.image.resize(..., "bilinear"), half-pixel centres, no antialiasing when enlarging.
    return F.interpolate(x, size=(x.shape[2] * rows, x.shape[3] * columns), mode="bilinear", align_corners=False)


REFERENCES: dict[type[Layer], Callable[[Layer, Tensor, Weights], Tensor]] = {
    Conv2D: ref_conv2d,
    DepthwiseConv2D: ref_depthwise_conv2d,
    SeparableConv2D: ref_separable_conv2d,
    Conv2DTranspose: ref_conv2d_transpose,
    MaxPooling2D: ref_max_pooling2d,
    AveragePooling2D: ref_average_pooling2d,
    GlobalAveragePooling2D: ref_global_average_pooling2d,
    GlobalMaxPooling2D: ref_global_max_pooling2d,
    BatchNormalization: ref_batch_normalization,
    Dense: ref_dense,
    Flatten: ref_flatten,
    Dropout: ref_dropout,
    Activation: ref_activation,
    ReLU: ref_relu,
    ZeroPadding2D: ref_zero_padding2d,
    UpSampling2D: ref_upsampling2d,
}


def to_torch(keras_value: np.ndarray) -> Tensor:
    """NHWC -> NCHW float64 (a flat (N, F) stays as it is)."""
    value = tensor(keras_value)
    return value.permute(0, 3, 1, 2) if value.dim() == 4 else value


def to_keras(torch_value: Tensor) -> np.ndarray:
    value = torch_value.permute(0, 2, 3, 1) if torch_value.dim() == 4 else torch_value
    return value.contiguous().numpy()


# =============================================================================== random stacks


def pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def pair(rng: np.random.Generator, low: int, high: int) -> list[int]:
    return [int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))]


def conv_padding(rng: np.random.Generator):
    return pick(rng, ["valid", "same", int(rng.integers(0, 3)), pair(rng, 0, 2)])


def activation_or_none(rng: np.random.Generator) -> str | None:
    return pick(rng, [None, None, None, *ACTIVATION_NAMES])


def strides_or_dilation(rng: np.random.Generator) -> dict:
    """Keras refuses strides > 1 together with dilation > 1: one or the other."""
    return pick(rng, [{}, {"strides": pick(rng, [2, [2, 1], [1, 3]])}, {"dilation_rate": pick(rng, [2, [2, 1], [1, 2]])}])


def divisors_above_one(number: int) -> list[int]:
    return [d for d in range(2, number + 1) if number % d == 0]


def transpose_sizes(rng: np.random.Generator, relation: str) -> tuple[list[int], list[int]]:
    """Kernel and strides per axis with kernel <, = or > stride."""
    kernels, strides = [], []
    for _ in range(2):
        if relation == "k<s":
            stride = int(rng.integers(2, 4))
            kernel = int(rng.integers(1, stride))
        elif relation == "k=s":
            kernel = stride = int(rng.integers(1, 4))
        else:
            stride = int(rng.integers(1, 3))
            kernel = stride + int(rng.integers(1, 3))
        kernels.append(kernel)
        strides.append(stride)
    return kernels, strides


Maker = Callable[[np.random.Generator, Shape], Layer | None]


def make_conv(**fixed) -> Maker:
    """A Conv2D with random filters, kernel, padding and activation, and the `fixed` arguments."""

    def make(rng: np.random.Generator, shape: Shape) -> Layer:
        arguments = {
            "filters": int(rng.integers(1, 7)),
            "kernel_size": pair(rng, 1, 4),
            "padding": pick(rng, ["valid", "same"]),
            "activation": activation_or_none(rng),
        }
        return Conv2D(**(arguments | fixed))

    return make


def make_grouped_conv(rng: np.random.Generator, shape: Shape) -> Layer | None:
    options = divisors_above_one(shape[-1])
    if not options:
        return None
    groups = pick(rng, options)
    return make_conv(groups=groups, filters=groups * int(rng.integers(1, 3)), padding=conv_padding(rng))(rng, shape)


def make_winograd_conv(rng: np.random.Generator, shape: Shape) -> Layer | None:
    """3x3, stride 1, 16+ input channels: the engine's Winograd F(2x2) on small maps, F(4x4) from 28x28."""
    if shape[-1] < 16:
        return None
    return make_conv(filters=int(rng.integers(4, 20)), kernel_size=3, padding=pick(rng, ["valid", "same", 1]))(rng, shape)


def make_transpose(relation: str, padding: str) -> Maker:
    def make(rng: np.random.Generator, shape: Shape) -> Layer:
        kernels, strides = transpose_sizes(rng, relation)
        return Conv2DTranspose(
            filters=int(rng.integers(1, 6)),
            kernel_size=kernels,
            strides=strides,
            padding=padding,
            use_bias=bool(rng.integers(0, 4)),
            activation=activation_or_none(rng),
        )

    return make


def make_pool(layer_type: type[Layer], padding: str) -> Maker:
    def make(rng: np.random.Generator, shape: Shape) -> Layer:
        return layer_type(pool_size=pair(rng, 1, 3), strides=pick(rng, [None, None, 1, 2, [1, 2], [3, 2]]), padding=padding)

    return make


SPATIAL: dict[str, Maker] = {
    "conv valid": make_conv(padding="valid"),
    "conv same": make_conv(padding="same"),
    "conv explicit padding": lambda rng, shape: make_conv(padding=pick(rng, [int(rng.integers(1, 3)), pair(rng, 0, 2)]))(rng, shape),
    "conv strides": lambda rng, shape: make_conv(strides=pick(rng, [2, [2, 3], [3, 1]]), padding=conv_padding(rng))(rng, shape),
    "conv same strides": lambda rng, shape: make_conv(strides=pick(rng, [2, 3, [2, 3]]), padding="same")(rng, shape),
    "conv dilation": lambda rng, shape: make_conv(dilation_rate=pick(rng, [2, [2, 1], [1, 3]]), padding=conv_padding(rng))(rng, shape),
    "conv groups": make_grouped_conv,
    "conv no bias": make_conv(use_bias=False),
    "conv winograd small map": make_winograd_conv,  # the focus stacks give these their input size
    "conv winograd large map": make_winograd_conv,
    "depthwise": lambda rng, shape: DepthwiseConv2D(
        kernel_size=pair(rng, 1, 3),
        padding=conv_padding(rng),
        depth_multiplier=int(rng.integers(1, 4)),
        use_bias=bool(rng.integers(0, 3)),
        activation=activation_or_none(rng),
        **strides_or_dilation(rng),
    ),
    "separable": lambda rng, shape: SeparableConv2D(
        filters=int(rng.integers(1, 6)),
        kernel_size=pair(rng, 1, 3),
        padding=conv_padding(rng),
        depth_multiplier=int(rng.integers(1, 3)),
        use_bias=bool(rng.integers(0, 3)),
        activation=activation_or_none(rng),
        **strides_or_dilation(rng),
    ),
    **{
        f"transpose {padding} {relation}": make_transpose(relation, padding)
        for padding in ("valid", "same")
        for relation in ("k<s", "k=s", "k>s")
    },
    "max pool valid": make_pool(MaxPooling2D, "valid"),
    "max pool same": make_pool(MaxPooling2D, "same"),
    "average pool valid": make_pool(AveragePooling2D, "valid"),
    "average pool same": make_pool(AveragePooling2D, "same"),
    "batch norm": lambda rng, shape: BatchNormalization(epsilon=pick(rng, [0.001, 0.01, 1e-5])),
    "batch norm without center or scale": lambda rng, shape: BatchNormalization(center=bool(rng.integers(0, 2)), scale=False)
    if rng.integers(0, 2)
    else BatchNormalization(center=False),
    "dense on last axis": lambda rng, shape: Dense(units=int(rng.integers(1, 6)), activation=activation_or_none(rng), use_bias=bool(rng.integers(0, 3))),
    "dropout": lambda rng, shape: Dropout(rate=float(rng.uniform(0, 0.9))),
    **{f"activation {name}": (lambda name: lambda rng, shape: Activation(activation=name))(name) for name in ACTIVATION_NAMES},
    "relu plain": lambda rng, shape: ReLU(),
    "relu max_value": lambda rng, shape: ReLU(max_value=pick(rng, [0.5, 1.0, 6.0])),
    "relu negative_slope": lambda rng, shape: ReLU(negative_slope=pick(rng, [0.1, 0.25, 0.5])),
    "relu threshold": lambda rng, shape: ReLU(threshold=pick(rng, [0.25, 0.5, 1.0])),
    "relu all options": lambda rng, shape: ReLU(max_value=pick(rng, [1.5, 2.0]), negative_slope=pick(rng, [0.1, 0.5]), threshold=pick(rng, [0.25, 0.5])),
    "relu slope and max": lambda rng, shape: ReLU(max_value=6, negative_slope=0.2),
    "zero padding asymmetric": lambda rng, shape: ZeroPadding2D(padding=[[0, int(rng.integers(1, 3))], [int(rng.integers(1, 4)), 0]])
    if rng.integers(0, 2)
    else ZeroPadding2D(padding=[[2, 1], [0, 3]]),
    "upsampling nearest": lambda rng, shape: UpSampling2D(size=pick(rng, [2, [2, 1], [1, 3], [3, 2]])),
    "upsampling bilinear": lambda rng, shape: UpSampling2D(size=pick(rng, [2, [2, 1], [1, 3], [3, 2]]), interpolation="bilinear"),
}

# The end of a stack: from maps to vectors.
TAILS: dict[str, list[Callable[[np.random.Generator], Layer]]] = {
    "flatten then dense": [lambda rng: Flatten(), lambda rng: Dense(units=int(rng.integers(1, 8)), activation=activation_or_none(rng))],
    "flatten, dense, batch norm, activation, dense softmax": [
        lambda rng: Flatten(),
        lambda rng: Dense(units=int(rng.integers(2, 8))),
        lambda rng: BatchNormalization(),
        lambda rng: Activation(activation=pick(rng, list(ACTIVATION_NAMES))),
        lambda rng: Dropout(rate=0.5),
        lambda rng: Dense(units=int(rng.integers(2, 6)), activation="softmax"),
    ],
    "global average pooling": [lambda rng: GlobalAveragePooling2D(), lambda rng: Dense(units=int(rng.integers(1, 6)))],
    "global max pooling": [lambda rng: GlobalMaxPooling2D(), lambda rng: ReLU(negative_slope=0.3)],
    "global pooling keepdims": [
        lambda rng: pick(rng, [GlobalAveragePooling2D, GlobalMaxPooling2D])(keepdims=True),
        lambda rng: Dense(units=int(rng.integers(1, 6)), activation="softmax"),
    ],
    "flatten alone": [lambda rng: Flatten()],
    "no tail": [],
}

FEATURES = [*SPATIAL, *TAILS]
STACK_COUNT = 64
MAX_VALUES = 3000  # per image, per layer (or twice the input): keeps every stack fast


@dataclass(frozen=True)
class Case:
    stack: Stack
    weights: dict[int, Weights]
    image: np.ndarray
    features: frozenset[str]

    def describe(self) -> str:
        return f"{self.stack.input_shape} -> " + " -> ".join(layer.label for layer in self.stack.layers)


def input_shape_for(focus: str, rng: np.random.Generator) -> Shape:
    if focus == "conv winograd small map":
        return (*pair(rng, 6, 12), int(rng.integers(16, 20)))
    if focus == "conv winograd large map":
        return (*pair(rng, 28, 31), 16)
    if focus == "conv groups":
        return (*pair(rng, 5, 10), pick(rng, [2, 3, 4, 6]))
    return (*pair(rng, 4, 12), int(rng.integers(1, 5)))


def fits(stack: Stack) -> bool:
    info = stack.infer().layers[-1]
    budget = max(MAX_VALUES, 2 * math.prod(stack.input_shape))  # the Winograd stacks start at 28x28x16
    return info.is_valid and math.prod(info.output_shape) <= budget and all(side <= 48 for side in info.output_shape[:2])


GROUPS: dict[str, list[str]] = {}
for _feature in SPATIAL:
    if not _feature.startswith("conv winograd"):
        GROUPS.setdefault(_feature.split()[0], []).append(_feature)


def any_kind(rng: np.random.Generator) -> str:
    """A feature of a random layer kind (conv, transpose, pool, activation, relu...), each kind as likely."""
    return pick(rng, GROUPS[pick(rng, sorted(GROUPS))])


def append(stack: Stack, rng: np.random.Generator, choose: Callable[[np.random.Generator], str], tries: int = 100) -> tuple[Stack, str]:
    """The stack with one more layer of a feature from `choose`, drawn until one applies to the current shape."""
    for _ in range(tries):
        feature = choose(rng)
        layer = SPATIAL[feature](rng, stack.infer().output_shape)
        if layer is not None:
            candidate = Stack(stack.input_shape, (*stack.layers, layer))
            if fits(candidate):
                return candidate, feature
    raise AssertionError(f"could not append a layer to {stack.infer().output_shape}")


def random_weights(stack: Stack, rng: np.random.Generator) -> dict[int, Weights]:
    """Random weights in Keras layouts, scaled so that values stay near 1 through the stack."""
    weights: dict[int, Weights] = {}
    for info in stack.infer().layers:
        named = {}
        for weight in info.weights:
            shape = weight.shape
            if weight.depthwise:
                value = rng.normal(size=shape) / math.sqrt(shape[0] * shape[1])
            elif weight.name in ("kernel", "pointwise_kernel"):
                value = rng.normal(size=shape) / math.sqrt(math.prod(shape[:-1]))
            elif weight.name in ("gamma", "moving_variance"):
                value = rng.uniform(0.5, 2.0, shape)
            else:  # bias, beta, moving_mean
                value = rng.normal(size=shape) * 0.5
            named[weight.name] = value.astype(np.float32)
        if named:
            weights[info.index] = named
    return weights


# Focus features put first, on the image itself: Winograd needs the input's 16 channels and size;
# "same" pooling of a mostly negative image shows whether padding wins a max or dilutes a mean.
ON_THE_IMAGE = {"conv winograd small map", "conv winograd large map", "max pool same", "average pool same"}


def random_case(number: int) -> Case:
    """Stack `number`: a few random map layers around one focus feature (each feature in turn), then a tail."""
    rng = np.random.default_rng([20240611, number])
    focus = FEATURES[number % len(FEATURES)]
    stack = Stack(input_shape_for(focus, rng))
    features = []
    if focus in SPATIAL:
        if focus not in ON_THE_IMAGE:
            for _ in range(int(rng.integers(0, 2))):
                stack, feature = append(stack, rng, any_kind)
                features.append(feature)
        stack, feature = append(stack, rng, lambda rng: focus)
        features.append(feature)
    for _ in range(int(rng.integers(1, 4))):
        stack, feature = append(stack, rng, any_kind)
        features.append(feature)
    tail = focus if focus in TAILS else pick(rng, list(TAILS))
    for make in TAILS[tail]:
        stack = Stack(stack.input_shape, (*stack.layers, make(rng)))
    features.append(tail)
    assert stack.infer().valid, stack
    # Some images mostly negative: padding must never win a max pool, nor leak into a mean.
    mean = -1.5 if focus in ("max pool same", "average pool same") else pick(rng, [0.0, -1.5])
    image = rng.normal(loc=mean, size=(2, *stack.input_shape)).astype(np.float32)
    return Case(stack, random_weights(stack, rng), image, frozenset(features))


# =============================================================================== the tests


def assert_close(ours: np.ndarray, expected: np.ndarray, what: str, tolerance: float) -> None:
    """Max error within `tolerance` times the layer's scale (its largest magnitude)."""
    assert ours.dtype == np.float32, f"{what}: {ours.dtype}"
    assert ours.shape == expected.shape, f"{what}: shape {ours.shape}, PyTorch {expected.shape}"
    scale = max(float(np.abs(expected).max()), 1e-3)
    error = float(np.abs(ours.astype(np.float64) - expected).max())
    assert error <= tolerance * scale, f"{what}: max error {error:.3g}, over {tolerance} x scale {scale:.3g}"


def reference(layer: Layer, keras_value: np.ndarray | Tensor, weights: Weights) -> Tensor:
    value = keras_value if isinstance(keras_value, torch.Tensor) else to_torch(keras_value)
    return REFERENCES[type(layer)](layer, value, weights)


def has_jump(layer: Layer) -> bool:
    """A thresholded ReLU jumps at its threshold: past it, chained float32 errors may flip a value."""
    return isinstance(layer, ReLU) and layer.threshold != 0


@pytest.mark.parametrize("number", range(STACK_COUNT))
def test_a_random_stack_matches_pytorch(number: int) -> None:
    case = random_case(number)
    stack_info = case.stack.infer()
    result = forward(case.stack, case.image, case.weights)
    assert len(result.outputs) == len(stack_info.layers)
    # Each layer alone, from the engine's own input to it.
    for info, layer_input, ours in zip(stack_info.layers, (result.input, *result.outputs), result.outputs):
        expected = to_keras(reference(info.layer, layer_input, case.weights.get(info.index, {})))
        assert ours.shape == (2, *info.output_shape), f"layer {info.index}: {ours.shape} vs inferred {info.output_shape}"
        assert_close(ours, expected, f"stack {number} [{case.describe()}], layer {info.index} {info.layer.label}", 1e-4)
    # The whole chain, from the image.
    value = to_torch(case.image)
    for info, ours in zip(stack_info.layers, result.outputs):
        value = reference(info.layer, value, case.weights.get(info.index, {}))
        assert_close(ours, to_keras(value), f"stack {number} [{case.describe()}], chained to layer {info.index} {info.layer.label}", 1e-3)
        if has_jump(info.layer):
            break


def test_the_random_stacks_cover_every_layer_type_and_option() -> None:
    cases = [random_case(number) for number in range(STACK_COUNT)]
    covered = frozenset().union(*(case.features for case in cases))
    assert covered == set(FEATURES)
    layer_types = {type(layer) for case in cases for layer in case.stack.layers}
    assert layer_types == set(REFERENCES)
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATION_NAMES)
    layers = [layer for case in cases for layer in case.stack.layers]
    transposes = {
        (layer.padding, "k<s" if k < s else "k=s" if k == s else "k>s")
        for layer in layers
        if isinstance(layer, Conv2DTranspose)
        for k, s in zip(layer.kernel_size, layer.strides)
    }
    assert transposes == {(padding, relation) for padding in ("valid", "same") for relation in ("k<s", "k=s", "k>s")}
    winograd_inputs = {
        min(info.input_shape[:2]) >= 28
        for case in cases
        for info in case.stack.infer().layers
        if isinstance(info.layer, Conv2D)
        and info.layer.kernel_size == (3, 3)
        and info.layer.strides == (1, 1)
        and info.layer.dilation_rate == (1, 1)
        and info.layer.groups == 1
        and info.input_shape[-1] >= 16
    }
    assert winograd_inputs == {True, False}  # both Winograd tile sizes are exercised
    paddings = {layer.padding if isinstance(layer.padding, str) else "explicit" for layer in layers if isinstance(layer, (Conv2D, DepthwiseConv2D, SeparableConv2D))}
    assert paddings == {"valid", "same", "explicit"}


# =============================================================================== the reference itself


def test_the_reference_same_padding_puts_the_odd_pixel_after() -> None:
    """TensorFlow's rule, by hand: n=5, k=2, s=2 -> output 3, total pad 1, all of it at the end."""
    assert tf_same_pads(5, 2, 2) == (0, 1)
    assert tf_same_pads(6, 3, 1) == (1, 1)
    assert tf_same_pads(6, 4, 1) == (1, 2)
    assert tf_same_pads(7, 3, 1, dilation=2) == (2, 2)


def test_the_reference_average_pool_same_divides_by_real_pixels() -> None:
    x = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
    y = ref_average_pooling2d(AveragePooling2D(pool_size=2, strides=2, padding="same"), x, {})
    # windows: [1 2 4 5] -> 3, [3 6] -> 4.5, [7 8] -> 7.5, [9] -> 9
    assert y.flatten().tolist() == [3.0, 4.5, 7.5, 9.0]


def test_the_reference_max_pool_same_never_lets_padding_win() -> None:
    x = -torch.ones(1, 1, 3, 3, dtype=torch.float64)
    y = ref_max_pooling2d(MaxPooling2D(pool_size=2, padding="same"), x, {})
    assert y.flatten().tolist() == [-1.0] * 4


def test_the_reference_keras_relu_matches_keras_documented_examples() -> None:
    """keras.activations.relu's docstring examples."""
    x = torch.tensor([-10.0, -5.0, 0.0, 5.0, 10.0], dtype=torch.float64)
    assert keras_relu(x, None, 0.5, 0.0).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
    assert keras_relu(x, 5.0, 0.0, 0.0).tolist() == [0.0, 0.0, 0.0, 5.0, 5.0]
    assert keras_relu(x, None, 0.0, 5.0).tolist() == [0.0, 0.0, 0.0, 0.0, 10.0]
    # keras.layers.ReLU's docstring: max_value=10, negative_slope=0.5, threshold=0
    assert keras_relu(x, 10.0, 0.5, 0.0).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
