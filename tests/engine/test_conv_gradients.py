"""The convolutions' training forward and backward (engine/gradients/convolution.py).

Gradients are checked against PyTorch autograd in float64 (Keras's semantics built from torch
primitives: explicit pads for "same", Conv2DTranspose's crop from Keras's JAX pads) and against
central finite differences of the float64 plain-loop references in naive.py. The engine works in
float32, so errors are relative to each expected array's largest magnitude. The training forward
must equal the inference runners, and nothing it keeps may be overwritten by later layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import naive
import numpy as np
import pytest

from array_checks import random, relative_error
from test_ops import poisoned_scratch

from convtui.engine import threads
from convtui.engine.gradients.base import TrainContext
from convtui.engine.gradients import convolution
from convtui.engine.gradients.convolution import (
    CONVOLUTION_GRADIENTS,
    Geometry,
    input_gradient,
    kernel_gradient,
)
from convtui.engine.ops import Workspace
from convtui.engine.runners import RUNNERS, Context
from convtui.engine.winograd import TRANSFORMS, winograd_kernel_gradient
from convtui.model import layers as catalogue
from convtui.model.layers import Layer

torch = pytest.importorskip("torch")
functional = torch.nn.functional

TOLERANCE = 5e-6
FORWARD_TOLERANCE = 1e-5
FINITE_DIFFERENCE_STEP = 1e-6

Arrays = dict[str, np.ndarray]

TORCH_ACTIVATIONS: dict[str | None, Callable] = {
    None: lambda t: t,
    "relu": functional.relu,
    "tanh": torch.tanh,
    "swish": functional.silu,
    "gelu": functional.gelu,
}
def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x.transpose(0, 3, 1, 2), dtype=torch.float64, requires_grad=True)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return t.detach().permute(0, 2, 3, 1).numpy()


def parameter(array: np.ndarray, *axes: int) -> torch.Tensor:
    """A float64 leaf tensor of `array` with its axes permuted to torch's layout."""
    return torch.tensor(array.transpose(axes) if axes else array, dtype=torch.float64, requires_grad=True)


def keras_pads(padding: str | tuple[int, int], x_shape: tuple[int, ...], layer: Layer) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's pads, written out here independently of the engine: "same" puts the odd pixel after."""
    pads = []
    for axis in range(2):
        size, kernel, stride = x_shape[1 + axis], layer.kernel_size[axis], layer.strides[axis]
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "same":
            span = (kernel - 1) * layer.dilation_rate[axis] + 1
            total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((padding[axis], padding[axis]))
    return pads[0], pads[1]


def padded(t: torch.Tensor, pads: tuple[tuple[int, int], tuple[int, int]]) -> torch.Tensor:
    (top, bottom), (left, right) = pads
    return functional.pad(t, (left, right, top, bottom))


def depthwise_weight(kernel: np.ndarray) -> torch.Tensor:
    """Keras (kh, kw, C, M) as torch's grouped (C*M, 1, kh, kw): output channel c*M + m."""
    kernel_h, kernel_w, channels, multiplier = kernel.shape
    return parameter(kernel.reshape(kernel_h, kernel_w, channels * multiplier)[:, :, None], 3, 2, 0, 1)


# ---------------------------------------------------------------- torch references: (layer, x, weights) -> (output, leaves)


def torch_conv2d(layer: catalogue.Conv2D, x: torch.Tensor, weights: Arrays) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    leaves = {"kernel": parameter(weights["kernel"], 3, 2, 0, 1)} | ({"bias": parameter(weights["bias"])} if "bias" in weights else {})
    pads = keras_pads(layer.padding, tuple(x.shape[i] for i in (0, 2, 3, 1)), layer)
    output = functional.conv2d(padded(x, pads), leaves["kernel"], leaves.get("bias"), layer.strides, 0, layer.dilation_rate, layer.groups)
    return output, leaves


def torch_depthwise(layer: catalogue.DepthwiseConv2D, x: torch.Tensor, weights: Arrays) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    leaves = {"kernel": depthwise_weight(weights["kernel"])} | ({"bias": parameter(weights["bias"])} if "bias" in weights else {})
    pads = keras_pads(layer.padding, tuple(x.shape[i] for i in (0, 2, 3, 1)), layer)
    output = functional.conv2d(padded(x, pads), leaves["kernel"], leaves.get("bias"), layer.strides, 0, layer.dilation_rate, x.shape[1])
    return output, leaves


def torch_separable(layer: catalogue.SeparableConv2D, x: torch.Tensor, weights: Arrays) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    leaves = {
        "depthwise_kernel": depthwise_weight(weights["depthwise_kernel"]),
        "pointwise_kernel": parameter(weights["pointwise_kernel"], 3, 2, 0, 1),
    } | ({"bias": parameter(weights["bias"])} if "bias" in weights else {})
    pads = keras_pads(layer.padding, tuple(x.shape[i] for i in (0, 2, 3, 1)), layer)
    middle = functional.conv2d(padded(x, pads), leaves["depthwise_kernel"], None, layer.strides, 0, layer.dilation_rate, x.shape[1])
    return functional.conv2d(middle, leaves["pointwise_kernel"], leaves.get("bias")), leaves


def torch_transpose(layer: catalogue.Conv2DTranspose, x: torch.Tensor, weights: Arrays) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """torch's full transposed convolution cut where Keras's JAX pads put the output: from (k - 1) - pad_before,
    extended with zeros where the output is longer (s > k), then the bias."""
    leaves = {"kernel": parameter(weights["kernel"], 3, 2, 0, 1)} | ({"bias": parameter(weights["bias"])} if "bias" in weights else {})
    full = functional.conv_transpose2d(x, leaves["kernel"], None, layer.strides)
    for axis, (size, kernel, stride) in enumerate(zip(x.shape[2:], layer.kernel_size, layer.strides)):
        before, after = naive.keras_transpose_pads(kernel, stride, layer.padding)
        start, length = kernel - 1 - before, (size - 1) * stride + 1 + before + after - kernel + 1
        extra = max(start + length - full.shape[2 + axis], 0)
        full = functional.pad(full, (0, extra) if axis == 1 else (0, 0, 0, extra)).narrow(2 + axis, start, length)
    return (full if "bias" not in leaves else full + leaves["bias"].view(1, -1, 1, 1)), leaves


TORCH_LAYERS = {
    catalogue.Conv2D: torch_conv2d,
    catalogue.DepthwiseConv2D: torch_depthwise,
    catalogue.SeparableConv2D: torch_separable,
    catalogue.Conv2DTranspose: torch_transpose,
}

def torch_gradients(layer: Layer, x: np.ndarray, weights: Arrays, d_output: np.ndarray) -> tuple[np.ndarray, np.ndarray, Arrays]:
    """(output, d_input, d_weights in Keras layouts) from torch autograd in float64."""
    x_t = nchw(x)
    pre, leaves = TORCH_LAYERS[type(layer)](layer, x_t, weights)
    output = TORCH_ACTIVATIONS[layer.activation](pre)
    output.backward(torch.tensor(d_output.transpose(0, 3, 1, 2), dtype=torch.float64))
    d_weights = {name: keras_layout(leaf.grad.numpy(), weights[name]) for name, leaf in leaves.items()}
    return nhwc(output), nhwc(x_t.grad), d_weights


def keras_layout(gradient: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A torch kernel's gradient back in Keras's layout: every kernel went in as Keras (kh, kw, ., .) permuted (3, 2, 0, 1)."""
    return gradient.transpose(2, 3, 1, 0).reshape(weight.shape) if weight.ndim == 4 else gradient


# ---------------------------------------------------------------- cases


def random_weights(layer: Layer, x_shape: tuple[int, ...], rng: np.random.Generator) -> Arrays:
    return {info.name: random(rng, *info.shape) for info in layer.infer(x_shape[1:]).weights}


CASES: dict[str, tuple[Layer, tuple[int, ...]]] = {
    "conv 3x3 valid": (catalogue.Conv2D(filters=4, kernel_size=3), (2, 7, 6, 3)),
    "conv 3x3 same stride 2, odd side": (catalogue.Conv2D(filters=5, kernel_size=3, strides=2, padding="same"), (2, 7, 7, 3)),
    "conv 3x3 same stride 2, even side (extra pixel after)": (
        catalogue.Conv2D(filters=3, kernel_size=3, strides=2, padding="same"),
        (1, 8, 6, 2),
    ),
    "conv 2x4 same, even kernel": (catalogue.Conv2D(filters=3, kernel_size=(2, 4), padding="same", activation="relu"), (2, 5, 6, 2)),
    "conv explicit padding (1, 2), stride 2": (catalogue.Conv2D(filters=4, kernel_size=3, strides=2, padding=(1, 2)), (2, 6, 7, 3)),
    "conv dilation 2 same": (catalogue.Conv2D(filters=3, kernel_size=3, padding="same", dilation_rate=2, activation="tanh"), (2, 7, 8, 2)),
    "conv dilation (2, 1) valid": (catalogue.Conv2D(filters=3, kernel_size=(2, 3), dilation_rate=(2, 1)), (1, 8, 7, 3)),
    "conv groups 2, relu": (catalogue.Conv2D(filters=6, kernel_size=3, padding="same", groups=2, activation="relu"), (2, 6, 5, 4)),
    "conv groups 3, stride 2": (catalogue.Conv2D(filters=3, kernel_size=3, strides=2, groups=3), (2, 7, 7, 6)),
    "conv no bias, strides (1, 2), swish": (
        catalogue.Conv2D(filters=4, kernel_size=3, strides=(1, 2), use_bias=False, activation="swish"),
        (2, 6, 9, 3),
    ),
    "conv 1x1 pointwise": (catalogue.Conv2D(filters=5, kernel_size=1), (2, 4, 5, 3)),
    "conv 2x2 stride 3 valid (pixels no window reads)": (catalogue.Conv2D(filters=2, kernel_size=2, strides=3), (2, 8, 7, 2)),
    "conv 5x5 stride 2 valid, even sides": (catalogue.Conv2D(filters=3, kernel_size=5, strides=2), (1, 10, 8, 2)),
    "conv Winograd-sized, relu": (catalogue.Conv2D(filters=16, kernel_size=3, padding="same", activation="relu"), (2, 14, 14, 32)),
    "depthwise 3x3 valid": (catalogue.DepthwiseConv2D(kernel_size=3), (2, 6, 7, 3)),
    "depthwise multiplier 2, same stride 2": (
        catalogue.DepthwiseConv2D(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
        (2, 8, 7, 3),
    ),
    "depthwise dilation 2, relu, no bias": (
        catalogue.DepthwiseConv2D(kernel_size=3, padding="same", dilation_rate=2, use_bias=False, activation="relu"),
        (2, 7, 6, 2),
    ),
    "depthwise explicit padding, multiplier 3": (
        catalogue.DepthwiseConv2D(kernel_size=(2, 3), padding=(2, 1), depth_multiplier=3),
        (1, 5, 5, 2),
    ),
    "separable 3x3 same": (catalogue.SeparableConv2D(filters=4, kernel_size=3, padding="same"), (2, 6, 6, 3)),
    "separable multiplier 2, stride 2, tanh": (
        catalogue.SeparableConv2D(filters=5, kernel_size=3, strides=2, depth_multiplier=2, activation="tanh"),
        (2, 7, 8, 2),
    ),
    "separable dilation 2, no bias": (catalogue.SeparableConv2D(filters=3, kernel_size=3, dilation_rate=2, use_bias=False), (1, 7, 7, 2)),
    **{
        f"transpose {k}x{k} stride {s} {padding}": (
            catalogue.Conv2DTranspose(filters=3, kernel_size=k, strides=s, padding=padding),
            (2, 4, 5, 2),
        )
        for k, s in [(3, 1), (3, 2), (4, 2), (5, 2), (2, 3), (1, 2)]
        for padding in ("valid", "same")
    },
    "transpose (3, 2) kernel, strides (2, 1), relu, no bias": (
        catalogue.Conv2DTranspose(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same", use_bias=False, activation="relu"),
        (2, 3, 4, 3),
    ),
    "transpose 3x3 stride 2 gelu": (catalogue.Conv2DTranspose(filters=2, kernel_size=3, strides=2, activation="gelu"), (1, 4, 3, 3)),
}


def train_step(layer: Layer, x: np.ndarray, weights: Arrays, d_output: np.ndarray, context: TrainContext | None = None) -> tuple:
    gradient = CONVOLUTION_GRADIENTS[type(layer)]
    forwarded = gradient.forward(layer, x, weights, context or TrainContext(np.random.default_rng(0)))
    d_input, d_weights = gradient.backward(layer, forwarded.cache, d_output, weights)
    return forwarded.output, d_input, d_weights


@pytest.fixture(params=[1, 2], ids=["BLAS on one thread", "BLAS threaded"])
def blas_threads(request: pytest.FixtureRequest) -> Iterator[int]:
    """Both layouts of the input gradient's columns: by tap (one thread) and side by side (threaded)."""
    before = threads.thread_count()
    threads.use_threads(request.param)
    yield request.param
    threads.use_threads(before)


@pytest.mark.parametrize(("layer", "x_shape"), CASES.values(), ids=CASES.keys())
def test_gradients_match_torch_autograd(blas_threads: int, layer: Layer, x_shape: tuple[int, ...]) -> None:
    assert threads.blas_single_threaded() == (blas_threads == 1)
    rng = np.random.default_rng(1)
    x, weights = random(rng, *x_shape), random_weights(layer, x_shape, rng)
    d_output = random(rng, x_shape[0], *layer.infer(x_shape[1:]).output_shape)
    output, d_input, d_weights = train_step(layer, x, weights, d_output)
    expected_output, expected_input, expected_weights = torch_gradients(layer, x, weights, d_output)
    assert relative_error(output, expected_output) <= TOLERANCE
    assert d_input.dtype == np.float32 and relative_error(d_input, expected_input) <= TOLERANCE
    assert d_weights.keys() == expected_weights.keys()
    for name, gradient in d_weights.items():
        assert gradient.dtype == np.float32 and relative_error(gradient, expected_weights[name]) <= TOLERANCE, name


@pytest.mark.parametrize(("layer", "x_shape"), CASES.values(), ids=CASES.keys())
def test_training_forward_equals_inference(layer: Layer, x_shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    x, weights = random(rng, *x_shape), random_weights(layer, x_shape, rng)
    inference = RUNNERS[type(layer)](layer, x, weights, Context())
    training = CONVOLUTION_GRADIENTS[type(layer)].forward(layer, x, weights, TrainContext(rng))
    assert training.output.shape == inference.shape and training.updates == {}
    assert float(np.abs(training.output - inference).max()) <= FORWARD_TOLERANCE * max(float(np.abs(inference).max()), 1.0)


# ---------------------------------------------------------------- finite differences of the float64 references


def naive_output(layer: Layer, x: np.ndarray, weights: Arrays) -> np.ndarray:
    """The plain-loop float64 forward (no activation: these layers are built linear)."""
    bias = weights.get("bias")
    if isinstance(layer, catalogue.Conv2DTranspose):
        return naive.conv2d_transpose(x, weights["kernel"], bias, layer.strides, layer.padding)
    pads = keras_pads(layer.padding, x.shape, layer)
    if isinstance(layer, catalogue.Conv2D):
        return naive.conv2d(x, weights["kernel"], bias, layer.strides, pads, layer.dilation_rate, layer.groups)
    if isinstance(layer, catalogue.DepthwiseConv2D):
        return naive.depthwise_conv2d(x, weights["kernel"], bias, layer.strides, pads, layer.dilation_rate)
    depthwise, pointwise = weights["depthwise_kernel"], weights["pointwise_kernel"]
    return naive.separable_conv2d(x, depthwise, pointwise, bias, layer.strides, pads, layer.dilation_rate)


def numerical_gradient(loss: Callable[[np.ndarray], float], at: np.ndarray) -> np.ndarray:
    """Central differences of `loss` at every element of `at`, in float64."""
    gradient = np.zeros(at.shape)
    for index in np.ndindex(at.shape):
        step = np.zeros(at.shape)
        step[index] = FINITE_DIFFERENCE_STEP
        gradient[index] = (loss(at + step) - loss(at - step)) / (2 * FINITE_DIFFERENCE_STEP)
    return gradient


TINY_CASES: dict[str, tuple[Layer, tuple[int, ...]]] = {
    "conv same stride 2, even side": (catalogue.Conv2D(filters=2, kernel_size=3, strides=2, padding="same"), (1, 4, 5, 2)),
    "conv explicit padding, dilation 2, groups 2": (
        catalogue.Conv2D(filters=2, kernel_size=2, padding=(1, 1), dilation_rate=2, groups=2),
        (1, 4, 4, 2),
    ),
    "depthwise multiplier 2, same": (catalogue.DepthwiseConv2D(kernel_size=3, padding="same", depth_multiplier=2), (1, 4, 3, 2)),
    "separable stride 2": (catalogue.SeparableConv2D(filters=2, kernel_size=2, strides=2), (1, 5, 4, 2)),
    "transpose 3x3 stride 2 same": (catalogue.Conv2DTranspose(filters=2, kernel_size=3, strides=2, padding="same"), (1, 3, 2, 2)),
    "transpose 2x2 stride 3 valid": (catalogue.Conv2DTranspose(filters=2, kernel_size=2, strides=3), (1, 2, 3, 2)),
}


@pytest.mark.parametrize(("layer", "x_shape"), TINY_CASES.values(), ids=TINY_CASES.keys())
def test_gradients_match_finite_differences(layer: Layer, x_shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    x, weights = random(rng, *x_shape), random_weights(layer, x_shape, rng)
    d_output = random(rng, x_shape[0], *layer.infer(x_shape[1:]).output_shape)
    _, d_input, d_weights = train_step(layer, x, weights, d_output)

    def loss(inputs: np.ndarray, values: Arrays) -> float:
        return float((naive_output(layer, inputs, values) * d_output).sum())

    x64, weights64 = x.astype(np.float64), {name: value.astype(np.float64) for name, value in weights.items()}
    assert relative_error(d_input, numerical_gradient(lambda at: loss(at, weights64), x64)) <= TOLERANCE
    for name, gradient in d_weights.items():
        expected = numerical_gradient(lambda at: loss(x64, weights64 | {name: at}), weights64[name])  # noqa: B023
        assert relative_error(gradient, expected) <= TOLERANCE, name


# ---------------------------------------------------------------- blocks, scratch reuse, in-place updates


BLOCKED_ROW_BYTES = 4 * 18 * 2 * 4
"""One output row of the case below: 4 columns x (3*3*2 patch values) x 2 groups x 4 bytes, for both gradients."""


@pytest.mark.parametrize(
    "byte_limit", [1, 3 * BLOCKED_ROW_BYTES, 2 * 5 * BLOCKED_ROW_BYTES], ids=["one row per block", "bands of 3 rows", "2 images per block"]
)
def test_row_blocks_give_the_same_gradients(byte_limit: int) -> None:
    """Bands of output rows (one image cut, or whole images grouped) sum to the unblocked gradients."""
    rng = np.random.default_rng(4)
    geometry = Geometry((3, 3), (2, 1), ((1, 1), (0, 1)), (1, 1), 2)
    x, kernel = random(rng, 5, 10, 5, 4), random(rng, 3, 3, 2, 6)
    d_output = random(rng, 5, 5, 4, 6)
    scratch = Workspace().scratch
    expected_kernel = kernel_gradient(x, d_output, kernel.shape, geometry, scratch)
    expected_input = input_gradient(d_output, kernel, geometry, x.shape, scratch)
    assert relative_error(kernel_gradient(x, d_output, kernel.shape, geometry, scratch, byte_limit), expected_kernel) <= 1e-6
    assert relative_error(input_gradient(d_output, kernel, geometry, x.shape, scratch, byte_limit), expected_input) <= 1e-6


def kernel_gradient_reference(x: np.ndarray, d_output: np.ndarray, pads: tuple, kernel_size: int = 3) -> np.ndarray:
    """sum over images and pixels of each tap's input times the output's gradient, in float64 (stride 1)."""
    padded = np.pad(x.astype(np.float64), ((0, 0), *pads, (0, 0)))
    out_h, out_w = d_output.shape[1:3]
    return np.stack(
        [
            np.stack([np.einsum("nhwc,nhwf->cf", padded[:, a : a + out_h, b : b + out_w], d_output.astype(np.float64)) for b in range(kernel_size)])
            for a in range(kernel_size)
        ]
    )


WINOGRAD_GRADIENT_CASES = {
    # name: (x shape, filters, pads)
    "valid, whole tiles": ((2, 10, 10, 3), 5, ((0, 0), (0, 0))),
    "same, partial tiles": ((3, 9, 7, 4), 6, ((1, 1), (1, 1))),
    "asymmetric pads": ((1, 11, 6, 2), 3, ((0, 1), (1, 0))),
}


@pytest.mark.parametrize("case", WINOGRAD_GRADIENT_CASES.values(), ids=WINOGRAD_GRADIENT_CASES.keys())
@pytest.mark.parametrize("tile", sorted(TRANSFORMS))
@pytest.mark.parametrize("band_bytes", [1, 2**30], ids=["one tile row per band", "one band"])
def test_winograd_kernel_gradient_matches_the_definition(case: tuple, tile: int, band_bytes: int) -> None:
    x_shape, filters, pads = case
    rng = np.random.default_rng(tile)
    x = random(rng, *x_shape)
    out_h, out_w = x_shape[1] + sum(pads[0]) - 2, x_shape[2] + sum(pads[1]) - 2
    d_output = random(rng, x_shape[0], out_h, out_w, filters)
    actual = winograd_kernel_gradient(x, d_output, pads, tile, poisoned_scratch().scratch, band_bytes)
    assert actual.shape == (3, 3, x_shape[3], filters)
    assert relative_error(actual, kernel_gradient_reference(x, d_output, pads)) <= 1e-5


@pytest.mark.parametrize("channels", [32, 64])
def test_the_kernel_gradient_takes_winograd_from_64_channels(monkeypatch: pytest.MonkeyPatch, channels: int) -> None:
    """A layer the forward runs by Winograd: its kernel gradient too, from 64 channels, and the same gradient either way."""
    calls: list[int] = []
    monkeypatch.setattr(convolution, "winograd_kernel_gradient", lambda *arguments: calls.append(1) or winograd_kernel_gradient(*arguments))
    rng = np.random.default_rng(channels)
    x, d_output = random(rng, 2, 16, 16, channels), random(rng, 2, 16, 16, 8)
    geometry = Geometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    actual = kernel_gradient(x, d_output, (3, 3, channels, 8), geometry, Workspace().scratch)
    assert len(calls) == (channels >= convolution.WINOGRAD_GRADIENT_MIN_CHANNELS)
    assert relative_error(actual, kernel_gradient_reference(x, d_output, geometry.pads)) <= 1e-5


def test_a_stack_sharing_one_workspace_keeps_its_caches() -> None:
    """Each layer's forward overwrites the shared scratch; the earlier layers' backward must not read it."""
    rng = np.random.default_rng(5)
    layers = [
        catalogue.Conv2D(filters=4, kernel_size=3, padding="same", activation="relu"),
        catalogue.SeparableConv2D(filters=5, kernel_size=3, strides=2, padding="same"),
        catalogue.DepthwiseConv2D(kernel_size=3, padding=(1, 1), activation="tanh"),
        catalogue.Conv2DTranspose(filters=3, kernel_size=3, strides=2, padding="same"),
    ]
    x = random(rng, 2, 8, 8, 3)
    context = TrainContext(rng)
    inputs, caches, all_weights = [], [], []
    for layer in layers:
        weights = {name: np.float32(0.3) * value for name, value in random_weights(layer, x.shape, rng).items()}  # tanh unsaturated
        forwarded = CONVOLUTION_GRADIENTS[type(layer)].forward(layer, x, weights, context)
        inputs.append(x)
        caches.append(forwarded.cache)
        all_weights.append(weights)
        x = forwarded.output
    d_output = random(rng, *x.shape)
    for layer, x, cache, weights in reversed(list(zip(layers, inputs, caches, all_weights))):
        d_input, d_weights = CONVOLUTION_GRADIENTS[type(layer)].backward(layer, cache, d_output, weights)
        _, expected_input, expected_weights = torch_gradients(layer, x, weights, d_output)
        assert relative_error(d_input, expected_input) <= TOLERANCE
        for name, gradient in d_weights.items():
            assert relative_error(gradient, expected_weights[name]) <= TOLERANCE, name
        d_output = d_input


def test_in_place_kernel_updates_are_seen_by_the_next_step() -> None:
    """An optimiser updates kernels in place: a forward must not reuse filters cached by the kernel's identity."""
    rng = np.random.default_rng(6)
    layer = catalogue.Conv2D(filters=16, kernel_size=3, padding="same")  # Winograd's geometry at inference
    x = random(rng, 2, 16, 16, 32)
    weights = random_weights(layer, x.shape, rng)
    context = TrainContext(rng)
    forward = CONVOLUTION_GRADIENTS[catalogue.Conv2D].forward
    forward(layer, x, weights, context)
    weights["kernel"] -= np.float32(0.5) * random(rng, *weights["kernel"].shape)
    expected = RUNNERS[catalogue.Conv2D](layer, x, weights, Context())
    assert relative_error(forward(layer, x, weights, context).output, expected.astype(np.float64)) <= FORWARD_TOLERANCE
