"""The ops against PyTorch's CPU operators, an independent implementation of the same maths.

Layouts are converted (NHWC <-> NCHW, Keras kernels <-> OIHW); where Keras and PyTorch differ
(asymmetric "same" pads, Conv2DTranspose's crop, activation defaults) the test builds Keras's
semantics from torch primitives, and says so.
"""

from __future__ import annotations

import numpy as np
import pytest

from array_checks import random
from convtui.engine import activations, ops

torch = pytest.importorskip("torch")
functional = torch.nn.functional

TOLERANCE = 2e-6
WINOGRAD_TOLERANCE = 5e-6


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def oihw(kernel: np.ndarray) -> torch.Tensor:
    """Keras (kh, kw, C/groups, F) as torch's (F, C/groups, kh, kw)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def tensor(x: np.ndarray | None) -> torch.Tensor | None:
    return None if x is None else torch.from_numpy(x)


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = TOLERANCE) -> None:
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = float(np.abs(expected).max()) or 1.0
    assert float(np.abs(actual - expected).max()) / scale <= tolerance

def torch_pads(pads: tuple) -> tuple[int, int, int, int]:
    """((top, bottom), (left, right)) in F.pad's order: last axis first."""
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


CONV_CASES = {
    # name: (x shape, kernel shape, strides, pads, dilation, groups) -> the algorithm the rule picks
    "VGG-like 3x3": (((1, 30, 29, 32), (3, 3, 32, 24), (1, 1), ((1, 1), (1, 1)), (1, 1), 1), "winograd_4x4"),
    "3x3 on a small map": (((2, 14, 15, 32), (3, 3, 32, 16), (1, 1), ((1, 1), (1, 1)), (1, 1), 1), "winograd_2x2"),
    "3x3 valid": (((1, 20, 17, 32), (3, 3, 32, 8), (1, 1), ((0, 0), (0, 0)), (1, 1), 1), "winograd_2x2"),
    "first layer, 3 channels": (((2, 16, 16, 3), (3, 3, 3, 8), (1, 1), ((1, 1), (1, 1)), (1, 1), 1), "im2col"),
    "stride 2, TF same (extra bottom/right)": (((1, 16, 15, 8), (3, 3, 8, 6), (2, 2), ((0, 1), (1, 1)), (1, 1), 1), "im2col"),
    "7x7 stride 2": (((1, 32, 32, 3), (7, 7, 3, 8), (2, 2), ((2, 3), (2, 3)), (1, 1), 1), "im2col"),
    "dilation 2": (((1, 15, 15, 4), (3, 3, 4, 5), (1, 1), ((2, 2), (2, 2)), (2, 2), 1), "im2col"),
    "groups 4": (((2, 10, 9, 8), (3, 3, 2, 12), (1, 1), ((1, 1), (1, 1)), (1, 1), 4), "im2col"),
    "pointwise": (((2, 9, 9, 16), (1, 1, 16, 32), (1, 1), ((0, 0), (0, 0)), (1, 1), 1), "im2col"),
    "5x3 kernel, strides (1, 2)": (((1, 12, 12, 4), (5, 3, 4, 6), (1, 2), ((2, 2), (1, 1)), (1, 1), 1), "im2col"),
}


@pytest.mark.parametrize(("case", "algorithm"), CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_matches_torch(case: tuple, algorithm: str) -> None:
    x_shape, kernel_shape, strides, pads, dilation, groups = case
    assert ops.choose_conv_algorithm(x_shape, kernel_shape, strides, dilation, groups) == algorithm
    rng = np.random.default_rng(0)
    x, kernel, bias = random(rng, *x_shape), random(rng, *kernel_shape), random(rng, kernel_shape[3])
    expected = functional.conv2d(functional.pad(nchw(x), torch_pads(pads)), oihw(kernel), tensor(bias), strides, 0, dilation, groups)
    actual = ops.conv2d(x, kernel, bias, strides, pads, dilation, groups, workspace=ops.Workspace())
    assert_close(actual, nhwc(expected), WINOGRAD_TOLERANCE)


@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv2d_matches_torch_grouped_conv(multiplier: int) -> None:
    """Keras's output channel c*dm + m is torch's groups=C convolution with filter c*dm + m."""
    rng = np.random.default_rng(1)
    x, kernel, bias = random(rng, 2, 11, 10, 6), random(rng, 3, 3, 6, multiplier), random(rng, 6 * multiplier)
    weight = torch.from_numpy(np.ascontiguousarray(kernel.reshape(3, 3, 6 * multiplier).transpose(2, 0, 1)[:, None]))
    pads = ((0, 1), (1, 1))
    expected = functional.conv2d(functional.pad(nchw(x), torch_pads(pads)), weight, tensor(bias), (2, 1), groups=6)
    assert_close(ops.depthwise_conv2d(x, kernel, bias, (2, 1), pads), nhwc(expected))


def test_separable_conv2d_matches_torch() -> None:
    rng = np.random.default_rng(2)
    x, depthwise, pointwise, bias = random(rng, 1, 9, 9, 4), random(rng, 3, 3, 4, 2), random(rng, 1, 1, 8, 5), random(rng, 5)
    depthwise_weight = torch.from_numpy(np.ascontiguousarray(depthwise.reshape(3, 3, 8).transpose(2, 0, 1)[:, None]))
    middle = functional.conv2d(nchw(x), depthwise_weight, None, 1, 1, groups=4)
    expected = functional.conv2d(middle, oihw(pointwise), tensor(bias))
    assert_close(ops.separable_conv2d(x, depthwise, pointwise, bias, (1, 1), ((1, 1), (1, 1))), nhwc(expected))


@pytest.mark.parametrize(("kernel_size", "stride"), [(2, 3), (2, 2), (3, 2), (4, 2), (5, 2), (3, 1), (1, 2)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_transpose_matches_torch_with_keras_crop(kernel_size: int, stride: int, padding: str) -> None:
    """Keras's torch backend: torch's full transposed convolution, then the crop Keras's JAX pads imply
    ((k - 1) - left pad at the start), extended with zeros where s > k."""
    rng = np.random.default_rng(3)
    x, kernel, bias = random(rng, 2, 5, 4, 3), random(rng, kernel_size, kernel_size, 6, 3), random(rng, 6)
    weight = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))  # (C_in, F, kh, kw)
    full = nhwc(functional.conv_transpose2d(nchw(x), weight, tensor(bias), stride))
    if padding == "valid":  # Keras's JAX pads, output_padding=None
        left, right = kernel_size - 1, kernel_size - 1 + max(kernel_size, stride) - kernel_size
    else:
        total = stride + kernel_size - 2
        left = min(total // 2 + total % 2, kernel_size - 1)
        right = total - left
    start = (kernel_size - 1) - left
    sides = [(side - 1) * stride + 1 + left + right - kernel_size + 1 for side in (5, 4)]
    expected = np.zeros((2, *sides, 6), np.float32) + bias
    kept = full[:, start : start + sides[0], start : start + sides[1]]
    expected[:, : kept.shape[1], : kept.shape[2]] = kept
    assert_close(ops.conv2d_transpose(x, kernel, bias, (stride, stride), padding), expected)


POOL_CASES = {
    # name: (x shape, pool, strides, pads)
    "2x2": ((2, 8, 8, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
    "3x3 stride 2 valid": ((1, 9, 10, 4), (3, 3), (2, 2), ((0, 0), (0, 0))),
    "3x3 stride 1 same": ((1, 7, 7, 2), (3, 3), (1, 1), ((1, 1), (1, 1))),
    "3x3 stride 2 same, odd": ((1, 7, 9, 2), (3, 3), (2, 2), ((1, 1), (1, 1))),
}


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pools_match_torch(case: tuple) -> None:
    """Symmetric pads: torch's padding with count_include_pad=False divides by real pixels, like Keras."""
    x_shape, pool, strides, pads = case
    x = random(np.random.default_rng(4), *x_shape)
    padding = (pads[0][0], pads[1][0])
    assert_close(ops.max_pool2d(x, pool, strides, pads), nhwc(functional.max_pool2d(nchw(x), pool, strides, padding)))
    expected = functional.avg_pool2d(nchw(x), pool, strides, padding, count_include_pad=False)
    assert_close(ops.average_pool2d(x, pool, strides, pads), nhwc(expected))


def test_same_pools_with_extra_bottom_right_pixel_match_torch() -> None:
    """TF "same" on 7x7 with 2x2/2 pads (0, 1): torch's ceil_mode covers the partial last window."""
    x = -np.abs(random(np.random.default_rng(5), 1, 7, 7, 3))  # all negative: a zero pad would win a max
    pads = ((0, 1), (0, 1))
    assert_close(ops.max_pool2d(x, (2, 2), (2, 2), pads), nhwc(functional.max_pool2d(nchw(x), 2, 2, ceil_mode=True)))
    expected = functional.avg_pool2d(nchw(x), 2, 2, ceil_mode=True, count_include_pad=False)
    assert_close(ops.average_pool2d(x, (2, 2), (2, 2), pads), nhwc(expected))


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 4)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d_matches_torch_interpolate(size: tuple[int, int], interpolation: str) -> None:
    """Keras bilinear (half-pixel centres, no antialias when enlarging) is align_corners=False."""
    x = random(np.random.default_rng(6), 2, 5, 4, 3)
    options = {"align_corners": False} if interpolation == "bilinear" else {}
    expected = functional.interpolate(nchw(x), scale_factor=size, mode=interpolation, **options)
    assert_close(ops.upsampling2d(x, size, interpolation), nhwc(expected))


def test_batch_normalization_matches_torch_inference() -> None:
    rng = np.random.default_rng(7)
    x, gamma, beta, mean = random(rng, 2, 4, 5, 6), random(rng, 6), random(rng, 6), random(rng, 6)
    variance = np.abs(random(rng, 6)) + np.float32(0.05)
    expected = functional.batch_norm(nchw(x), tensor(mean), tensor(variance), tensor(gamma), tensor(beta), training=False, eps=1e-3)
    assert_close(ops.batch_normalization(x, gamma, beta, mean, variance, 1e-3), nhwc(expected))


def test_dense_matches_torch_linear() -> None:
    rng = np.random.default_rng(8)
    x, kernel, bias = random(rng, 2, 3, 7), random(rng, 7, 5), random(rng, 5)
    expected = functional.linear(torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(kernel.T)), tensor(bias)).numpy()
    assert_close(ops.dense(x, kernel, bias), expected)


X = np.concatenate([np.linspace(-30, 30, 600, dtype=np.float32), random(np.random.default_rng(9), 300) * 3])

TORCH_ACTIVATIONS = {
    # Keras name: torch with the arguments that give Keras 3's semantics
    "relu": functional.relu,
    "relu6": functional.relu6,
    "leaky_relu": lambda t: functional.leaky_relu(t, negative_slope=0.2),  # torch's default slope is 0.01
    "elu": functional.elu,
    "selu": functional.selu,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": functional.hardsigmoid,  # Keras 3's relu6(x + 3) / 6, not Keras 2's 0.2x + 0.5
    "tanh": torch.tanh,
    "softmax": lambda t: functional.softmax(t, dim=-1),
    "softplus": lambda t: functional.softplus(t, threshold=1000),  # torch linearises past 20 by default
    "swish": functional.silu,
    "silu": functional.silu,
    "gelu": lambda t: functional.gelu(t, approximate="none"),  # Keras 3's "gelu" string is exact
}


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activations_match_torch(name: str) -> None:
    """In float64 on torch's side; atol covers torch's gelu tail, x/2 * (1 + erf) cancelling below -8
    (test_ops checks that tail against math.erfc)."""
    x = X.reshape(9, 100)
    expected = TORCH_ACTIVATIONS[name](torch.from_numpy(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(activations.ACTIVATIONS[name](x), expected, rtol=2e-6, atol=1e-15)


def test_keras_defaults_differ_from_torch_defaults_where_expected() -> None:
    """Guards the semantic choices: torch's defaults would give other numbers."""
    x = torch.tensor([-1.0, 1.5])
    assert not np.allclose(activations.ACTIVATIONS["leaky_relu"](x.numpy()), functional.leaky_relu(x).numpy())
    assert not np.allclose(activations.ACTIVATIONS["gelu"](x.numpy()), functional.gelu(x, approximate="tanh").numpy(), rtol=1e-6)


def test_relu_layer_with_max_and_slope_matches_torch_composition() -> None:
    """ReLU(max_value=6, negative_slope=0.1): clamp(x, 0, 6) + 0.1 * min(x, 0)."""
    x = torch.from_numpy(X)
    expected = (torch.clamp(x, 0, 6) + 0.1 * torch.clamp(x, max=0)).numpy()
    np.testing.assert_allclose(activations.relu_layer(X, 6.0, 0.1, 0.0), expected, rtol=1e-6, atol=1e-6)
