"""The engine's operators: pure NumPy, float32, NHWC with a batch axis, Keras 3 weight layouts.

Each op computes exactly what Keras 3 computes at inference (the padding amounts come from the
caller, already resolved by Keras's rule). Convolutions pick their algorithm per layer with
`choose_conv_algorithm`: Winograd for 3x3 stride-1 layers with enough channels, one im2col
matrix product otherwise. A `Workspace` passed by the caller shares scratch buffers across layers
and keeps each kernel's Winograd filters; every op also works without one. With more than one
thread (`threads.use_threads`), large convolutions and poolings are split into bands, one per
thread, each with its own scratch (`Workspace.worker_scratches`).
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convtui.engine.activations import ACTIVATIONS
from convtui.engine.im2col import (
    FLOAT_BYTES,
    MAX_SCRATCH_BYTES,
    Epilogue,
    Pads,
    Pair,
    Scratch,
    Write,
    copy_shifted,
    im2col_conv2d,
    image_segments,
    padded,
    row_blocks,
    tiled_bias,
)
from convtui.engine.threads import conv_thread_count, run_parallel, split_evenly, thread_count
from convtui.engine.winograd import transform_filters, winograd_conv3x3
from convtui.model.geometry import transpose_crop, transpose_output_side

__all__ = [
    "ACTIVATIONS",
    "MAX_SCRATCH_BYTES",
    "ConvAlgorithm",
    "Workspace",
    "average_pool2d",
    "batch_normalization",
    "choose_conv_algorithm",
    "conv2d",
    "conv2d_transpose",
    "cropping2d",
    "dense",
    "depthwise_conv2d",
    "global_average_pool2d",
    "global_max_pool2d",
    "layer_normalization",
    "max_pool2d",
    "normalization",
    "rescaling",
    "separable_conv2d",
    "upsampling2d",
    "zero_padding2d",
]

NO_PADS: Pads = ((0, 0), (0, 0))


class Workspace:
    """Scratch buffers shared by successive layers, and arrays derived from each layer's weights.

    One buffer per role (padded input, patches, Winograd bands...), grown to the largest layer
    and reused: fresh large arrays are slow (page faults) and per-layer buffers raise the peak.
    Derived arrays (Winograd's transformed filters, depthwise kernels tiled along a row, a bias
    tiled into runs) are cached by the identity of the array they come from and dropped when it
    is freed, so weights must be replaced, not modified in place (or call `clear_filters`). One
    workspace per thread.
    """

    def __init__(self, *, keep_derived: bool = True) -> None:
        """`keep_derived=False` for training, whose optimiser updates the weights in place: derived arrays are made afresh."""
        self._buffers: dict[str, np.ndarray] = {}
        self._derived: dict[tuple[int, Hashable], np.ndarray] = {}
        self._workers: list[Workspace] = []
        self.keep_derived = keep_derived

    def worker_scratches(self, count: int) -> list[Scratch]:
        """One scratch per thread of a split layer (`count` of them; none below 2), each its own buffers.

        A split layer's bands share the single-threaded band budget, so together they hold about
        what one thread's bands held; workers past `count` (a lowered thread count) are dropped.
        """
        if count <= 1:
            return []
        del self._workers[count:]
        self._workers.extend(type(self)() for _ in range(count - len(self._workers)))  # a subclass's scratch too
        return [worker.scratch for worker in self._workers]

    def scratch(self, role: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 buffer of `shape` for `role`; its content is whatever the last user left."""
        size = math.prod(shape)
        buffer = self._buffers.get(role)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[role] = np.empty(size, np.float32)
        return buffer[:size].reshape(shape)

    def derived(self, source: np.ndarray, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        """`make()`, computed once per `source` array and `key`, and dropped when `source` is freed.

        Recomputing them each run cost MobileNetV2 ~0.7 ms of its ~16 (np.tile of its depthwise
        kernels and biases, each call mostly overhead).
        """
        if not self.keep_derived:
            return make()
        full_key = (id(source), key)
        cached = self._derived.get(full_key)
        if cached is None:
            cached = self._derived[full_key] = make()
            weakref.finalize(source, self._derived.pop, full_key, None)
        return cached

    def winograd_filters(self, kernel: np.ndarray, output_tile: int) -> np.ndarray:
        """`transform_filters(kernel, output_tile)`, computed once per kernel array."""
        return self.derived(kernel, ("winograd", output_tile), partial(transform_filters, kernel, output_tile))

    def clear_filters(self) -> None:
        self._derived.clear()

    @property
    def nbytes(self) -> int:
        """Bytes held: scratch buffers plus derived arrays."""
        own = sum(array.nbytes for array in (*self._buffers.values(), *self._derived.values()))
        return own + sum(worker.nbytes for worker in self._workers)


# ---------------------------------------------------------------- convolutions

ConvAlgorithm = Literal["im2col", "winograd_2x2", "winograd_4x4"]
WINOGRAD_OUTPUT_TILES: dict[str, int] = {"winograd_2x2": 2, "winograd_4x4": 4}
WINOGRAD_MIN_CHANNELS = 32
"""Fewer input channels make the batched products too thin (K = C) to repay the tile transforms."""
WINOGRAD_MAX_FILTERS_PER_CHANNEL = 4
"""Far more filters than channels: the output transforms (one per filter) outweigh the savings."""
WINOGRAD_MIN_SIDE = 14
"""On smaller maps the fixed cost of the transform stages outweighs the products they save."""
WINOGRAD_4X4_MIN_TILES = 49
"""Fewer 4x4 output tiles in the batch (one 28x28 map has 49) are too few per matrix product, and
waste more on partial tiles: 2x2. A training batch of 14x14 maps has plenty (32 maps: 512 tiles),
and there 4x4 measured 1.4-1.8x faster than 2x2 or im2col."""


def choose_conv_algorithm(
    input_shape: tuple[int, ...], kernel_shape: tuple[int, ...], strides: Pair, dilation: Pair, groups: int
) -> ConvAlgorithm:
    """The fastest exact algorithm for a layer's geometry (measured on VGG16-like layers, batch 1).

    Winograd needs a 3x3 kernel, stride 1, dilation 1 and one group, and pays from 32 input
    channels (and at most 4 filters per channel) on maps of 14x14 and up: F(4x4) once the batch
    has 49 whole 4x4 tiles on its smaller side squared (one 28x28 map, or a batch of smaller ones), F(2x2) below; im2col
    for the rest.
    """
    kernel_h, kernel_w, channels, filters = kernel_shape
    side = min(input_shape[1], input_shape[2])
    winograd_geometry = (kernel_h, kernel_w) == (3, 3) and tuple(strides) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1
    pays = channels >= WINOGRAD_MIN_CHANNELS and filters <= WINOGRAD_MAX_FILTERS_PER_CHANNEL * channels and side >= WINOGRAD_MIN_SIDE
    if not (winograd_geometry and pays):
        return "im2col"
    tiles = input_shape[0] * (side // 4) ** 2
    return "winograd_4x4" if tiles >= WINOGRAD_4X4_MIN_TILES else "winograd_2x2"


def conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Pair = (1, 1),
    pads: Pads = NO_PADS,
    dilation: Pair = (1, 1),
    groups: int = 1,
    *,
    activation: str | None = None,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Keras Conv2D: x (N, H, W, C), kernel (kh, kw, C/groups, F), bias (F,) or None, then `activation`.

    The bias and a relu/relu6 activation are fused into the last passes over each block of output.
    """
    workspace = workspace or Workspace()
    epilogue = _epilogue(bias, activation, workspace)
    algorithm = choose_conv_algorithm(x.shape, kernel.shape, strides, dilation, groups)
    workers = workspace.worker_scratches(conv_thread_count())
    if algorithm == "im2col":
        output = im2col_conv2d(x, kernel, tuple(strides), pads, tuple(dilation), groups, epilogue, workspace.scratch, workers=workers)
    else:
        tile = WINOGRAD_OUTPUT_TILES[algorithm]
        filters = workspace.winograd_filters(kernel, tile)
        output = winograd_conv3x3(x, filters, pads, tile, epilogue, workspace.scratch, workers=workers)
    return _activated(output, activation)


def depthwise_conv2d(
    x: np.ndarray,
    depthwise_kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Pair = (1, 1),
    pads: Pads = NO_PADS,
    dilation: Pair = (1, 1),
    *,
    activation: str | None = None,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Keras DepthwiseConv2D: kernel (kh, kw, C, depth_multiplier); output channel c*dm + m.

    Per-channel products have no matrix product to batch into BLAS. Each output row is one run of
    out_w*C values, and one `np.einsum` sums every tap's shifted row times the tap's weights tiled
    along the run: a single pass whose inner loop spans the whole run (1.1-4.7x faster than tap
    by tap or einsum per pixel, on MobileNetV2's layers). A strided convolution's columns are first
    split into `stride` contiguous phases; taps of one phase share an einsum. A multiplier M > 1
    is a multiplier of 1 over each channel repeated M times. The tiled taps are kept in the
    workspace. Bands of rows on 2 threads were 1.2-1.4x faster on MobileNetV2's three largest
    layers alone, but its forward 1 ms slower (20.2 against 19.2 ms): the pool's threads wait
    on the cores BLAS's idle threads spin on; so one pass.
    """
    workspace = workspace or Workspace()
    kernel_h, kernel_w, channels, multiplier = depthwise_kernel.shape
    x = np.asarray(x, np.float32)  # the views below step in float32 bytes
    if multiplier > 1:
        x = np.repeat(x, multiplier, axis=3)
    kernel = np.asarray(depthwise_kernel, np.float32).reshape(kernel_h, kernel_w, channels * multiplier)
    (top, bottom), (left, right) = pads
    batch, height, width, depth = x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]
    out_h = (height - dilation[0] * (kernel_h - 1) - 1) // strides[0] + 1
    out_w = (width - dilation[1] * (kernel_w - 1) - 1) // strides[1] + 1
    output = np.empty((batch, out_h, out_w, depth), np.float32)
    tiles = partial(_tiled_taps, workspace, depthwise_kernel, kernel, out_w)
    groups = _phase_groups(x, pads, kernel_w, out_w, strides[1], dilation[1], workspace.scratch, tiles)
    runs = output.reshape(batch, out_h, out_w * depth)
    term = workspace.scratch("depthwise_term", runs.shape) if len(groups) > 1 else None
    for index, group in enumerate(groups):
        rows = as_strided(
            group.phase[:, :, group.start :],
            (batch, out_h, kernel_h, len(group.columns), out_w * depth),
            (group.phase.strides[0], group.phase.strides[1] * strides[0], group.phase.strides[1] * dilation[0], group.step, FLOAT_BYTES),
            writeable=False,
        )
        np.einsum("nrijx,ijx->nrx", rows, group.kernel, out=runs if index == 0 else term)
        if index > 0:
            runs += term
    _epilogue(bias, activation, workspace).finish_in_place(output)
    return _activated(output, activation)


@dataclass(frozen=True)
class PhaseGroup:
    """The kernel columns that read one column phase of the image, each `step` bytes right of the last from `start` values in."""

    phase: np.ndarray
    columns: tuple[int, ...]
    start: int
    step: int
    kernel: np.ndarray
    """Those columns' weights, each tiled along a row run: (kh, len(columns), out_w*C)."""


def _tiled_taps(workspace: Workspace, source: np.ndarray, kernel: np.ndarray, out_w: int, columns: tuple[int, ...]) -> np.ndarray:
    """Columns `columns` of `kernel` ((kh, kw, C*M): `source` reshaped) tiled along a row run, (kh, len(columns), out_w*C*M),
    kept in the workspace while `source` lives."""
    return workspace.derived(source, ("depthwise", columns, out_w), partial(np.tile, kernel[:, list(columns)], (1, 1, out_w)))


def _phase_groups(
    x: np.ndarray, pads: Pads, kernel_w: int, out_w: int, stride: int, dilation: int, scratch: Scratch, tiles: Callable[[tuple[int, ...]], np.ndarray]
) -> list[PhaseGroup]:
    """The padded image as (N, H, W'*C) row runs, columns p, p + stride, ... contiguous for each phase p, with the taps that read each.

    Kernel column j reads phase (j*dilation) % stride from column (j*dilation) // stride; within a
    phase those columns are evenly spaced, so one strided view covers them. Each phase is copied
    straight from x with its share of the padding: one pass over the input, not two.
    """
    (top, bottom), (left, right) = pads
    batch, height, width, depth = x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]
    groups = []
    for phase in range(stride):
        columns = tuple(j for j in range(kernel_w) if j * dilation % stride == phase)
        if not columns:
            continue
        if stride == 1 and top == bottom == left == right == 0:
            runs = np.ascontiguousarray(x).reshape(batch, height, width * depth)
        else:
            first = (phase - left) % stride  # x's first column in this phase; it lands at phase column `shift`
            shift = (first + left - phase) // stride
            columns_in_phase = len(range(phase, width, stride))
            copy = scratch(f"depthwise_phase_{phase}", (batch, height, columns_in_phase, depth))
            copy_shifted(copy, x[:, :, first::stride], -top, -shift, 0.0)
            runs = copy.reshape(batch, height, columns_in_phase * depth)
        offsets = [j * dilation // stride * depth for j in columns]
        step = (offsets[1] - offsets[0]) * FLOAT_BYTES if len(offsets) > 1 else 0
        groups.append(PhaseGroup(runs, columns, offsets[0], step, tiles(columns)))
    return groups


def separable_conv2d(
    x: np.ndarray,
    depthwise_kernel: np.ndarray,
    pointwise_kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Pair = (1, 1),
    pads: Pads = NO_PADS,
    dilation: Pair = (1, 1),
    *,
    activation: str | None = None,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Keras SeparableConv2D: depthwise (no bias), then the (1, 1, C*dm, F) pointwise with the bias."""
    workspace = workspace or Workspace()
    depthwise = depthwise_conv2d(x, depthwise_kernel, None, strides, pads, dilation, workspace=workspace)
    return conv2d(depthwise, pointwise_kernel, bias, activation=activation, workspace=workspace)


def conv2d_transpose(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Pair,
    padding: Literal["valid", "same"],
    *,
    activation: str | None = None,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Keras Conv2DTranspose: kernel (kh, kw, F, C_in); output side n*s ("same") or n*s + max(k - s, 0).

    Input pixel (i, j) adds x[i, j] @ kernel[a, b].T at (i*s + a, j*s + b) of the uncropped output:
    one matrix product for all pixels and taps, then one strided add per tap, straight into the
    output, cropped at the start as Keras does (`transpose_crop`); where s > k, the positions no
    tap reaches stay zero.
    """
    workspace = workspace or Workspace()
    kernel_h, kernel_w, filters, channels = kernel.shape
    batch, height, width, _ = x.shape
    stride_h, stride_w = strides
    out_h = transpose_output_side(height, kernel_h, stride_h, padding)
    out_w = transpose_output_side(width, kernel_w, stride_w, padding)
    output = np.zeros((batch, out_h, out_w, filters), np.float32)
    crop_h, crop_w = transpose_crop(kernel_h, stride_h, padding), transpose_crop(kernel_w, stride_w, padding)
    taps = kernel.transpose(3, 0, 1, 2).reshape(channels, kernel_h * kernel_w * filters)
    row_bytes = width * kernel_h * kernel_w * filters * FLOAT_BYTES
    for images, rows in row_blocks(batch, height, row_bytes, MAX_SCRATCH_BYTES):
        block = x[images, rows]
        columns = workspace.scratch("transpose_columns", (*block.shape[:3], kernel_h, kernel_w, filters))
        np.matmul(block.reshape(-1, channels), taps, out=columns.reshape(-1, taps.shape[1]))
        for a, b in itertools.product(range(kernel_h), range(kernel_w)):
            source_rows, target_rows = _tap_slices(rows.start * stride_h + a - crop_h, stride_h, block.shape[1], out_h)
            source_columns, target_columns = _tap_slices(b - crop_w, stride_w, width, out_w)
            output[images, target_rows, target_columns] += columns[:, source_rows, source_columns, a, b]
    _epilogue(bias, activation, workspace).finish_in_place(output)
    return _activated(output, activation)


def _tap_slices(shift: int, stride: int, count: int, size: int) -> tuple[slice, slice]:
    """Inputs i < count land at shift + i*stride: the slices of inputs and of outputs inside [0, size)."""
    first = max(0, -(shift // stride))
    end = max(min(count, (size - 1 - shift) // stride + 1), first)
    start = shift + first * stride
    return slice(first, end), slice(start, start + (end - first) * stride, stride)


FUSED_ACTIVATIONS: dict[str, Write | None] = {
    "linear": None,
    "relu": lambda target, source: np.clip(source, np.float32(0), np.float32(np.inf), out=target),  # clip: faster than maximum
    "relu6": lambda target, source: np.clip(source, np.float32(0), np.float32(6), out=target),
}
"""Activations a convolution writes while it stores each block (the others run on the finished output)."""


def _epilogue(bias: np.ndarray | None, activation: str | None, workspace: Workspace) -> Epilogue:
    """The bias's runs are kept in the workspace: tiling them was most of a small layer's epilogue."""
    runs = None if bias is None or not bias.size else workspace.derived(bias, "bias_run", partial(tiled_bias, bias))
    return Epilogue(bias, FUSED_ACTIVATIONS.get(activation or "linear"), runs)


def _activated(output: np.ndarray, activation: str | None) -> np.ndarray:
    """`activation` on a finished output, unless the epilogue already applied it."""
    return output if (activation or "linear") in FUSED_ACTIVATIONS else ACTIVATIONS[activation](output)


# ---------------------------------------------------------------- pooling and per-pixel layers


def max_pool2d(x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads = NO_PADS, *, workspace: Workspace | None = None) -> np.ndarray:
    """Keras MaxPooling2D; padding is -inf, so it never wins."""
    workspace = workspace or Workspace()
    return _pool(padded(x, pads, -np.inf, workspace.scratch), pool_size, strides, np.maximum, workspace)


def average_pool2d(
    x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads = NO_PADS, *, workspace: Workspace | None = None
) -> np.ndarray:
    """Keras AveragePooling2D: each window's sum over the real pixels it covers, divided by their count."""
    workspace = workspace or Workspace()
    sums = _pool(padded(x, pads, 0.0, workspace.scratch), pool_size, strides, np.add, workspace)
    counts = np.multiply.outer(
        _real_pixels(x.shape[1], pool_size[0], strides[0], pads[0][0], sums.shape[1]),
        _real_pixels(x.shape[2], pool_size[1], strides[1], pads[1][0], sums.shape[2]),
    )
    sums /= counts[:, :, None].astype(np.float32)
    return sums


POOL_MIN_VALUES_PER_TASK = 2**16
"""A pooling's output is split across threads in bands of output rows of at least this many values."""


def _pool(image: np.ndarray, pool_size: Pair, strides: Pair, combine: np.ufunc, workspace: Workspace) -> np.ndarray:
    """Max and sum are separable: reduce each window's rows, then its columns (kh + kw passes, not kh * kw).

    A large map is cut into bands of output rows, one per thread (each with its own row buffer).
    """
    batch, height, width, channels = image.shape
    out_h, out_w = (height - pool_size[0]) // strides[0] + 1, (width - pool_size[1]) // strides[1] + 1
    output = np.empty((batch, out_h, out_w, channels), np.float32)
    workers = workspace.worker_scratches(thread_count())
    tasks = min(len(workers), output.size // POOL_MIN_VALUES_PER_TASK, batch * out_h)
    if tasks > 1:
        parts = split_evenly(batch * out_h, tasks)
        run_parallel(
            [partial(_pool_band, image, output, pool_size, strides, combine, part, worker) for part, worker in zip(parts, workers)]
        )
        return output
    rows = _reduce_taps(image, 1, pool_size[0], strides[0], combine, workspace.scratch("pool_rows", (batch, out_h, width, channels)))
    return _reduce_taps(rows, 2, pool_size[1], strides[1], combine, output)


def _pool_band(
    image: np.ndarray, output: np.ndarray, pool_size: Pair, strides: Pair, combine: np.ufunc, part: range, scratch: Scratch
) -> None:
    """Output rows `part` (image * out_h + row) of a pooling, both reductions."""
    width, channels = image.shape[2], image.shape[3]
    for images, rows in image_segments(part, output.shape[1]):
        source = image[images, rows.start * strides[0] : (rows.stop - 1) * strides[0] + pool_size[0]]
        buffer = scratch("pool_rows", (images.stop - images.start, len(rows), width, channels))
        _reduce_taps(source, 1, pool_size[0], strides[0], combine, buffer)
        _reduce_taps(buffer, 2, pool_size[1], strides[1], combine, output[images, rows.start : rows.stop])


def _reduce_taps(x: np.ndarray, axis: int, size: int, stride: int, combine: np.ufunc, output: np.ndarray) -> np.ndarray:
    """output[..., i, ...] = combine over a < size of x[..., i*stride + a, ...] along `axis`."""
    count = output.shape[axis]

    def tap(offset: int) -> np.ndarray:
        index = [slice(None)] * x.ndim
        index[axis] = slice(offset, offset + stride * (count - 1) + 1, stride)
        return x[tuple(index)]

    if size == 1:
        np.copyto(output, tap(0))
    else:
        combine(tap(0), tap(1), out=output)
    for offset in range(2, size):
        combine(output, tap(offset), out=output)
    return output


def _real_pixels(size: int, pool: int, stride: int, pad_before: int, count: int) -> np.ndarray:
    """Per output position along one axis, how many of its window's pixels are inside the image."""
    starts = np.arange(count) * stride - pad_before
    return np.minimum(starts + pool, size) - np.maximum(starts, 0)


def global_average_pool2d(x: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """Keras GlobalAveragePooling2D, summed in float64 so large maps lose no precision."""
    return x.mean(axis=(1, 2), keepdims=keepdims, dtype=np.float64).astype(np.float32)


def global_max_pool2d(x: np.ndarray, keepdims: bool = False) -> np.ndarray:
    return x.max(axis=(1, 2), keepdims=keepdims)


def batch_normalization(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, moving_mean: np.ndarray, moving_variance: np.ndarray, epsilon: float
) -> np.ndarray:
    """Inference BatchNormalization on the last axis, folded as Keras's NumPy backend does: x*scale + shift."""
    scale = (1.0 / np.sqrt(moving_variance + np.float32(epsilon)) * gamma).astype(np.float32)
    shift = (beta - moving_mean * scale).astype(np.float32)
    output = x * scale  # then the shift in place: one array allocated, not two
    output += shift
    return output


KERAS_EPSILON = 1e-7
"""keras.backend.epsilon(): the floor of Normalization's standard deviation."""


def layer_normalization(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, axes: tuple[int, ...], epsilon: float, rms_scaling: bool = False
) -> np.ndarray:
    """Keras LayerNormalization over `axes` of x (batch axis 0): (x - mean) / sqrt(variance + epsilon) * gamma + beta.

    gamma and beta come shaped as `axes` (sorted) and are laid along them. The moments are taken
    in float64, so wide maps lose nothing. rms_scaling is Keras's deprecated form: x / sqrt(variance
    + epsilon) * gamma, the mean not subtracted.
    """
    mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
    variance = np.square(x - mean).mean(axis=axes, keepdims=True)
    inverse = 1.0 / np.sqrt(variance + epsilon)
    laid_out = [x.shape[axis] if axis in axes else 1 for axis in range(x.ndim)]
    if gamma is not None:
        inverse = inverse * gamma.reshape(laid_out)
    if rms_scaling:
        return (x * inverse).astype(np.float32)
    shift = -mean * inverse if beta is None else beta.reshape(laid_out) - mean * inverse
    return (x * inverse + shift).astype(np.float32)


def normalization(x: np.ndarray, mean: np.ndarray, variance: np.ndarray, invert: bool = False) -> np.ndarray:
    """Keras Normalization: (x - mean) / max(sqrt(variance), 1e-7), or its inverse, in float32 as Keras computes it."""
    deviation = np.maximum(np.sqrt(variance.astype(np.float32)), np.float32(KERAS_EPSILON))
    if invert:
        return mean + x * deviation
    return (x - mean) / deviation


def rescaling(x: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Keras Rescaling: x * scale + offset, each a number or one per channel, in float32."""
    return x * scale.astype(np.float32) + offset.astype(np.float32)


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """Keras Dense on the last axis of any rank: x @ kernel + bias."""
    output = x @ kernel
    if bias is not None:
        output += bias
    return output


def zero_padding2d(x: np.ndarray, pads: Pads) -> np.ndarray:
    return np.pad(x, ((0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)))


def cropping2d(x: np.ndarray, cropping: Pads) -> np.ndarray:
    """Keras Cropping2D: drops ((top, bottom), (left, right)) rows and columns (a view, no copy)."""
    (top, bottom), (left, right) = cropping
    return x[:, top : x.shape[1] - bottom, left : x.shape[2] - right]


def upsampling2d(x: np.ndarray, size: Pair, interpolation: Literal["nearest", "bilinear"] = "nearest") -> np.ndarray:
    """Keras UpSampling2D: "nearest" repeats pixels; "bilinear" is ops.image.resize (half-pixel centres, no antialias)."""
    if interpolation == "nearest":
        return np.repeat(np.repeat(x, size[0], axis=1), size[1], axis=2)
    if interpolation == "bilinear":
        return _linear_resize_axis(_linear_resize_axis(x, 2, size[1]), 1, size[0])
    raise ValueError(f"unsupported interpolation {interpolation!r}: expected 'nearest' or 'bilinear'")


def _linear_resize_axis(x: np.ndarray, axis: int, factor: int) -> np.ndarray:
    """Linear interpolation along one axis at half-pixel centres; samples outside clamp to the edge pixel."""
    size = x.shape[axis]
    centres = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
    below = np.floor(centres).astype(np.intp)
    above = np.minimum(below + 1, size - 1)
    shape = [1] * x.ndim
    shape[axis] = -1
    weight = (centres - below).astype(np.float32).reshape(shape)
    low = np.take(x, below, axis=axis)
    return low + (np.take(x, above, axis=axis) - low) * weight
