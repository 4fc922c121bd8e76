"""The fast ops against the plain-loop references in naive.py, on small random shapes.

Every convolution algorithm is checked on its own (im2col with and without row blocks, each
Winograd tile size with and without bands), and through `ops.conv2d`'s dispatch. Geometries
come from fixed cases (the corners: asymmetric pads, k < s, k = s, k > s...) and from
hypothesis. Float32 results are compared with float64 references, relative to the output's
largest magnitude.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from fractions import Fraction

import naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from array_checks import random, relative_error
from convtui.engine import activations, ops
from convtui.engine.im2col import Epilogue, copy_shifted, im2col_conv2d, row_blocks
from convtui.engine.winograd import TRANSFORMS, toom_cook, transform_filters, winograd_conv3x3

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
FLOAT32_TOLERANCE = 2e-6
WINOGRAD_TOLERANCE = {2: 2e-6, 4: 5e-6}  # F(4x4)'s transforms (points 1/2 and -2) amplify rounding more

def assert_matches(actual: np.ndarray, expected: np.ndarray, tolerance: float = FLOAT32_TOLERANCE) -> None:
    assert actual.dtype == np.float32
    assert relative_error(actual, expected) <= tolerance

class PoisonedWorkspace(ops.Workspace):
    """Every scratch buffer arrives full of NaN: an op that reads scratch it did not write shows it."""

    def scratch(self, role: str, shape: tuple[int, ...]) -> np.ndarray:
        buffer = super().scratch(role, shape)
        buffer.fill(np.nan)
        return buffer


def poisoned_scratch() -> ops.Workspace:
    return PoisonedWorkspace()




# ---------------------------------------------------------------- conv2d

CONV_CASES = {
    # name: (x shape, kernel shape, strides, pads, dilation, groups)
    "3x3 same": ((2, 7, 6, 4), (3, 3, 4, 5), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    "strided, asymmetric pads": ((1, 8, 7, 3), (3, 2, 3, 4), (2, 3), ((0, 1), (1, 0)), (1, 1), 1),
    "dilated": ((1, 9, 8, 2), (3, 3, 2, 3), (1, 1), ((2, 2), (1, 1)), (2, 1), 1),
    "groups": ((2, 6, 6, 6), (3, 3, 2, 6), (1, 1), ((1, 1), (0, 2)), (1, 1), 3),
    "depthwise-like groups": ((1, 5, 5, 4), (3, 3, 1, 8), (2, 1), ((1, 1), (1, 1)), (1, 1), 4),
    "pointwise": ((2, 5, 4, 6), (1, 1, 6, 7), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    "pointwise strided": ((1, 6, 6, 3), (1, 1, 3, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),
    "even kernel, same with stride": ((1, 7, 7, 2), (4, 4, 2, 3), (2, 2), ((1, 2), (1, 2)), (1, 1), 1),
    "kernel as large as the image": ((2, 4, 5, 3), (4, 5, 3, 2), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_matches_the_definition(case: tuple, with_bias: bool) -> None:
    x_shape, kernel_shape, strides, pads, dilation, groups = case
    rng = np.random.default_rng(1)
    x, kernel = random(rng, *x_shape), random(rng, *kernel_shape)
    bias = random(rng, kernel_shape[3]) if with_bias else None
    actual = ops.conv2d(x, kernel, bias, strides, pads, dilation, groups)
    assert_matches(actual, naive.conv2d(x, kernel, bias, strides, pads, dilation, groups))


@st.composite
def conv_geometries(draw: st.DrawFn) -> dict:
    """Any Conv2D geometry whose output has at least one pixel."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    spans = [dilation[axis] * (kernel[axis] - 1) + 1 for axis in range(2)]
    size = [draw(st.integers(max(spans[axis] - sum(pads[axis]), 1), 9)) for axis in range(2)]
    groups = draw(st.sampled_from([1, 2, 3]))
    return {
        "x_shape": (draw(st.integers(1, 2)), *size, groups * draw(st.integers(1, 3))),
        "kernel_shape": (*kernel, 0, groups * draw(st.integers(1, 3))),
        "strides": strides,
        "pads": pads,
        "dilation": dilation,
        "groups": groups,
        "seed": draw(st.integers(0, 2**16)),
    }


@SETTINGS
@given(geometry=conv_geometries(), byte_limit=st.sampled_from([1, 300, 2000, ops.MAX_SCRATCH_BYTES]))
def test_im2col_matches_the_definition_for_any_geometry(geometry: dict, byte_limit: int) -> None:
    """Row blocks of every size too: a byte limit of 1 forces one output row per block."""
    rng = np.random.default_rng(geometry["seed"])
    x = random(rng, *geometry["x_shape"])
    groups = geometry["groups"]
    kernel_h, kernel_w, _, filters = geometry["kernel_shape"]
    kernel = random(rng, kernel_h, kernel_w, x.shape[3] // groups, filters)
    bias = random(rng, filters)
    args = (geometry["strides"], geometry["pads"], geometry["dilation"], groups)
    actual = im2col_conv2d(x, kernel, *args, Epilogue(bias), poisoned_scratch().scratch, byte_limit)
    assert_matches(actual, naive.conv2d(x, kernel, bias, *args))


def test_im2col_temporaries_stay_under_the_byte_limit() -> None:
    """Blocks bound the patch matrix: the peak beyond the output and the padded input is the limit."""
    rng = np.random.default_rng(20)
    x, kernel = random(rng, 1, 64, 64, 16), random(rng, 3, 3, 16, 8)
    inherent = 64 * 64 * 8 * 4 + 66 * 66 * 16 * 4  # the output, the padded input
    peaks = {}
    for limit in (100_000, ops.MAX_SCRATCH_BYTES):
        tracemalloc.start()
        im2col_conv2d(x, kernel, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, Epilogue(), ops.Workspace().scratch, limit)
        peaks[limit] = tracemalloc.get_traced_memory()[1] - inherent
        tracemalloc.stop()
    assert peaks[100_000] < 100_000 + 20_000
    assert peaks[ops.MAX_SCRATCH_BYTES] > 64 * 64 * 9 * 16 * 4  # unblocked: the whole patch matrix at once


WINOGRAD_PADS = {
    "same": ((1, 1), (1, 1)),
    "valid": ((0, 0), (0, 0)),
    "asymmetric": ((2, 0), (0, 1)),
    "wide": ((3, 2), (2, 3)),
}


@pytest.mark.parametrize("tile", sorted(TRANSFORMS))
@pytest.mark.parametrize("pads", WINOGRAD_PADS.values(), ids=WINOGRAD_PADS.keys())
@pytest.mark.parametrize("band_bytes", [1, 10**9], ids=["one tile row per band", "one band"])
def test_winograd_matches_the_definition(tile: int, pads: tuple, band_bytes: int) -> None:
    """Sizes that are not multiples of the tile: partial tiles at the bottom and right are cropped."""
    rng = np.random.default_rng(tile)
    x, kernel, bias = random(rng, 3, 9, 11, 5), random(rng, 3, 3, 5, 4), random(rng, 4)
    actual = winograd_conv3x3(x, transform_filters(kernel, tile), pads, tile, Epilogue(bias), poisoned_scratch().scratch, band_bytes)
    assert_matches(actual, naive.conv2d(x, kernel, bias, (1, 1), pads, (1, 1), 1), WINOGRAD_TOLERANCE[tile])


@SETTINGS
@given(
    tile=st.sampled_from(sorted(TRANSFORMS)),
    batch=st.integers(1, 3),
    height=st.integers(1, 13),
    width=st.integers(1, 13),
    channels=st.integers(1, 6),
    filters=st.integers(1, 6),
    pads=st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.tuples(st.integers(0, 2), st.integers(0, 2))),
    band_bytes=st.sampled_from([1, 3000, 10**9]),
    seed=st.integers(0, 2**16),
)
def test_winograd_matches_the_definition_for_any_size(
    tile: int, batch: int, height: int, width: int, channels: int, filters: int, pads: tuple, band_bytes: int, seed: int
) -> None:
    if height + sum(pads[0]) < 3 or width + sum(pads[1]) < 3:
        return  # no output pixel: not a valid layer
    rng = np.random.default_rng(seed)
    x, kernel = random(rng, batch, height, width, channels), random(rng, 3, 3, channels, filters)
    actual = winograd_conv3x3(x, transform_filters(kernel, tile), pads, tile, Epilogue(), poisoned_scratch().scratch, band_bytes)
    assert_matches(actual, naive.conv2d(x, kernel, None, (1, 1), pads, (1, 1), 1), WINOGRAD_TOLERANCE[tile])


POINT_SETS = {
    "F(2x2)": [0, 1, -1],
    "F(4x4), Lavin & Gray's points": [0, 1, -1, 2, -2],
    "F(4x4), the engine's points": [0, 1, -1, Fraction(1, 2), -2],
    "F(6x6)": [0, 1, -1, Fraction(1, 2), Fraction(-1, 2), 2, -2],
}


@pytest.mark.parametrize("points", POINT_SETS.values(), ids=POINT_SETS.keys())
def test_toom_cook_transforms_correlate_a_tile(points: list) -> None:
    """A^T [(G g G^T) . (B^T d B)] A is the 3x3 correlation of one tile, in float64, for any points."""
    transform = toom_cook(points)
    size, step = transform.input_tile, transform.output_tile
    rng = np.random.default_rng(len(points))
    tile, kernel = rng.standard_normal((size, size)), rng.standard_normal((3, 3))
    products = (transform.filter @ kernel.ravel()) * (transform.data.astype(np.float64) @ tile.ravel())
    expected = [[np.sum(tile[i : i + 3, j : j + 3] * kernel) for j in range(step)] for i in range(step)]
    np.testing.assert_allclose((transform.output.astype(np.float64) @ products).reshape(step, step), expected, atol=1e-9)


ALGORITHM_CASES = {
    # name: (input shape, kernel shape, strides, dilation, groups, expected)
    "VGG first layer, 3 channels": ((1, 224, 224, 3), (3, 3, 3, 64), (1, 1), (1, 1), 1, "im2col"),
    "VGG 224x224x64": ((1, 224, 224, 64), (3, 3, 64, 64), (1, 1), (1, 1), 1, "winograd_4x4"),
    "VGG 28x28x512": ((1, 28, 28, 512), (3, 3, 512, 512), (1, 1), (1, 1), 1, "winograd_4x4"),
    "VGG 14x14x512": ((1, 14, 14, 512), (3, 3, 512, 512), (1, 1), (1, 1), 1, "winograd_2x2"),
    "27x40, the smaller side decides": ((1, 27, 40, 64), (3, 3, 64, 64), (1, 1), (1, 1), 1, "winograd_2x2"),
    "a training batch of 14x14 maps": ((32, 14, 14, 64), (3, 3, 64, 64), (1, 1), (1, 1), 1, "winograd_4x4"),
    "two 27x40 maps": ((2, 27, 40, 64), (3, 3, 64, 64), (1, 1), (1, 1), 1, "winograd_4x4"),
    "7x7x512": ((1, 7, 7, 512), (3, 3, 512, 512), (1, 1), (1, 1), 1, "im2col"),
    "16 channels": ((1, 56, 56, 16), (3, 3, 16, 64), (1, 1), (1, 1), 1, "im2col"),
    "32 channels": ((1, 56, 56, 32), (3, 3, 32, 64), (1, 1), (1, 1), 1, "winograd_4x4"),
    "4 filters per channel": ((1, 56, 56, 64), (3, 3, 64, 256), (1, 1), (1, 1), 1, "winograd_4x4"),
    "8 filters per channel": ((1, 56, 56, 32), (3, 3, 32, 256), (1, 1), (1, 1), 1, "im2col"),
    "stride 2": ((1, 56, 56, 64), (3, 3, 64, 64), (2, 2), (1, 1), 1, "im2col"),
    "dilation 2": ((1, 56, 56, 64), (3, 3, 64, 64), (1, 1), (2, 2), 1, "im2col"),
    "groups": ((1, 56, 56, 64), (3, 3, 32, 64), (1, 1), (1, 1), 2, "im2col"),
    "5x5": ((1, 56, 56, 64), (5, 5, 64, 64), (1, 1), (1, 1), 1, "im2col"),
    "1x1": ((1, 56, 56, 64), (1, 1, 64, 64), (1, 1), (1, 1), 1, "im2col"),
}


@pytest.mark.parametrize("case", ALGORITHM_CASES.values(), ids=ALGORITHM_CASES.keys())
def test_choose_conv_algorithm(case: tuple) -> None:
    *geometry, expected = case
    assert ops.choose_conv_algorithm(*geometry) == expected


@pytest.mark.parametrize(
    ("x_shape", "algorithm"),
    [((1, 14, 15, 32), "winograd_2x2"), ((1, 28, 28, 32), "winograd_4x4"), ((2, 6, 7, 3), "im2col")],
)
def test_conv2d_dispatch_gives_the_definition(x_shape: tuple, algorithm: str) -> None:
    rng = np.random.default_rng(3)
    x, kernel, bias = random(rng, *x_shape), random(rng, 3, 3, x_shape[3], 1), random(rng, 1)
    assert ops.choose_conv_algorithm(x.shape, kernel.shape, (1, 1), (1, 1), 1) == algorithm
    pads = ((1, 1), (1, 1))
    actual = ops.conv2d(x, kernel, bias, (1, 1), pads, (1, 1), 1, workspace=poisoned_scratch())
    assert_matches(actual, naive.conv2d(x, kernel, bias, (1, 1), pads, (1, 1), 1), WINOGRAD_TOLERANCE[4])


@pytest.mark.parametrize("activation", ["relu", "relu6", "sigmoid", "linear", None])
@pytest.mark.parametrize("x_shape", [(1, 29, 28, 32), (2, 7, 6, 3)], ids=["Winograd", "im2col"])
def test_conv_ops_apply_their_activation(activation: str | None, x_shape: tuple) -> None:
    """relu and relu6 are fused into the blocks, the others applied after: the same as activating the output."""
    rng = np.random.default_rng(19)
    x, kernel, bias = random(rng, *x_shape) * 3, random(rng, 3, 3, x_shape[3], 2), random(rng, 2)
    pads = ((1, 1), (1, 1))
    plain = ops.conv2d(x, kernel, bias, (1, 1), pads)
    expected = plain if activation is None else activations.ACTIVATIONS[activation](plain)
    np.testing.assert_array_equal(ops.conv2d(x, kernel, bias, (1, 1), pads, activation=activation), expected)
    depthwise = random(rng, 3, 3, x_shape[3], 1)
    plain = ops.depthwise_conv2d(x, depthwise, None, (2, 2), pads)
    expected = plain if activation is None else activations.ACTIVATIONS[activation](plain)
    np.testing.assert_array_equal(ops.depthwise_conv2d(x, depthwise, None, (2, 2), pads, activation=activation), expected)
    transposed = random(rng, 2, 2, 3, x_shape[3])
    plain = ops.conv2d_transpose(x, transposed, None, (2, 2), "same")
    expected = plain if activation is None else activations.ACTIVATIONS[activation](plain)
    np.testing.assert_array_equal(ops.conv2d_transpose(x, transposed, None, (2, 2), "same", activation=activation), expected)


# ---------------------------------------------------------------- workspace


def test_workspace_reuses_one_buffer_per_role_and_grows_it() -> None:
    workspace = ops.Workspace()
    first = workspace.scratch("patches", (4, 5))
    smaller = workspace.scratch("patches", (3, 2))
    assert np.shares_memory(first, smaller)
    assert not np.shares_memory(first, workspace.scratch("padded", (4, 5)))
    larger = workspace.scratch("patches", (10, 10))
    assert larger.shape == (10, 10) and larger.dtype == np.float32
    assert workspace.nbytes == (100 + 20) * 4


def test_workspace_transforms_each_kernel_once_and_forgets_freed_kernels() -> None:
    workspace = ops.Workspace()
    kernel = random(np.random.default_rng(0), 3, 3, 4, 5)
    filters = workspace.winograd_filters(kernel, 4)
    assert workspace.winograd_filters(kernel, 4) is filters
    assert workspace.winograd_filters(kernel.copy(), 4) is not filters
    assert workspace.winograd_filters(kernel, 2).shape == (16, 4, 5)
    np.testing.assert_array_equal(filters, transform_filters(kernel, 4))
    del kernel
    gc.collect()
    assert workspace.nbytes == 0


def test_workspace_keeps_depthwise_taps_and_bias_runs_per_array_and_forgets_freed_ones() -> None:
    rng = np.random.default_rng(0)
    workspace = ops.Workspace()
    x, kernel, bias = random(rng, 1, 6, 6, 3), random(rng, 3, 3, 3, 1), random(rng, 3)
    first = ops.depthwise_conv2d(x, kernel, bias, pads=((1, 1), (1, 1)), workspace=workspace)
    held = workspace.nbytes
    np.testing.assert_array_equal(ops.depthwise_conv2d(x, kernel, bias, pads=((1, 1), (1, 1)), workspace=workspace), first)
    assert workspace.nbytes == held, "the second run reuses the tiled taps and the bias runs"
    other = random(rng, 3, 3, 3, 1)
    np.testing.assert_array_equal(
        ops.depthwise_conv2d(x, other, bias, pads=((1, 1), (1, 1)), workspace=workspace), ops.depthwise_conv2d(x, other, bias, pads=((1, 1), (1, 1)))
    )
    del kernel, other, bias
    gc.collect()
    remaining = workspace.nbytes
    workspace.clear_filters()
    assert workspace.nbytes == remaining, "nothing derived from the freed arrays is kept"


def test_a_shared_workspace_gives_the_same_results_as_none() -> None:
    """Successive layers of different sizes share the buffers; nothing leaks from one to the next."""
    rng = np.random.default_rng(4)
    workspace = ops.Workspace()
    layers = [random(rng, 3, 3, 32, 16), random(rng, 3, 3, 32, 32), random(rng, 5, 5, 32, 8)]
    for size in (30, 16, 9, 30):
        x = random(rng, 1, size, size, 32)
        for kernel in layers:
            shared = ops.conv2d(x, kernel, None, (1, 1), ((1, 1), (1, 1)), workspace=workspace)
            np.testing.assert_array_equal(shared, ops.conv2d(x, kernel, None, (1, 1), ((1, 1), (1, 1))))


def test_the_epilogue_of_no_filters_is_empty() -> None:
    block = np.zeros((4, 0), np.float32)
    Epilogue(np.zeros(0, np.float32), ops.FUSED_ACTIVATIONS["relu"]).finish_in_place(block)
    assert block.shape == (4, 0)


@pytest.mark.parametrize("filters", [1, 5, 96, 3000])
@pytest.mark.parametrize("pixels", [1, 409, 410, 2051])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_the_epilogue_adds_the_bias_to_every_pixel(filters: int, pixels: int, layout: str) -> None:
    """Along runs of the repeated bias, with the pixels past the last whole run, and on a strided view."""
    rng = np.random.default_rng(filters + pixels)
    bias = random(rng, filters)
    values = random(rng, pixels, 2 * filters)
    block = np.ascontiguousarray(values[:, :filters]) if layout == "contiguous" else values[:, ::2]
    expected = np.maximum(block + bias, 0)
    Epilogue(bias, ops.FUSED_ACTIVATIONS["relu"]).finish_in_place(block)
    np.testing.assert_array_equal(block, expected)


# ---------------------------------------------------------------- depthwise, separable, transpose

DEPTHWISE_CASES = {
    # name: (x shape, kernel shape, strides, pads, dilation)
    "3x3 same": ((2, 6, 5, 3), (3, 3, 3, 1), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    "depth multiplier 2, strided": ((1, 7, 7, 2), (3, 3, 2, 2), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    "depth multiplier 3, asymmetric": ((1, 6, 8, 2), (2, 3, 2, 3), (1, 2), ((0, 1), (1, 1)), (1, 1)),
    "dilated": ((1, 8, 8, 3), (3, 3, 3, 1), (1, 1), ((2, 2), (2, 2)), (2, 2)),
    "stride 2, dilated 2: one phase": ((2, 9, 9, 5), (3, 3, 5, 1), (2, 2), ((2, 2), (2, 2)), (2, 2)),
    "stride 3, dilated 2: three phases": ((1, 13, 14, 4), (3, 4, 4, 1), (3, 3), ((1, 2), (3, 2)), (2, 2)),
    "1x1, stride 3: phases no tap reads": ((2, 7, 8, 70), (1, 1, 70, 2), (3, 3), ((0, 0), (0, 0)), (1, 1)),
    "5x5 stride 2, many channels": ((1, 11, 10, 130), (5, 5, 130, 1), (2, 2), ((2, 2), (1, 2)), (1, 1)),
}


@pytest.mark.parametrize("case", DEPTHWISE_CASES.values(), ids=DEPTHWISE_CASES.keys())
def test_depthwise_conv2d_matches_the_definition(case: tuple) -> None:
    x_shape, kernel_shape, strides, pads, dilation = case
    rng = np.random.default_rng(5)
    x, kernel = random(rng, *x_shape), random(rng, *kernel_shape)
    bias = random(rng, kernel_shape[2] * kernel_shape[3])
    actual = ops.depthwise_conv2d(x, kernel, bias, strides, pads, dilation, workspace=poisoned_scratch())
    assert_matches(actual, naive.depthwise_conv2d(x, kernel, bias, strides, pads, dilation))


@pytest.mark.parametrize("strides", [(1, 1), (2, 2)])
def test_depthwise_conv2d_on_an_empty_batch_and_array_pads(strides: tuple[int, int]) -> None:
    """No images gives no images; pads as a NumPy array (as a caller may hold them) mean the same as tuples."""
    rng = np.random.default_rng(7)
    kernel, bias = random(rng, 3, 3, 4, 2), random(rng, 8)
    empty = ops.depthwise_conv2d(np.zeros((0, 9, 9, 4), np.float32), kernel, bias, strides, ((1, 1), (1, 1)))
    side = (9 + 2 - 3) // strides[0] + 1
    assert empty.shape == (0, side, side, 8) and empty.dtype == np.float32
    x = random(rng, 2, 9, 9, 4)
    for pads in (np.array([[1, 1], [1, 1]]), np.zeros((2, 2), int)):
        expected = naive.depthwise_conv2d(x, kernel, bias, strides, tuple(map(tuple, pads.tolist())), (1, 1))
        assert_matches(ops.depthwise_conv2d(x, kernel, bias, strides, pads), expected)


def test_depthwise_conv2d_takes_float64_arrays() -> None:
    """An API caller's float64 image and kernel: a float32 output, as the other layers give."""
    rng = np.random.default_rng(6)
    x, kernel, bias = rng.random((1, 7, 6, 3)), rng.random((3, 3, 3, 2)), rng.random(6)
    actual = ops.depthwise_conv2d(x, kernel, bias, (2, 1), ((1, 1), (1, 1)))
    assert actual.dtype == np.float32
    assert_matches(actual, naive.depthwise_conv2d(x, kernel, bias, (2, 1), ((1, 1), (1, 1)), (1, 1)))


@SETTINGS
@given(geometry=conv_geometries(), multiplier=st.integers(1, 3))
def test_depthwise_conv2d_matches_the_definition_for_any_geometry(geometry: dict, multiplier: int) -> None:
    rng = np.random.default_rng(geometry["seed"])
    x = random(rng, *geometry["x_shape"])
    kernel = random(rng, *geometry["kernel_shape"][:2], x.shape[3], multiplier)
    args = (geometry["strides"], geometry["pads"], geometry["dilation"])
    assert_matches(ops.depthwise_conv2d(x, kernel, None, *args), naive.depthwise_conv2d(x, kernel, None, *args))


@pytest.mark.parametrize("multiplier", [1, 2])
def test_separable_conv2d_matches_the_definition(multiplier: int) -> None:
    rng = np.random.default_rng(6)
    x = random(rng, 2, 7, 6, 3)
    depthwise, pointwise, bias = random(rng, 3, 3, 3, multiplier), random(rng, 1, 1, 3 * multiplier, 4), random(rng, 4)
    args = ((2, 1), ((1, 1), (0, 1)), (1, 1))
    actual = ops.separable_conv2d(x, depthwise, pointwise, bias, *args, workspace=poisoned_scratch())
    assert_matches(actual, naive.separable_conv2d(x, depthwise, pointwise, bias, *args))


TRANSPOSE_CASES = {
    # name: (kernel (kh, kw), strides)
    "k < s": ((2, 2), (3, 3)),
    "k = s": ((2, 2), (2, 2)),
    "k > s": ((3, 3), (2, 2)),
    "k much larger than s": ((5, 4), (2, 1)),
    "stride 1": ((3, 3), (1, 1)),
    "1x1 with stride": ((1, 1), (2, 2)),
    "mixed axes": ((3, 2), (2, 3)),
}


@pytest.mark.parametrize("case", TRANSPOSE_CASES.values(), ids=TRANSPOSE_CASES.keys())
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_transpose_matches_keras_definition(case: tuple, padding: str) -> None:
    (kernel_h, kernel_w), strides = case
    rng = np.random.default_rng(8)
    x, kernel, bias = random(rng, 2, 4, 3, 3), random(rng, kernel_h, kernel_w, 2, 3), random(rng, 2)
    actual = ops.conv2d_transpose(x, kernel, bias, strides, padding, workspace=poisoned_scratch())
    expected_sides = [
        side * stride if padding == "same" else side * stride + max(k - stride, 0)
        for side, k, stride in ((4, kernel_h, strides[0]), (3, kernel_w, strides[1]))
    ]
    assert actual.shape == (2, *expected_sides, 2)
    assert_matches(actual, naive.conv2d_transpose(x, kernel, bias, strides, padding))


@SETTINGS
@given(
    kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    strides=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    padding=st.sampled_from(["valid", "same"]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_transpose_matches_keras_definition_for_any_geometry(
    kernel: tuple[int, int], strides: tuple[int, int], size: tuple[int, int], padding: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x, weights, bias = random(rng, 2, *size, 2), random(rng, *kernel, 3, 2), random(rng, 3)
    assert_matches(ops.conv2d_transpose(x, weights, bias, strides, padding), naive.conv2d_transpose(x, weights, bias, strides, padding))


def test_conv2d_transpose_in_row_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the scratch bound the input is taken a few rows at a time; the sums across blocks still add up."""
    monkeypatch.setattr(ops, "MAX_SCRATCH_BYTES", 200)
    rng = np.random.default_rng(9)
    x, kernel = random(rng, 2, 5, 4, 2), random(rng, 3, 3, 2, 2)
    assert_matches(ops.conv2d_transpose(x, kernel, None, (2, 2), "same"), naive.conv2d_transpose(x, kernel, None, (2, 2), "same"))


# ---------------------------------------------------------------- pooling

POOL_CASES = {
    # name: (x shape, pool, strides, pads)
    "2x2 valid": ((2, 6, 6, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
    "odd size, same (extra pixel bottom/right)": ((1, 5, 7, 2), (2, 2), (2, 2), ((0, 1), (0, 1))),
    "3x3 stride 2 same": ((1, 7, 6, 2), (3, 3), (2, 2), ((1, 1), (0, 1))),
    "3x3 stride 1 same": ((1, 5, 5, 2), (3, 3), (1, 1), ((1, 1), (1, 1))),
    "overlapping, unequal axes": ((1, 8, 5, 1), (3, 2), (2, 1), ((0, 0), (0, 0))),
}


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_max_pool2d_matches_the_definition(case: tuple) -> None:
    x_shape, pool, strides, pads = case
    x = random(np.random.default_rng(10), *x_shape)
    assert_matches(ops.max_pool2d(x, pool, strides, pads, workspace=poisoned_scratch()), naive.max_pool2d(x, pool, strides, pads))


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_average_pool2d_divides_by_real_pixels(case: tuple) -> None:
    x_shape, pool, strides, pads = case
    x = random(np.random.default_rng(11), *x_shape)
    assert_matches(ops.average_pool2d(x, pool, strides, pads, workspace=poisoned_scratch()), naive.average_pool2d(x, pool, strides, pads))


def test_padding_never_wins_a_max_pool() -> None:
    x = -np.ones((1, 3, 3, 1), np.float32) - np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    pooled = ops.max_pool2d(x, (2, 2), (2, 2), ((0, 1), (0, 1)))
    np.testing.assert_array_equal(pooled[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_average_pool2d_corner_window_counts_one_pixel() -> None:
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    pooled = ops.average_pool2d(x, (2, 2), (2, 2), ((0, 1), (0, 1)))
    np.testing.assert_allclose(pooled[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


@st.composite
def pool_geometries(draw: st.DrawFn) -> dict:
    """A pool with "same"-style pads: smaller than the window, so every window has a real pixel."""
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple((draw(st.integers(0, pool[axis] - 1)), draw(st.integers(0, pool[axis] - 1))) for axis in range(2))
    size = [draw(st.integers(max(pool[axis] - sum(pads[axis]), 1), 8)) for axis in range(2)]
    return {"shape": (draw(st.integers(1, 2)), *size, draw(st.integers(1, 3))), "pool": pool, "strides": strides, "pads": pads}


@SETTINGS
@given(geometry=pool_geometries(), seed=st.integers(0, 2**16))
def test_pooling_matches_the_definition_for_any_geometry(geometry: dict, seed: int) -> None:
    x = random(np.random.default_rng(seed), *geometry["shape"])
    args = (geometry["pool"], geometry["strides"], geometry["pads"])
    assert_matches(ops.max_pool2d(x, *args), naive.max_pool2d(x, *args))
    assert_matches(ops.average_pool2d(x, *args), naive.average_pool2d(x, *args))


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools(keepdims: bool) -> None:
    x = random(np.random.default_rng(12), 2, 5, 4, 3)
    assert_matches(ops.global_average_pool2d(x, keepdims), naive.global_pool(x, "mean", keepdims))
    assert_matches(ops.global_max_pool2d(x, keepdims), naive.global_pool(x, "max", keepdims))


# ---------------------------------------------------------------- per-pixel layers


def test_batch_normalization_is_the_inference_formula() -> None:
    rng = np.random.default_rng(13)
    x = random(rng, 2, 3, 4, 5)
    gamma, beta, mean = random(rng, 5), random(rng, 5), random(rng, 5)
    variance = np.abs(random(rng, 5)) + np.float32(0.1)
    actual = ops.batch_normalization(x, gamma, beta, mean, variance, 1e-3)
    assert_matches(actual, naive.batch_normalization(x, gamma, beta, mean, variance, 1e-3))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 2, 3, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_on_the_last_axis_of_any_rank(shape: tuple, with_bias: bool) -> None:
    rng = np.random.default_rng(14)
    x, kernel = random(rng, *shape), random(rng, 4, 6)
    bias = random(rng, 6) if with_bias else None
    assert_matches(ops.dense(x, kernel, bias), naive.dense(x, kernel, bias))


def test_zero_padding2d() -> None:
    x = random(np.random.default_rng(15), 2, 3, 4, 2)
    pads = ((1, 2), (0, 3))
    assert_matches(ops.zero_padding2d(x, pads), naive.zero_padding2d(x, pads))


@pytest.mark.parametrize("size", [(2, 2), (3, 1), (1, 4)])
def test_upsampling2d_nearest_and_bilinear(size: tuple[int, int]) -> None:
    x = random(np.random.default_rng(16), 2, 3, 4, 2)
    assert_matches(ops.upsampling2d(x, size, "nearest"), naive.upsampling_nearest(x, size))
    assert_matches(ops.upsampling2d(x, size, "bilinear"), naive.upsampling_bilinear(x, size))


def test_upsampling2d_rejects_other_interpolations() -> None:
    with pytest.raises(ValueError, match="bicubic"):
        ops.upsampling2d(np.zeros((1, 2, 2, 1), np.float32), (2, 2), "bicubic")  # type: ignore[arg-type]


def test_copy_shifted_pads_and_cuts() -> None:
    source = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)
    destination = np.empty((1, 3, 3, 1), np.float32)
    copy_shifted(destination, source, -1, 2, -5.0)
    np.testing.assert_array_equal(destination[0, :, :, 0], [[-5, -5, -5], [2, 3, -5], [6, 7, -5]])
    copy_shifted(destination, source, 7, 0, 0.0)  # entirely outside
    assert not destination.any()


def test_row_blocks_only_split_past_the_limit() -> None:
    assert row_blocks(3, 10, 100, 3000) == [(slice(0, 3), slice(0, 10))]
    assert row_blocks(3, 10, 100, 2000) == [(slice(0, 2), slice(0, 10)), (slice(2, 4), slice(0, 10))]
    assert row_blocks(2, 10, 100, 450) == [(slice(n, n + 1), slice(r, r + 4)) for n in range(2) for r in (0, 4, 8)]
    assert row_blocks(1, 3, 100, 1) == [(slice(0, 1), slice(r, r + 1)) for r in range(3)]  # never less than a row


# ---------------------------------------------------------------- activations

ACTIVATION_INPUTS = np.concatenate(
    [np.array([-100, -20, -5, -3, -1, -1e-3, 0, 1e-3, 1, 3, 5, 20, 100], np.float32), random(np.random.default_rng(17), 200) * 4]
)


@pytest.mark.parametrize("name", sorted({*naive.SCALAR_ACTIVATIONS, "softmax"}))
def test_activations_follow_keras_definitions(name: str) -> None:
    """The activations of the first catalogue; test_new_layer_ops.py checks the others the same way."""
    x = ACTIVATION_INPUTS.reshape(1, -1) if name == "softmax" else ACTIVATION_INPUTS
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        actual = activations.ACTIVATIONS[name](x)
    expected = naive.activation(name, x)
    assert actual.dtype == np.float32 and actual.shape == x.shape
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-37)


def test_activation_choices_where_keras_versions_differ() -> None:
    x = np.array([-1.0, 1.0], np.float32)
    np.testing.assert_allclose(activations.ACTIVATIONS["hard_sigmoid"](x), [2 / 6, 4 / 6], rtol=1e-7)  # Keras 2: 0.3, 0.7
    np.testing.assert_allclose(activations.ACTIVATIONS["leaky_relu"](x), [-0.2, 1.0], rtol=1e-7)  # Keras 3 default slope 0.2
    exact = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # 0.84134..., the tanh approximation gives 0.84119...
    np.testing.assert_allclose(activations.ACTIVATIONS["gelu"](x)[1], exact, rtol=1e-7)


def test_softmax_is_stable_for_large_logits() -> None:
    probabilities = activations.ACTIVATIONS["softmax"](np.array([[1000.0, 1001.0, -1000.0]], np.float32))
    np.testing.assert_allclose(probabilities, [[1 / (1 + math.e), math.e / (1 + math.e), 0.0]], rtol=1e-6)


def test_erfc_is_accurate_everywhere() -> None:
    z = np.concatenate([np.linspace(-6, 6, 2001), np.linspace(6, 26, 501)])
    expected = np.array([math.erfc(v) for v in z])
    np.testing.assert_allclose(activations.erfc(z), expected, rtol=5e-9, atol=0)


RELU_LAYER_CASES = [
    (None, 0.0, 0.0),
    (6.0, 0.0, 0.0),
    (2.5, 0.0, 0.0),
    (None, 0.1, 0.0),
    (None, 0.3, 1.0),
    (4.0, 0.5, 1.0),
    (None, 0.0, 1.5),
    (3.0, 0.0, -0.5),
    (None, 0.2, -0.5),
]


@pytest.mark.parametrize(("max_value", "negative_slope", "threshold"), RELU_LAYER_CASES)
def test_relu_layer_follows_keras(max_value: float | None, negative_slope: float, threshold: float) -> None:
    x = ACTIVATION_INPUTS
    actual = activations.relu_layer(x, max_value, negative_slope, threshold)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, naive.relu_layer(x, max_value, negative_slope, threshold), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- float32 in, float32 out


def test_every_op_returns_float32() -> None:
    rng = np.random.default_rng(18)
    x = random(rng, 1, 6, 6, 4)
    outputs = [
        ops.conv2d(x, random(rng, 3, 3, 4, 2), random(rng, 2), (1, 1), ((1, 1), (1, 1))),
        ops.depthwise_conv2d(x, random(rng, 3, 3, 4, 1), None),
        ops.separable_conv2d(x, random(rng, 3, 3, 4, 1), random(rng, 1, 1, 4, 3), random(rng, 3)),
        ops.conv2d_transpose(x, random(rng, 3, 3, 2, 4), random(rng, 2), (2, 2), "same"),
        ops.max_pool2d(x, (2, 2), (2, 2)),
        ops.average_pool2d(x, (3, 3), (1, 1), ((1, 1), (1, 1))),
        ops.global_average_pool2d(x),
        ops.global_max_pool2d(x, keepdims=True),
        ops.batch_normalization(x, *(random(rng, 4) for _ in range(3)), np.ones(4, np.float32), 1e-3),
        ops.dense(x, random(rng, 4, 3), random(rng, 3)),
        ops.zero_padding2d(x, ((1, 1), (2, 2))),
        ops.upsampling2d(x, (2, 2), "bilinear"),
        ops.upsampling2d(x, (2, 2), "nearest"),
        activations.relu_layer(x, 6.0, 0.1, 0.5),
        ops.cropping2d(x, ((1, 0), (0, 2))),
        ops.rescaling(x, np.array([0.5, 1, 2, 3]), np.array(0.25)),
        ops.normalization(x, random(rng, 4), np.ones(4, np.float32), invert=True),
        ops.layer_normalization(x, random(rng, 4), random(rng, 4), (3,), 1e-3),
        *(function(x) for function in activations.ACTIVATIONS.values()),
    ]
    assert all(output.dtype == np.float32 for output in outputs)
