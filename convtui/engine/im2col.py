"""Convolution as one matrix product: every window's pixels in a row (im2col), then one BLAS call.

The windows are a strided view of the padded input (no copy); copying that view into a scratch
buffer gives the (output pixels, kh*kw*C) patch matrix, and one `np.matmul` computes every output
of the layer. Grouped convolutions are one batched matmul over the groups. A layer whose patch
matrix would pass `MAX_SCRATCH_BYTES` is done in blocks of output rows; only then, since blocks
measured slower when the whole matrix fits. With several threads (threads.py) a large layer is cut
into bands of output rows, each copying its own patches and multiplying on one core, or, when a
band would have too few rows for its kernel, into chunks of filters over one patch matrix.

The helpers here (scratch protocol, epilogue, shifted copy, window view, row blocks) serve the
other algorithms too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convtui.engine import threads
from convtui.engine.threads import run_parallel, run_shared, split_evenly

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]
Scratch = Callable[[str, tuple[int, ...]], np.ndarray]
"""`scratch(role, shape)`: a float32 buffer of that shape, reused for the same role (see ops.Workspace)."""
Write = Callable[[np.ndarray, np.ndarray], object]
"""`write(target, source)`: target = activation(source), like np.copyto; target may be source."""

MAX_SCRATCH_BYTES = 256 * 2**20
"""No single temporary of a convolution exceeds this, whatever the layer."""

FLOAT_BYTES = 4


BIAS_RUN_VALUES = 2048
"""The bias is added along runs of at least this many values (the bias repeated): NumPy's inner loop
then spans the run, not one pixel's filters; 1.4-1.9x faster on 96-960 filters."""


@dataclass(frozen=True, slots=True)
class Epilogue:
    """What follows a convolution's products, fused into its last passes over the output.

    The bias, then an activation that writes while it copies (`write`; None is a plain copy).
    """

    bias: np.ndarray | None = None
    write: Write | None = None
    bias_run: np.ndarray | None = field(default=None, repr=False, compare=False)
    """`tiled_bias(bias)`, computed here unless given (a caller may keep it between runs)."""

    def __post_init__(self) -> None:
        if self.bias_run is None and self.bias is not None and self.bias.size:
            object.__setattr__(self, "bias_run", tiled_bias(self.bias))

    def finish_in_place(self, block: np.ndarray) -> None:
        """Bias and activation, in place, on a finished block of output (filters on the last axis)."""
        if self.bias is not None:
            add_bias(block, self.bias, self.bias_run)
        if self.write is not None:
            self.write(block, block)


def tiled_bias(bias: np.ndarray) -> np.ndarray:
    """The bias repeated into a run of at least BIAS_RUN_VALUES values."""
    return np.tile(bias, -(-BIAS_RUN_VALUES // bias.size))


def add_bias(block: np.ndarray, bias: np.ndarray, bias_run: np.ndarray | None) -> None:
    """block += bias (filters on the last axis), along runs of `bias_run` (the bias repeated) where the block is contiguous."""
    if bias_run is None or not block.flags.c_contiguous:
        np.add(block, bias, out=block)
        return
    pixels = block.reshape(-1, bias.size)
    per_run = bias_run.size // bias.size
    whole = pixels.shape[0] // per_run * per_run
    runs = pixels[:whole].reshape(-1, bias_run.size)
    np.add(runs, bias_run, out=runs)
    np.add(pixels[whole:], bias, out=pixels[whole:])


def copy_shifted(destination: np.ndarray, source: np.ndarray, top: int, left: int, fill: float) -> None:
    """destination[:, i, j] = source[:, top + i, left + j] where that pixel exists, else `fill`.

    One helper for padding (negative offsets) and for cutting a band out of an image.
    """
    rows, columns = destination.shape[1:3]
    row_start, row_count = _overlap(top, rows, source.shape[1])
    column_start, column_count = _overlap(left, columns, source.shape[2])
    first_row, first_column = row_start - top, column_start - left
    destination[:, :first_row] = fill
    destination[:, first_row + row_count :] = fill
    band = destination[:, first_row : first_row + row_count]
    band[:, :, :first_column] = fill
    band[:, :, first_column + column_count :] = fill
    band[:, :, first_column : first_column + column_count] = source[
        :, row_start : row_start + row_count, column_start : column_start + column_count
    ]


def _overlap(offset: int, length: int, size: int) -> Pair:
    """(first source index, count) of the source range [offset, offset + length) inside [0, size)."""
    start = max(offset, 0)
    return start, max(min(offset + length, size) - start, 0)


def padded(x: np.ndarray, pads: Pads, fill: float, scratch: Scratch) -> np.ndarray:
    """x with `fill` borders in a scratch buffer; x itself when there is no padding."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    batch, height, width, channels = x.shape
    destination = scratch("padded", (batch, top + height + bottom, left + width + right, channels))
    copy_shifted(destination, x, -top, -left, fill)
    return destination


def windows(image: np.ndarray, kernel_size: Pair, strides: Pair, dilation: Pair) -> np.ndarray:
    """Every kernel window of an NHWC batch as a read-only (N, out_h, out_w, kh, kw, C) view."""
    batch, height, width, channels = image.shape
    (kernel_h, kernel_w), (stride_h, stride_w), (dilation_h, dilation_w) = kernel_size, strides, dilation
    out_h = (height - dilation_h * (kernel_h - 1) - 1) // stride_h + 1
    out_w = (width - dilation_w * (kernel_w - 1) - 1) // stride_w + 1
    if (kernel_h, kernel_w) == (1, 1):  # a plain view: as_strided costs ~5 us a call, most of a small 1x1 layer's overhead
        view = image[:, ::stride_h, ::stride_w, None, None, :]
        view.flags.writeable = False
        return view
    step_n, step_h, step_w, step_c = image.strides
    return as_strided(
        image,
        (batch, out_h, out_w, kernel_h, kernel_w, channels),
        (step_n, step_h * stride_h, step_w * stride_w, step_h * dilation_h, step_w * dilation_w, step_c),
        writeable=False,
    )


def row_blocks(batch: int, rows: int, row_bytes: int, byte_limit: int) -> list[tuple[slice, slice]]:
    """(images, rows) blocks whose temporaries stay under `byte_limit`; one block when all fits.

    Whole images are grouped while one image fits; otherwise each image is cut into bands of rows
    (at least one row per block, the floor of any blocking).
    """
    if batch * rows * row_bytes <= byte_limit:
        return [(slice(0, batch), slice(0, rows))]
    images = byte_limit // (rows * row_bytes)
    if images >= 1:
        return [(slice(first, first + images), slice(0, rows)) for first in range(0, batch, images)]
    band = max(byte_limit // row_bytes, 1)
    return [(slice(image, image + 1), slice(first, first + band)) for image in range(batch) for first in range(0, rows, band)]


def image_segments(part: range, rows: int) -> list[tuple[slice, range]]:
    """A range of a batch's rows counted across images (image * rows + row) as (images, rows) blocks:
    runs of whole images together, a partial image at either end on its own."""
    segments = []
    position = part.start
    while position < part.stop:
        image, row = divmod(position, rows)
        whole = (part.stop - position) // rows if row == 0 else 0
        if whole:
            segments.append((slice(image, image + whole), range(rows)))
            position += whole * rows
        else:
            end = min(part.stop - image * rows, rows)
            segments.append((slice(image, image + 1), range(row, end)))
            position = image * rows + end
    return segments


def grouped_kernel(kernel: np.ndarray, groups: int) -> np.ndarray:
    """Keras (kh, kw, C/groups, F) as (groups, kh*kw*C/groups, F/groups) for a batched matmul."""
    kernel_h, kernel_w, group_channels, filters = kernel.shape
    per_group = kernel.reshape(kernel_h, kernel_w, group_channels, groups, filters // groups)
    return per_group.transpose(3, 0, 1, 2, 4).reshape(groups, kernel_h * kernel_w * group_channels, filters // groups)


def im2col_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    strides: Pair,
    pads: Pads,
    dilation: Pair,
    groups: int,
    epilogue: Epilogue,
    scratch: Scratch,
    byte_limit: int = MAX_SCRATCH_BYTES,
    *,
    workers: Sequence[Scratch] = (),
) -> np.ndarray:
    """Any Conv2D (strides, dilation, groups, pads) as patches @ kernel, blocked only past `byte_limit`.

    `workers` (one scratch per thread, see threads.py): a layer with enough work is split across
    them, bands of output rows or chunks of filters (`_parallel_plan`); none or one, one pass.
    """
    kernel_h, kernel_w, group_channels, filters = kernel.shape
    source = windows(padded(x, pads, 0.0, scratch), (kernel_h, kernel_w), strides, dilation)
    batch, out_h, out_w = source.shape[:3]
    # Group axis first: (groups, N, out_h, out_w, kh, kw, C/groups); a view, no copy yet.
    by_group = source.reshape(*source.shape[:5], groups, group_channels).transpose(5, 0, 1, 2, 3, 4, 6)
    weights = grouped_kernel(kernel, groups)
    output = np.empty((batch, out_h, out_w, filters), np.float32)
    row_bytes = out_w * kernel_h * kernel_w * group_channels * groups * FLOAT_BYTES
    # A 1x1 kernel gathers nothing: the layer is one product, which BLAS's own threads split better
    # than bands with single-threaded BLAS (ResNet50 on 2 cores: 112 ms banded, 83 ms whole).
    splittable = len(workers) if kernel_h * kernel_w > 1 else 0
    mode, tasks = _parallel_plan(batch * out_h * out_w, kernel.nbytes, filters, groups, splittable)
    workers = workers[:tasks]
    if mode == "rows":
        enough = MIN_PIXELS_PER_TASK_SMALL_KERNEL if kernel.nbytes <= SMALL_KERNEL_BYTES else MIN_PIXELS_PER_TASK
        bands = min(tasks * threads.BANDS_PER_THREAD, batch * out_h, batch * out_h * out_w // enough)
        parts = split_evenly(batch * out_h, max(bands, tasks))
        limit = byte_limit // tasks
        run_shared(
            lambda index, worker: _row_task(by_group, weights, output, epilogue, parts[index], row_bytes, limit, worker), len(parts), workers
        )
        return output
    for images, rows in row_blocks(batch, out_h, row_bytes, byte_limit):
        block = output[images, rows]
        if mode == "filters":
            patches = _patch_matrix(by_group[:, images, rows], scratch)
            chunks = split_evenly(filters, tasks)
            run_parallel([partial(_filter_task, patches, weights, block, epilogue, chunk) for chunk in chunks])
        else:
            _multiply_block(by_group[:, images, rows], weights, block, scratch)
            epilogue.finish_in_place(block)
    return output


MIN_PIXELS_PER_TASK = 256
"""A band of fewer output pixels makes its product memory-bound when the kernel is large (each band
reads all of it for that few rows of patches): split the filters instead."""
MIN_PIXELS_PER_TASK_SMALL_KERNEL = 32
"""The same floor when the kernel fits in a core's caches (`SMALL_KERNEL_BYTES`)."""
SMALL_KERNEL_BYTES = 4 * 2**20
MIN_FILTERS_PER_TASK = 16
"""Split by filters, fewer per task make the products' rows too short."""


def _parallel_plan(pixels: int, kernel_bytes: int, filters: int, groups: int, workers: int) -> tuple[str, int]:
    """("rows" | "filters" | "whole", task count) for `workers` threads; "whole" is the single-threaded pass."""
    workers = min(workers, pixels * (kernel_bytes // FLOAT_BYTES) // groups // threads.MIN_MACS_PER_TASK)
    if workers <= 1:
        return "whole", 1
    enough = MIN_PIXELS_PER_TASK_SMALL_KERNEL if kernel_bytes <= SMALL_KERNEL_BYTES else MIN_PIXELS_PER_TASK
    if pixels // workers >= enough:
        return "rows", workers
    tasks = min(workers, filters // MIN_FILTERS_PER_TASK) if groups == 1 else 1
    return ("filters", tasks) if tasks > 1 else ("whole", 1)


def _row_task(
    by_group: np.ndarray,
    weights: np.ndarray,
    output: np.ndarray,
    epilogue: Epilogue,
    part: range,
    row_bytes: int,
    byte_limit: int,
    scratch: Scratch,
) -> None:
    """Global output rows `part` (image * out_h + row): patches, product and epilogue, in blocks under `byte_limit`."""
    for images, rows in image_segments(part, output.shape[1]):
        for block_images, block_rows in row_blocks(images.stop - images.start, len(rows), row_bytes, byte_limit):
            chosen = slice(images.start + block_images.start, images.start + block_images.stop)
            chosen_rows = slice(rows.start + block_rows.start, rows.start + min(block_rows.stop, len(rows)))
            block = output[chosen, chosen_rows]
            _multiply_block(by_group[:, chosen, chosen_rows], weights, block, scratch)
            epilogue.finish_in_place(block)


def _filter_task(patches: np.ndarray, weights: np.ndarray, block: np.ndarray, epilogue: Epilogue, chunk: range) -> None:
    """Filters `chunk` of one block (one group): its product and epilogue, written into the block's columns."""
    chosen = slice(chunk.start, chunk.stop)
    count, patch_size = block.shape[0] * block.shape[1] * block.shape[2], weights.shape[1]
    target = block.reshape(count, block.shape[3])[:, chosen]
    np.matmul(patches.reshape(count, patch_size), weights[0, :, chosen], out=target)
    Epilogue(None if epilogue.bias is None else epilogue.bias[chosen], epilogue.write).finish_in_place(target)


def _patch_matrix(patch_view: np.ndarray, scratch: Scratch) -> np.ndarray:
    """The patches as a contiguous matrix: the view itself for a 1x1 stride-1 unpadded convolution, else a copy."""
    if patch_view.flags.c_contiguous:
        return patch_view
    patches = scratch("patches", patch_view.shape)
    np.copyto(patches, patch_view)
    return patches


def _multiply_block(patch_view: np.ndarray, weights: np.ndarray, target: np.ndarray, scratch: Scratch) -> None:
    """One block: copy the patches (unless the view already is the matrix), one (batched) matmul into target."""
    groups, patch_size, group_filters = weights.shape
    patches = _patch_matrix(patch_view, scratch)
    count = target.shape[0] * target.shape[1] * target.shape[2]
    if groups == 1:
        np.matmul(patches.reshape(1, count, patch_size), weights, out=target.reshape(1, count, group_filters))
        return
    products = scratch("group_products", (groups, count, group_filters))
    np.matmul(patches.reshape(groups, count, patch_size), weights, out=products)
    np.copyto(target.reshape(count, groups, group_filters), products.transpose(1, 0, 2))
