"""Training gradients of every layer type but the convolutions (tested beside their own code),
against PyTorch autograd and central finite differences; BatchNormalization's training step
against Keras's own layer; random graphs' whole-network gradients against the same graph in PyTorch.

Every check differentiates the scalar loss sum(output * probe), the probe random, so each output
value weighs differently. The reference below is written with torch.nn.functional on NHWC float64
tensors (permuted to NCHW where an op wants it) with Keras's semantics spelt out: TensorFlow's
"same" pads (the odd pixel after), max pooling padded with -inf, average pooling divided by the
real pixels, Keras's activations. Finite differences run in float64 through convtui's own
training forward; where a forward computes in float32 whatever it is given (the ReLU layer, gelu)
the step is larger and the tolerance looser, as float32 rounding allows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from convtui.engine.activations import ACTIVATIONS, erfc  # noqa: E402
from convtui.engine.gradients import GRADIENTS, TrainContext, activation_backward  # noqa: E402
from convtui.engine.gradients.graph import backpropagate, moving_updates, training_backward, training_forward  # noqa: E402
from convtui.engine.runners import RUNNERS, Context  # noqa: E402
from convtui.engine.weights import initial_weights  # noqa: E402
from convtui.errors import EngineError  # noqa: E402
from convtui.model import Stack  # noqa: E402
from convtui.model.arguments import ACTIVATION_NAMES  # noqa: E402
from convtui.model.layers import (  # noqa: E402
    LAYER_TYPES,
    Activation,
    Add,
    Average,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Identity,
    Layer,
    LayerNormalization,
    LayerScale,
    Maximum,
    MaxPooling2D,
    Minimum,
    Multiply,
    Normalization,
    ReLU,
    Rescaling,
    Reshape,
    Subtract,
    UpSampling2D,
    ZeroPadding2D,
)

Tensor = torch.Tensor
Arrays = dict[str, np.ndarray]
KINKS = (0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0)
"""Where an activation (or the ReLU layer's options below) bends or jumps: finite differences stay clear."""
TORCH_TOLERANCE = 1e-7
"""Float64 throughout, but for constants the engine rounds to float32 (bilinear weights such as 1/3)."""
FLOAT32_TOLERANCE = 1e-4


# =============================================================================== the torch reference


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(n / s), the total padding split with the odd pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def torch_pads(padding: str, x: Tensor, kernel: tuple[int, int], strides: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) of an NHWC tensor, F.pad's order for NCHW."""
    if padding == "valid":
        return (0, 0, 0, 0)
    top, bottom = tf_same_pads(x.shape[1], kernel[0], strides[0])
    left, right = tf_same_pads(x.shape[2], kernel[1], strides[1])
    return (left, right, top, bottom)


def nchw(x: Tensor) -> Tensor:
    return x.permute(0, 3, 1, 2)


def nhwc(x: Tensor) -> Tensor:
    return x.permute(0, 2, 3, 1)


def keras_relu(x: Tensor, max_value: float | None, negative_slope: float, threshold: float) -> Tensor:
    """keras.src.activations.activations.ReLU.static_call, step by step."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    y = x * (x > threshold) if threshold != 0 else F.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0.0, max_value)
    return y - negative_slope * F.relu(threshold - x) if negative_slope != 0 else y


TORCH_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": lambda x: x,
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),  # Keras 3's default slope (PyTorch's is 0.01)
    "elu": F.elu,
    "selu": F.selu,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6, Keras 3's definition
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "softplus": lambda x: torch.logaddexp(x, torch.zeros_like(x)),  # F.softplus turns linear past 20
    "swish": F.silu,
    "silu": F.silu,
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "mish": F.mish,
    "celu": F.celu,
    "softsign": F.softsign,
    "exponential": torch.exp,
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "log_sigmoid": F.logsigmoid,
    "hard_tanh": F.hardtanh,
    "tanh_shrink": F.tanhshrink,
    "hard_shrink": lambda x: F.hardshrink(x, 0.5),
    "soft_shrink": lambda x: F.softshrink(x, 0.5),
    "sparse_sigmoid": lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0),
    "sparse_plus": lambda x: torch.where(x >= 1, x, torch.clamp(x + 1, 0.0, 2.0) ** 2 / 4),
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4)) / 2,
}


def activate(x: Tensor, name: str | None) -> Tensor:
    return x if name is None else TORCH_ACTIVATIONS[name](x)


def ref_max_pooling(layer: MaxPooling2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    pads = torch_pads(layer.padding, x, layer.pool_size, layer.step)
    return nhwc(F.max_pool2d(F.pad(nchw(x), pads, value=-math.inf), layer.pool_size, layer.step))


def ref_average_pooling(layer: AveragePooling2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    """Zero-padded window sums over the same sums of a ones mask (the real pixels)."""
    pads = torch_pads(layer.padding, x, layer.pool_size, layer.step)

    def sums(image: Tensor) -> Tensor:
        return F.avg_pool2d(F.pad(nchw(image), pads), layer.pool_size, layer.step, divisor_override=1)

    return nhwc(sums(x) / sums(torch.ones_like(x[:1, :, :, :1])))


def ref_batch_normalization(layer: BatchNormalization, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    channels_first = nchw(x) if x.dim() == 4 else x
    y = F.batch_norm(channels_first, None, None, w.get("gamma"), w.get("beta"), training=True, eps=layer.epsilon)
    return nhwc(y) if x.dim() == 4 else y


def laid_out(value: Tensor, axes: tuple[int, ...], x: Tensor) -> Tensor:
    return value.reshape([x.shape[axis] if axis in axes else 1 for axis in range(x.dim())])


def ref_layer_normalization(layer: LayerNormalization, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    """F.layer_norm where the axes are the trailing ones; Keras's formula in torch ops otherwise."""
    axes = tuple(sorted(axis % x.dim() for axis in layer.axis))
    trailing = axes == tuple(range(x.dim() - len(axes), x.dim()))
    if trailing and not layer.rms_scaling:
        return F.layer_norm(x, x.shape[axes[0] :], w.get("gamma"), w.get("beta"), layer.epsilon)
    variance, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=True)
    y = (x if layer.rms_scaling else x - mean) * torch.rsqrt(variance + layer.epsilon)
    if "gamma" in w:
        y = y * laid_out(w["gamma"], axes, x)
    return y + laid_out(w["beta"], axes, x) if "beta" in w else y


def ref_normalization(layer: Normalization, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    """Statistics on the last axis (or one for all), as the cases below give them."""
    mean = w["mean"] if layer.has_weights else torch.tensor(layer.mean, dtype=x.dtype)
    deviation = torch.clamp(torch.sqrt(w["variance"] if layer.has_weights else torch.tensor(layer.variance, dtype=x.dtype)), min=1e-7)
    return mean + x * deviation if layer.invert else (x - mean) / deviation


def ref_dense(layer: Dense, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    return activate(F.linear(x, w["kernel"].T, w.get("bias")), layer.activation)


def ref_conv2d(layer: Conv2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    pads = torch_pads(layer.padding, x, layer.kernel_size, layer.strides)
    y = F.conv2d(F.pad(nchw(x), pads), w["kernel"].permute(3, 2, 0, 1).contiguous(), w.get("bias"), layer.strides)
    return activate(nhwc(y), layer.activation)


def ref_depthwise_conv2d(layer: DepthwiseConv2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    """Keras (kh, kw, C, m) -> PyTorch (C*m, 1, kh, kw) with groups = C: output channel c*m + k."""
    kernel_h, kernel_w, channels, multiplier = w["kernel"].shape
    weight = w["kernel"].reshape(kernel_h, kernel_w, channels * multiplier).permute(2, 0, 1).unsqueeze(1).contiguous()
    pads = torch_pads(layer.padding, x, layer.kernel_size, layer.strides)
    y = F.conv2d(F.pad(nchw(x), pads), weight, w.get("bias"), layer.strides, groups=channels)
    return activate(nhwc(y), layer.activation)


def ref_upsampling(layer: UpSampling2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    rows, columns = layer.size
    if layer.interpolation == "nearest":
        return x.repeat_interleave(rows, dim=1).repeat_interleave(columns, dim=2)
    size = (x.shape[1] * rows, x.shape[2] * columns)
    return nhwc(F.interpolate(nchw(x), size=size, mode="bilinear", align_corners=False))


def ref_cropping(layer: Cropping2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    (top, bottom), (left, right) = layer.cropping
    return x[:, top : x.shape[1] - bottom, left : x.shape[2] - right]


def ref_zero_padding(layer: ZeroPadding2D, x: Tensor, w: dict[str, Tensor]) -> Tensor:
    (top, bottom), (left, right) = layer.padding
    return nhwc(F.pad(nchw(x), (left, right, top, bottom)))


def keras_expanded(xs: list[Tensor]) -> list[Tensor]:
    """Keras's Merge.call: each lower-rank input unsqueezed at dim 1, after the batch, until the ranks match."""
    rank = max(x.dim() for x in xs)
    return [x.reshape(x.shape[0], *(1,) * (rank - x.dim()), *x.shape[1:]) for x in xs]


def fold(combine: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Layer, list[Tensor], dict], Tensor]:
    return lambda layer, xs, w: functools.reduce(combine, keras_expanded(xs))


REFERENCES: dict[type[Layer], Callable[[Layer, Tensor | list[Tensor], dict[str, Tensor]], Tensor]] = {
    Conv2D: ref_conv2d,
    DepthwiseConv2D: ref_depthwise_conv2d,
    MaxPooling2D: ref_max_pooling,
    AveragePooling2D: ref_average_pooling,
    GlobalAveragePooling2D: lambda layer, x, w: x.mean(dim=(1, 2), keepdim=layer.keepdims),
    GlobalMaxPooling2D: lambda layer, x, w: x.amax(dim=(1, 2), keepdim=layer.keepdims),
    BatchNormalization: ref_batch_normalization,
    LayerNormalization: ref_layer_normalization,
    Normalization: ref_normalization,
    Rescaling: lambda layer, x, w: x * torch.tensor(layer.scale, dtype=x.dtype) + torch.tensor(layer.offset, dtype=x.dtype),
    Dense: ref_dense,
    Identity: lambda layer, x, w: x,
    LayerScale: lambda layer, x, w: x * w["gamma"],
    Activation: lambda layer, x, w: activate(x, layer.activation),
    ReLU: lambda layer, x, w: keras_relu(x, layer.max_value, layer.negative_slope, layer.threshold),
    Flatten: lambda layer, x, w: x.reshape(x.shape[0], -1),
    Reshape: lambda layer, x, w: x.reshape(x.shape[0], *layer.target_shape),
    ZeroPadding2D: ref_zero_padding,
    Cropping2D: ref_cropping,
    UpSampling2D: ref_upsampling,
    Add: fold(torch.add),
    Subtract: lambda layer, xs, w: torch.sub(*keras_expanded(xs)),
    Multiply: fold(torch.mul),
    Average: lambda layer, xs, w: fold(torch.add)(layer, xs, w) / len(xs),
    Maximum: fold(torch.maximum),
    Minimum: fold(torch.minimum),
    Concatenate: lambda layer, xs, w: torch.cat(xs, dim=layer.axis),
}


# =============================================================================== one layer


@dataclass(frozen=True)
class Case:
    """A layer and the shapes (batch axis first) of its inputs; `scale` spreads the inputs over the activations' kinks."""

    layer: Layer
    shapes: tuple[tuple[int, ...], ...]
    scale: float = 1.0


def case(layer: Layer, *shapes: tuple[int, ...], scale: float = 1.0) -> Case:
    return Case(layer, shapes or ((2, 5, 6, 3),), scale)


CASES: dict[str, Case] = {
    "max pool 2x2": case(MaxPooling2D()),
    "max pool 3x3 stride 2 same": case(MaxPooling2D(pool_size=3, strides=2, padding="same"), (2, 7, 6, 2)),
    "max pool 2x3 strides (1, 2) same": case(MaxPooling2D(pool_size=(2, 3), strides=(1, 2), padding="same")),
    "avg pool 2x2": case(AveragePooling2D()),
    "avg pool 3x3 stride 2 same": case(AveragePooling2D(pool_size=3, strides=2, padding="same"), (2, 7, 6, 2)),
    "avg pool 3x2 stride 1 same": case(AveragePooling2D(pool_size=(3, 2), strides=1, padding="same")),
    "global avg": case(GlobalAveragePooling2D()),
    "global avg keepdims": case(GlobalAveragePooling2D(keepdims=True)),
    "global max": case(GlobalMaxPooling2D()),
    "global max keepdims": case(GlobalMaxPooling2D(keepdims=True)),
    "batch norm": case(BatchNormalization(momentum=0.9)),
    "batch norm no center": case(BatchNormalization(center=False)),
    "batch norm no scale": case(BatchNormalization(scale=False, epsilon=0.01)),
    "batch norm neither": case(BatchNormalization(center=False, scale=False)),
    "batch norm flat": case(BatchNormalization(), (6, 4)),
    "layer norm": case(LayerNormalization()),
    "layer norm H W C": case(LayerNormalization(axis=(-3, -2, -1))),
    "layer norm H W": case(LayerNormalization(axis=(1, 2))),
    "layer norm rms": case(LayerNormalization(rms_scaling=True)),
    "layer norm no center no scale": case(LayerNormalization(center=False, scale=False), (3, 7)),
    "normalization given": case(Normalization(mean=(0.5, -1.0, 2.0), variance=(4.0, 0.25, 1.0))),
    "normalization weights": case(Normalization()),
    "normalization invert": case(Normalization(mean=0.5, variance=2.0, invert=True, axis=None)),
    "rescaling": case(Rescaling(scale=1 / 255, offset=-1.0)),
    "rescaling per channel": case(Rescaling(scale=(0.5, 2.0, -1.0), offset=(0.0, 1.0, 2.0))),
    "dense flat softmax": case(Dense(units=4, activation="softmax"), (3, 5)),
    "dense on a map swish": case(Dense(units=3, activation="swish")),
    "dense no bias tanh": case(Dense(units=2, use_bias=False, activation="tanh"), (2, 3, 4)),
    "identity": case(Identity()),
    "layer scale": case(LayerScale(init_values=0.1, projection_dim=3)),
    "relu max 6": case(ReLU(max_value=6.0), scale=4.0),
    "relu leaky": case(ReLU(negative_slope=0.1), scale=4.0),
    "relu threshold": case(ReLU(threshold=0.5), scale=4.0),
    "relu all options": case(ReLU(max_value=3.0, negative_slope=0.2, threshold=1.0), scale=4.0),
    "flatten": case(Flatten()),
    "reshape": case(Reshape(target_shape=(-1, 3))),
    "zero padding": case(ZeroPadding2D(padding=((1, 2), (0, 3)))),
    "cropping": case(Cropping2D(cropping=((1, 0), (2, 1)))),
    "upsampling nearest": case(UpSampling2D(size=(2, 3)), (2, 3, 4, 2)),
    "upsampling bilinear": case(UpSampling2D(size=(2, 2), interpolation="bilinear"), (2, 3, 4, 2)),
    "upsampling bilinear 3x2": case(UpSampling2D(size=(3, 2), interpolation="bilinear"), (2, 3, 4, 2)),
    "add three": case(Add(), (2, 4, 5, 3), (2, 4, 5, 3), (2, 4, 5, 3)),
    "add broadcast": case(Add(), (2, 1, 1, 3), (2, 4, 5, 3)),
    "subtract broadcast": case(Subtract(), (2, 4, 5, 3), (2, 4, 1, 3)),
    "multiply gate": case(Multiply(), (2, 4, 5, 3), (2, 1, 1, 3)),
    "multiply three": case(Multiply(), (2, 4, 5, 3), (2, 4, 5, 3), (2, 1, 5, 3)),
    "average": case(Average(), (2, 4, 5, 3), (2, 4, 5, 3), (2, 1, 1, 3)),
    "maximum": case(Maximum(), (2, 4, 5, 3), (2, 4, 5, 3), (2, 4, 5, 3)),
    "minimum broadcast": case(Minimum(), (2, 4, 5, 3), (2, 1, 5, 3)),
    "multiply gate of lower rank": case(Multiply(), (4, 3, 4, 4), (4, 4)),  # 4 images and 4 columns: NumPy alone would mix them up
    "add ranks 2, 3 and 1": case(Add(), (2, 5, 3), (2, 4, 5, 3), (2, 1)),
    "subtract of lower rank": case(Subtract(), (2, 3), (2, 4, 5, 3)),
    "average of ranks 1 and 3": case(Average(), (2, 4, 5, 3), (2, 3), (2, 4, 1, 3)),
    "maximum of lower rank": case(Maximum(), (2, 4, 5, 3), (2, 5, 1)),
    "minimum of lower rank": case(Minimum(), (2, 3), (2, 4, 5, 3)),
    "concatenate channels": case(Concatenate(), (2, 4, 5, 3), (2, 4, 5, 1), (2, 4, 5, 2)),
    "concatenate rows": case(Concatenate(axis=1), (2, 4, 5, 3), (2, 2, 5, 3)),
    "concatenate columns": case(Concatenate(axis=-2), (2, 4, 5, 3), (2, 4, 1, 3)),
    "concatenate flat": case(Concatenate(), (2, 3), (2, 5)),
    **{f"activation {name}": case(Activation(activation=name), (2, 3, 4, 5), scale=3.0) for name in ACTIVATION_NAMES},
}


def away_from_kinks(x: np.ndarray, margin: float = 0.02) -> np.ndarray:
    """x with every value within `margin` of a kink moved past it, so finite differences see one smooth piece."""
    for kink in KINKS:
        x = np.where(np.abs(x - kink) < margin, x + 2.5 * margin, x)
    return x


def random_inputs(test_case: Case, rng: np.random.Generator) -> list[np.ndarray]:
    return [away_from_kinks(rng.normal(0.0, test_case.scale, shape)) for shape in test_case.shapes]


def random_weights(layer: Layer, shape: tuple[int, ...], rng: np.random.Generator) -> Arrays:
    """Every weight the layer has; variances positive and away from 0, the rest normal."""
    positive = ("variance", "moving_variance")
    return {
        weight.name: rng.uniform(0.5, 2.0, weight.shape) if weight.name in positive else rng.normal(0.0, 1.0, weight.shape)
        for weight in layer.infer(shape).weights
    }


def trainable_names(layer: Layer, shape: tuple[int, ...]) -> set[str]:
    return {weight.name for weight in layer.infer(shape).weights if weight.trainable}


def run_ours(layer: Layer, xs: Sequence[np.ndarray], weights: Arrays, probe: np.ndarray | None = None, seed: int = 0):
    """The training forward, and with a probe its backward: (Forwarded, input gradients, weight gradients)."""
    gradient = GRADIENTS[type(layer)]
    forwarded = gradient.forward(layer, list(xs) if layer.is_merge else xs[0], weights, TrainContext(np.random.default_rng(seed)))
    if probe is None:
        return forwarded, [], {}
    d_inputs, d_weights = gradient.backward(layer, forwarded.cache, probe, weights)
    return forwarded, list(d_inputs) if layer.is_merge else [d_inputs], d_weights


def run_torch(layer: Layer, xs: Sequence[np.ndarray], weights: Arrays, probe: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], Arrays]:
    """The reference output and the loss's gradients by autograd, in float64."""
    inputs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    parameters = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in weights.items()}
    output = REFERENCES[type(layer)](layer, inputs if layer.is_merge else inputs[0], parameters)
    (output * torch.from_numpy(probe)).sum().backward()
    grads = {name: tensor.grad.numpy() for name, tensor in parameters.items() if tensor.grad is not None}
    return output.detach().numpy(), [tensor.grad.numpy() for tensor in inputs], grads


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference over the largest expected value (at least 1)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.abs(np.asarray(actual, np.float64) - expected).max(initial=0.0)) / max(float(np.abs(expected).max(initial=0.0)), 1.0)


def finite_differences(loss: Callable[[], float], array: np.ndarray, step: float) -> np.ndarray:
    """Central differences of loss() in every entry of `array` (changed in place, then restored)."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        kept = array[index]
        array[index] = kept + step
        above = loss()
        array[index] = kept - step
        below = loss()
        array[index] = kept
        gradient[index] = (above - below) / (2 * step)
    return gradient


def setup(name: str, seed: int = 0) -> tuple[Case, list[np.ndarray], Arrays, np.ndarray]:
    """A case's float64 inputs, weights and probe."""
    test_case = CASES[name]
    rng = np.random.default_rng(seed)
    xs = random_inputs(test_case, rng)
    weights = {} if test_case.layer.is_merge else random_weights(test_case.layer, test_case.shapes[0][1:], rng)
    output = run_ours(test_case.layer, xs, weights)[0].output
    return test_case, xs, weights, rng.normal(size=output.shape)


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_torch_autograd_in_float64(name: str) -> None:
    test_case, xs, weights, probe = setup(name)
    layer = test_case.layer
    forwarded, d_inputs, d_weights = run_ours(layer, xs, weights, probe)
    output, torch_inputs, torch_weights = run_torch(layer, xs, weights, probe)
    float32_forward = forwarded.output.dtype == np.float32  # the ReLU layer and gelu compute in float32 whatever they get
    assert relative_error(forwarded.output, output) <= (FLOAT32_TOLERANCE if float32_forward else TORCH_TOLERANCE)
    assert set(d_weights) == trainable_names(layer, test_case.shapes[0][1:]) if not layer.is_merge else not d_weights
    for ours, theirs in zip(d_inputs, torch_inputs, strict=True):
        assert relative_error(ours, theirs) <= TORCH_TOLERANCE
    for weight_name, ours in d_weights.items():
        assert relative_error(ours, torch_weights[weight_name]) <= TORCH_TOLERANCE, weight_name


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences(name: str) -> None:
    test_case, xs, weights, probe = setup(name, seed=1)
    layer = test_case.layer
    forwarded, d_inputs, d_weights = run_ours(layer, xs, weights, probe)
    exact = forwarded.output.dtype == np.float64
    step, tolerance = (1e-6, 1e-6) if exact else (1e-3, 1e-3)

    def loss() -> float:
        return float((run_ours(layer, xs, weights)[0].output * probe).sum())

    for x, ours in zip(xs, d_inputs, strict=True):
        assert relative_error(ours, finite_differences(loss, x, step)) <= tolerance
    for weight_name, ours in d_weights.items():
        assert relative_error(ours, finite_differences(loss, weights[weight_name], step)) <= tolerance, weight_name


@pytest.mark.parametrize("name", CASES)
def test_float32_in_float32_out_close_to_float64_and_to_inference(name: str) -> None:
    """The engine's dtype: every gradient float32, near the float64 reference; the training output is
    the inference output wherever training changes nothing (all but BatchNormalization).
    """
    test_case, xs, weights, probe = setup(name, seed=2)
    layer = test_case.layer
    xs32 = [x.astype(np.float32) for x in xs]
    weights32 = {key: value.astype(np.float32) for key, value in weights.items()}
    forwarded, d_inputs, d_weights = run_ours(layer, xs32, weights32, probe.astype(np.float32))
    _, torch_inputs, torch_weights = run_torch(layer, xs32, weights32, probe.astype(np.float32))
    assert forwarded.output.dtype == np.float32
    for ours, theirs in [*zip(d_inputs, torch_inputs, strict=True), *((d_weights[key], torch_weights[key]) for key in d_weights)]:
        assert ours.dtype == np.float32 and relative_error(ours, theirs) <= FLOAT32_TOLERANCE
    if not isinstance(layer, BatchNormalization):
        inference = RUNNERS[type(layer)](layer, xs32 if layer.is_merge else xs32[0], weights32, Context())
        assert relative_error(forwarded.output, inference) <= 1e-6


def test_every_catalogue_type_has_its_gradient() -> None:
    assert [layer_type.__name__ for layer_type in LAYER_TYPES if layer_type not in GRADIENTS] == []


def test_every_non_convolution_type_has_a_case_here() -> None:
    convolutions = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"}
    covered = {type(test_case.layer).__name__ for test_case in CASES.values()} | {"Dropout"}
    assert {layer_type.__name__ for layer_type in LAYER_TYPES} - convolutions <= covered


def test_max_pooling_sends_a_tie_to_the_first_maximum_in_row_major_order() -> None:
    x = np.array([[1.0, 3.0], [3.0, 3.0]]).reshape(1, 2, 2, 1)
    forwarded, (d_input,), _ = run_ours(MaxPooling2D(), [x], {}, np.ones((1, 1, 1, 1)))
    assert forwarded.output.item() == 3.0
    np.testing.assert_array_equal(d_input.reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])


def test_maximum_sends_a_tie_to_the_first_input() -> None:
    a, b = np.full((1, 2), 2.0), np.array([[2.0, 5.0]])
    _, (d_a, d_b), _ = run_ours(Maximum(), [a, b], {}, np.ones((1, 2)))
    np.testing.assert_array_equal(d_a, [[1.0, 0.0]])
    np.testing.assert_array_equal(d_b, [[0.0, 1.0]])


# =============================================================================== Dropout


@pytest.mark.parametrize(
    ("rate", "noise_shape"), [(0.5, None), (0.3, (None, 1, 1, None)), (0.25, (1, None, None, 1)), (0.0, None), (1.0, None)]
)
def test_dropout_masks_scales_and_differentiates_as_keras(rate: float, noise_shape: tuple | None) -> None:
    """where(mask, x / (1 - rate), 0); the mask shared along noise_shape's 1s; the same seed, the same mask."""
    layer = Dropout(rate=rate, noise_shape=noise_shape)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 6, 7, 5)) + 10.0  # never 0, so the output shows the mask
    probe = rng.normal(size=x.shape)
    forwarded, (d_input,), d_weights = run_ours(layer, [x], {}, probe, seed=11)
    kept = forwarded.output != 0
    if noise_shape is not None:
        for axis, side in enumerate(noise_shape):
            if side == 1:
                assert (kept == kept.take([0], axis=axis)).all()
    keep = 1.0 - rate
    expected = np.where(kept, x / keep, 0.0) if keep else np.zeros_like(x)
    np.testing.assert_allclose(forwarded.output, expected, rtol=1e-15)
    np.testing.assert_allclose(d_input, np.where(kept, probe / keep, 0.0) if keep else 0.0, rtol=1e-15)
    assert d_weights == {}
    assert abs(kept.mean() - keep) < 0.1
    np.testing.assert_array_equal(run_ours(layer, [x], {}, seed=11)[0].output, forwarded.output)
    tensor = torch.tensor(x, requires_grad=True)
    (torch.where(torch.from_numpy(kept), tensor / keep if keep else tensor, 0.0) * torch.from_numpy(probe)).sum().backward()
    np.testing.assert_allclose(d_input, tensor.grad.numpy(), rtol=1e-15)


# =============================================================================== BatchNormalization against Keras


@pytest.mark.parametrize(
    ("center", "scale", "momentum", "shape"),
    [(True, True, 0.99, (4, 5, 6, 3)), (False, True, 0.9, (3, 4, 4, 2)), (True, False, 0.5, (2, 3, 5, 4)), (False, False, 0.0, (8, 6))],
)
def test_batch_normalization_step_matches_keras_training_call(
    keras: ModuleType, center: bool, scale: bool, momentum: float, shape: tuple[int, ...]
) -> None:
    """Output, moving statistics (Keras moves them with the biased variance) and gradients of layer(x, training=True)."""
    layer = BatchNormalization(center=center, scale=scale, momentum=momentum, epsilon=0.002)
    rng = np.random.default_rng(4)
    weights = {name: value.astype(np.float32) for name, value in random_weights(layer, shape[1:], rng).items()}
    x = rng.normal(1.5, 2.0, shape).astype(np.float32)
    probe = rng.normal(size=shape).astype(np.float32)
    forwarded, (d_input,), d_weights = run_ours(layer, [x], weights, probe)

    theirs = keras.layers.BatchNormalization(center=center, scale=scale, momentum=momentum, epsilon=0.002)
    theirs.build((None, *shape[1:]))
    theirs.set_weights([weights[weight.name] for weight in layer.infer(shape[1:]).weights])
    tensor = torch.tensor(x, requires_grad=True)
    output = theirs(tensor, training=True)
    (output * torch.from_numpy(probe)).sum().backward()

    assert relative_error(forwarded.output, output.detach().numpy()) <= 1e-5
    assert set(forwarded.updates) == {"moving_mean", "moving_variance"}
    for name in ("moving_mean", "moving_variance"):
        assert forwarded.updates[name].dtype == np.float32
        np.testing.assert_allclose(forwarded.updates[name], getattr(theirs, name).numpy(), rtol=1e-5, atol=1e-6)
    assert relative_error(d_input, tensor.grad.numpy()) <= 1e-4
    for name in d_weights:
        assert relative_error(d_weights[name], getattr(theirs, name).value.grad.numpy()) <= 1e-4, name


# =============================================================================== graphs


@dataclass
class GraphBuilder:
    """A random graph's nodes: named layers and the names they take."""

    rng: np.random.Generator
    channels: int
    layers: list[Layer] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    inputs: list[tuple[str, ...]] = field(default_factory=list)
    current: str = "input"

    def add(self, layer: Layer, *inputs: str) -> str:
        self.layers.append(layer)
        self.names.append(f"n{len(self.layers)}_{layer.type_name.lower()}")
        self.inputs.append(inputs or (self.current,))
        return self.names[-1]

    def then(self, layer: Layer, *inputs: str) -> str:
        self.current = self.add(layer, *inputs)
        return self.current

    def pick(self, options: Sequence):
        return options[self.rng.integers(len(options))]

    def stack(self, input_shape: tuple[int, int, int]) -> Stack:
        return Stack(input_shape, tuple(self.layers), names=tuple(self.names), inputs=tuple(self.inputs))


def conv(filters: int, kernel: int = 3, **options) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=kernel, padding="same", **options)


def residual(builder: GraphBuilder) -> None:
    """Conv, BN, relu, conv, added (or another merge) to the input; a strided 1x1 projection when shapes change."""
    start, channels = builder.current, builder.channels
    filters, strides = builder.pick([channels, 4, 5]), builder.pick([1, 1, 2])
    builder.then(conv(filters, strides=strides, use_bias=False))
    builder.then(BatchNormalization(momentum=0.9))
    builder.then(Activation(activation="relu"))
    main = builder.then(conv(filters))
    shortcut = start if (filters, strides) == (channels, 1) else builder.add(conv(filters, 1, strides=strides), start)
    builder.then(builder.pick([Add(), Add(), Subtract(), Average(), Maximum(), Minimum()]), main, shortcut)
    builder.channels = filters


def inception(builder: GraphBuilder) -> None:
    start = builder.current
    widths = [int(builder.rng.integers(1, 4)) for _ in range(3)]
    branches = [builder.add(Dense(units=widths[0], activation="relu"), start)]  # a 1x1 convolution
    branches.append(builder.add(conv(widths[1], activation="tanh"), builder.add(conv(3, 1), start)))
    pooled = builder.add(MaxPooling2D(pool_size=3, strides=1, padding="same"), start)
    branches.append(builder.add(Dense(units=widths[2]), pooled))
    builder.then(Concatenate(axis=builder.pick([-1, 3])), *branches)
    builder.channels = sum(widths)


def dense_block(builder: GraphBuilder) -> None:
    start = builder.current
    growth = int(builder.rng.integers(1, 4))
    builder.then(BatchNormalization(center=bool(builder.rng.integers(2)), scale=bool(builder.rng.integers(2))))
    builder.then(Activation(activation="swish"))
    new = builder.then(DepthwiseConv2D(kernel_size=3, padding="same")) if builder.pick([True, False]) else builder.then(conv(growth))
    builder.then(Concatenate(), start, new)
    builder.channels += builder.channels if isinstance(builder.layers[-2], DepthwiseConv2D) else growth


def squeeze_excite(builder: GraphBuilder) -> None:
    start, channels = builder.current, builder.channels
    builder.then(GlobalAveragePooling2D(keepdims=True))
    builder.then(Dense(units=int(builder.rng.integers(1, 4)), activation="relu"))
    gate = builder.then(Dense(units=channels, activation="sigmoid"))
    builder.then(Multiply(), start, gate)


def downsample(builder: GraphBuilder) -> None:
    builder.then(builder.pick([MaxPooling2D(), AveragePooling2D(pool_size=3, strides=2, padding="same"), MaxPooling2D(padding="same")]))


BLOCKS = (residual, inception, dense_block, squeeze_excite, downsample)


def random_graph(seed: int) -> Stack:
    """Two to four blocks on a small image, then a head: pooled Dense, flattened Dense, or none (a map out)."""
    rng = np.random.default_rng(seed)
    side, channels = int(rng.integers(6, 10)), int(rng.integers(1, 4))
    builder = GraphBuilder(rng, channels)
    for _ in range(int(rng.integers(2, 5))):
        builder.pick(BLOCKS)(builder)
    head = builder.pick(["pooled", "flat", "layer norm", "none"])
    if head == "pooled":
        builder.then(builder.pick([GlobalAveragePooling2D(), GlobalMaxPooling2D()]))
        builder.then(Dense(units=3, activation="softmax"))
    elif head == "flat":
        builder.then(Flatten())
        builder.then(Dense(units=4, activation="log_softmax"))
    elif head == "layer norm":
        builder.then(LayerNormalization())
        builder.then(Dense(units=2))
    return builder.stack((side, side, channels))


def graph_weights(stack: Stack, seed: int) -> dict[int, Arrays]:
    """Keras's initial kernels, with biases, betas, gammas and moving statistics drawn so none is trivial (float32)."""
    weights = initial_weights(stack, seed)
    rng = np.random.default_rng(seed)
    for named in weights.values():
        for name, value in named.items():
            if name in ("bias", "beta", "moving_mean"):
                named[name] = rng.normal(0.0, 0.3, value.shape).astype(np.float32)
            elif name in ("gamma", "moving_variance"):
                named[name] = rng.uniform(0.5, 1.5, value.shape).astype(np.float32)
    return weights


def torch_graph(stack: Stack, batch: np.ndarray, weights: dict[int, Arrays], probe: np.ndarray):
    """The same graph in PyTorch float64: the output, each weight's gradient, the batch's, and BatchNormalization's new statistics."""
    info = stack.infer()
    parameters = {
        (index, name): torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for index, named in weights.items()
        for name, value in named.items()
    }
    values = {"input": torch.tensor(batch, dtype=torch.float64, requires_grad=True)}
    moved: dict[int, Arrays] = {}
    for layer_info in info.layers:
        inputs = [values[name] for name in layer_info.inputs]
        named = {name: tensor for (index, name), tensor in parameters.items() if index == layer_info.index}
        layer = layer_info.layer
        values[layer_info.name] = REFERENCES[type(layer)](layer, inputs if layer.is_merge else inputs[0], named)
        if isinstance(layer, BatchNormalization):
            variance, mean = torch.var_mean(inputs[0].detach(), dim=tuple(range(inputs[0].dim() - 1)), correction=0)
            moved[layer_info.index] = {
                "moving_mean": weights[layer_info.index]["moving_mean"] * layer.momentum + mean.numpy() * (1 - layer.momentum),
                "moving_variance": weights[layer_info.index]["moving_variance"] * layer.momentum + variance.numpy() * (1 - layer.momentum),
            }
    output = values[info.output_layers[0].name]
    (output * torch.from_numpy(probe.astype(np.float64))).sum().backward()
    gradients = {key: tensor.grad.numpy() for key, tensor in parameters.items() if tensor.grad is not None}
    return output.detach().numpy(), gradients, values["input"].grad.numpy(), moved


GRAPH_SEEDS = range(16)


@pytest.mark.parametrize("seed", GRAPH_SEEDS)
def test_random_graph_gradients_match_the_same_graph_in_pytorch(seed: int) -> None:
    assert_graph_gradients_match_pytorch(random_graph(seed), seed)


def test_a_squeeze_excite_gate_without_reshape_and_a_row_added_to_a_map_train_as_in_pytorch() -> None:
    """Merges of lower-rank inputs in a whole training step: a (C,) gate from a Dense, a (W, C) row, a (C,) shift."""
    stack = chain(
        conv(3),
        GlobalAveragePooling2D(),
        Dense(units=3, activation="sigmoid"),
        Multiply(),
        Dense(units=12),
        Reshape(target_shape=(4, 3)),
        Dense(units=3),
        Add(),
        Flatten(),
        Dense(units=2),
        names=("map", "pool", "gate", "gated", "row_values", "row", "shift", "mixed", "flat", "out"),
        inputs=(None, None, None, ("map", "gate"), ("pool",), None, ("pool",), ("row", "gated", "shift"), ("mixed",), None),
    )
    assert_graph_gradients_match_pytorch(stack, 0)


def assert_graph_gradients_match_pytorch(stack: Stack, seed: int) -> None:
    """One training step of `stack` against the same graph in PyTorch: the output, every gradient, the moving statistics."""
    info = stack.infer()
    assert info.valid, info.first_invalid
    weights = graph_weights(stack, seed)
    rng = np.random.default_rng(seed)
    batch = rng.normal(size=(3, *stack.input_shape)).astype(np.float32)
    training_pass = training_forward(info, batch, weights, TrainContext(np.random.default_rng(seed)))
    probe = rng.normal(size=training_pass.output.shape).astype(np.float32)
    gradients, d_batch = backpropagate(training_pass, probe)
    output, torch_gradients, torch_batch, moved = torch_graph(stack, batch, weights, probe)

    assert relative_error(training_pass.output, output) <= FLOAT32_TOLERANCE
    trainable = {(layer_info.index, weight.name) for layer_info in info.layers for weight in layer_info.weights if weight.trainable}
    assert {(index, name) for index, named in gradients.items() for name in named} == trainable
    for (index, name), expected in torch_gradients.items():
        if (index, name) in trainable:
            ours = gradients[index][name]
            assert ours.dtype == np.float32 and relative_error(ours, expected) <= FLOAT32_TOLERANCE, (info.layers[index].name, name)
    assert relative_error(d_batch, torch_batch) <= FLOAT32_TOLERANCE
    assert training_backward(training_pass, probe).keys() == gradients.keys()
    updates = moving_updates(training_pass)
    assert updates.keys() == moved.keys()
    for index, named in moved.items():
        for name, expected in named.items():
            np.testing.assert_allclose(updates[index][name], expected, rtol=1e-4, atol=1e-5, err_msg=f"{index} {name}")


def test_random_graphs_cover_the_blocks_merges_and_heads() -> None:
    seen = {type(layer).__name__ for seed in GRAPH_SEEDS for layer in random_graph(seed).layers}
    wanted = {"Add", "Concatenate", "Multiply", "BatchNormalization", "MaxPooling2D", "AveragePooling2D", "Dense", "Conv2D", "Flatten"}
    assert wanted <= seen


def chain(*layers: Layer, names: tuple[str, ...] = (), inputs: tuple = (), outputs: tuple[str, ...] = (), shape=(4, 4, 2)) -> Stack:
    return Stack(shape, layers, names=names, inputs=inputs, outputs=outputs)


def test_a_node_used_twice_receives_the_sum_of_its_gradients() -> None:
    """y = x * 2 + x: d loss / d x is 3 * probe (Rescaling feeds the Add and the Add takes x again)."""
    stack = chain(Rescaling(scale=2.0), Add(), names=("double", "sum"), inputs=(("input",), ("double", "input")))
    batch = np.random.default_rng(5).normal(size=(2, 4, 4, 2)).astype(np.float32)
    probe = np.random.default_rng(6).normal(size=batch.shape).astype(np.float32)
    training_pass = training_forward(stack.infer(), batch, {}, TrainContext(np.random.default_rng(0)))
    gradients, d_batch = backpropagate(training_pass, probe)
    assert gradients == {}
    np.testing.assert_allclose(d_batch, 3 * probe, rtol=1e-6)
    np.testing.assert_allclose(training_pass.output, 3 * batch, rtol=1e-6)


def test_a_branch_the_output_does_not_use_neither_runs_nor_learns_nor_moves() -> None:
    stack = chain(
        BatchNormalization(),
        Dense(units=3),
        Dense(units=2),
        names=("side", "used", "out"),
        inputs=(("input",), ("input",), ("used",)),
    )
    info = stack.infer()
    weights = graph_weights(stack, 0)
    batch = np.random.default_rng(7).normal(size=(2, 4, 4, 2)).astype(np.float32)
    training_pass = training_forward(info, batch, weights, TrainContext(np.random.default_rng(0)))
    assert list(training_pass.forwarded) == ["used", "out"]
    assert set(training_backward(training_pass, np.ones_like(training_pass.output))) == {1, 2}
    assert moving_updates(training_pass) == {}


def test_a_stack_with_two_outputs_is_refused_for_training() -> None:
    stack = chain(Dense(units=3), Dense(units=2), names=("a", "b"), inputs=(("input",), ("input",)), outputs=("a", "b"))
    with pytest.raises(EngineError, match="one output"):
        training_forward(stack.infer(), np.zeros((1, 4, 4, 2), np.float32), graph_weights(stack, 0), TrainContext(np.random.default_rng(0)))


# =============================================================================== activations one by one


def float64_activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Keras's definition in float64 for the finite differences: the engine's own function, but exact gelu
    (the engine rounds gelu to float32 whatever it is given).
    """
    if name == "gelu":
        return lambda x: 0.5 * x * erfc(-x / math.sqrt(2.0))
    return ACTIVATIONS[name]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_derivative_matches_finite_differences_of_its_float64_definition(name: str) -> None:
    rng = np.random.default_rng(8)
    x = away_from_kinks(rng.normal(0.0, 3.0, (3, 6)))
    probe = rng.normal(size=x.shape)
    function = float64_activation(name)
    ours = activation_backward(name, x, function(x), probe)
    expected = finite_differences(lambda: float((function(x) * probe).sum()), x, 1e-6)
    assert relative_error(ours, expected) <= 1e-6
