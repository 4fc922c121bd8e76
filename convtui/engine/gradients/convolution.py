"""The convolutions' training forward and backward: Conv2D, DepthwiseConv2D, SeparableConv2D and
Conv2DTranspose.

A convolution is linear in its input and in its kernel, so both gradients are products again:
the kernel's is patches^T @ d_output (the im2col matrix, rebuilt from the kept input in row
blocks), the input's is d_output @ kernel^T added back where each tap read (col2im: one strided
add per tap, never a loop over pixels). Conv2DTranspose is the adjoint of a Conv2D, so its
backward is that Conv2D's forward (for the input) and kernel gradient with input and output
swapped. Depthwise taps have no channel sum to batch into BLAS: one product per tap instead.

The training forward keeps the layer's input (never modified in place by the layers after it)
and the pre-activation; nothing it keeps lives in the workspace's scratch, which the next layer
overwrites. It never uses the workspace's Winograd filters either: they are cached by kernel
identity, stale once an optimiser updates a kernel in place.

With several engine threads a Conv2D's training forward and its whole backward run per range of
images, one range per core (base.batch_parts), each with BLAS on one thread and its own scratch;
outputs and input gradients come from the step's arena (base.StepArena), reused step after step.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np

from convtui.engine import ops, threads
from convtui.engine.gradients.activations import activation_backward
from convtui.engine.gradients.base import Forwarded, LayerGradient, StepArena, TrainContext, Weights, batch_parts, run_parts
from convtui.engine.im2col import (
    FLOAT_BYTES,
    Epilogue,
    Pads,
    Pair,
    Scratch,
    Write,
    im2col_conv2d,
    padded,
    row_blocks,
    windows,
)
from convtui.engine.runners import activate, image_pads
from convtui.engine.winograd import transform_filters, winograd_conv3x3, winograd_kernel_gradient
from convtui.model import layers as catalogue
from convtui.model.geometry import transpose_crop, transpose_output_side
from convtui.model.layers import Layer


BLOCK_BYTES = 4 * 2**20 * len(os.sched_getaffinity(0))
"""Patches (or column gradients) per block of the backward's products, 4 MiB per core (OpenBLAS
uses every core). One thread ran 2 MiB blocks 15-20% faster than whole-layer ones (MNIST-like
3x3 layers, batch 32 and 128), but every product is a barrier for OpenBLAS's threads: on two
cores 2 MiB blocks measured up to 1.9x slower than 8 MiB ones, far worse when the cores are shared."""


PART_BLOCK_BYTES = 2 * 2**20
"""The same blocks where BLAS runs on one thread (each core its part of the batch, or one thread in all): no barrier
between BLAS's threads to spread, and 2 MiB (about a core's L2 here) keep a block's patches or column gradients in
cache from its product to its copies and adds. The seed net's training step took 5-6% less than with BLOCK_BYTES at
batch 32 (4-5% at 128) on two cores; mnist-convnet's was unchanged."""

THIN_CHANNELS = 4
"""Up to this many input channels (grayscale, RGB) the kernel's gradient builds its patches transposed."""


@dataclass(frozen=True)
class Geometry:
    """Where a convolution's windows lie on its (unpadded) input."""

    kernel_size: Pair
    strides: Pair
    pads: Pads
    dilation: Pair = (1, 1)
    groups: int = 1

    def tap(self, image: np.ndarray, first_row: int, out_size: tuple[int, int], a: int, b: int) -> np.ndarray:
        """The view of the padded `image` that tap (a, b) reads for `out_size` output rows and columns from `first_row`."""
        (stride_h, stride_w), (dilation_h, dilation_w) = self.strides, self.dilation
        top, left = first_row * stride_h + a * dilation_h, b * dilation_w
        rows, columns = out_size
        return image[:, top : top + stride_h * (rows - 1) + 1 : stride_h, left : left + stride_w * (columns - 1) + 1 : stride_w]

    def taps(self) -> itertools.product:
        return itertools.product(range(self.kernel_size[0]), range(self.kernel_size[1]))

    def padded_zeros(self, input_shape: tuple[int, ...], scratch: Scratch, out: np.ndarray | None = None) -> np.ndarray:
        """A zeroed scratch buffer the shape of the padded input, for gradients to be added into; `out` itself
        when it is contiguous and there are no pads (nothing to crop: `cropped` then copies nothing, a pass over the input's size saved)."""
        if out is not None and out.flags.c_contiguous and not any(self.pads[0] + self.pads[1]):
            out.fill(0.0)
            return out
        batch, height, width, channels = input_shape
        (top, bottom), (left, right) = self.pads
        buffer = scratch("padded_gradient", (batch, top + height + bottom, left + width + right, channels))
        buffer.fill(0.0)
        return buffer

    def cropped(self, padded_gradient: np.ndarray, input_shape: tuple[int, ...], out: np.ndarray | None = None) -> np.ndarray:
        """The input's own pixels of a padded gradient, as a fresh array (the buffer is scratch) or into `out` (already there when it is `out`)."""
        if padded_gradient is out:
            return out
        top, left = self.pads[0][0], self.pads[1][0]
        own = padded_gradient[:, top : top + input_shape[1], left : left + input_shape[2]]
        if out is None:
            return own.copy()
        np.copyto(out, own)
        return out


@dataclass(frozen=True)
class Saved:
    """A convolution's cache: its input, geometry, pre-activation and output (the same array when linear or OUTPUT_DERIVED)."""

    x: np.ndarray
    geometry: Geometry
    pre_activation: np.ndarray
    output: np.ndarray
    workspace: ops.Workspace
    arena: StepArena | None = None
    """Where the backward takes the input's gradient from (None: a fresh array)."""


@dataclass(frozen=True)
class SavedSeparable:
    """SeparableConv2D's cache: the depthwise half's input and geometry, and the pointwise half's cache."""

    x: np.ndarray
    depthwise: Geometry
    pointwise: Saved


# ---------------------------------------------------------------- array-level forward and gradients


def conv_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    geometry: Geometry,
    scratch: Scratch,
    write: Write | None = None,
    parts: list[tuple[range, Scratch]] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Conv2D by the inference engine's algorithm, Winograd's filters transformed afresh; `write` applies an activation while storing.

    The same algorithm as inference gives the same output; transforming on every call (cheap next
    to the products) is what keeps an in-place optimiser update from being missed. Few input
    channels take the transposed patches of `thin_patches` instead of im2col's rows, split over
    `parts` (ranges of images, each with its own scratch) when given; the other algorithms thread themselves.
    `out` (the output's shape, float32) is where the thin and split paths write; the others return their own array.
    """
    g = geometry
    algorithm = ops.choose_conv_algorithm(x.shape, kernel.shape, g.strides, g.dilation, g.groups)
    if algorithm == "im2col" and g.groups == 1 and kernel.shape[2] <= THIN_CHANNELS:
        return thin_conv2d(x, kernel, g, Epilogue(bias, write), scratch, parts, out)
    if parts is not None and len(parts) > 1:
        return split_conv_forward(x, kernel, bias, g, write, parts, out)
    if algorithm == "im2col":
        return im2col_conv2d(x, kernel, g.strides, g.pads, g.dilation, g.groups, Epilogue(bias, write), scratch)
    tile = ops.WINOGRAD_OUTPUT_TILES[algorithm]
    return winograd_conv3x3(x, transform_filters(kernel, tile), g.pads, tile, Epilogue(bias, write), scratch)


def split_conv_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    geometry: Geometry,
    write: Write | None,
    parts: list[tuple[range, Scratch]],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """conv_forward on each range of images on its own core, each with its own scratch, into one output.

    Whole convolutions side by side share no barrier: the layer's own band threading (products,
    then transforms, each a join of both cores) measured 1.5-7x slower at training batch sizes
    on two shared cores. Inside a part the engine's splitting runs on that part's core alone.
    """
    output = np.empty(output_shape(x.shape, kernel.shape, geometry), np.float32) if out is None else out

    def part_forward(number: int, images: range) -> None:
        piece = slice(images.start, images.stop)
        output[piece] = conv_forward(x[piece], kernel, bias, geometry, parts[number][1], write)

    run_parts([images for images, _ in parts], part_forward)
    return output


def thin_patches(source: np.ndarray, geometry: Geometry, images: slice, rows: slice, size: tuple[int, int, int], channels: int, scratch: Scratch) -> np.ndarray:
    """The (kh*kw*C, pixels) transposed patch matrix of a block of output pixels (`size`: images, rows, columns) of the padded
    `source`, one strided copy per tap: for few channels, im2col's rows of kh*kw*C values copy 3-4x slower."""
    kernel_h, kernel_w = geometry.kernel_size
    columns = scratch("patches", (kernel_h, kernel_w, channels, *size))
    for a, b in geometry.taps():
        np.copyto(columns[a, b], np.moveaxis(geometry.tap(source[images], rows.start, size[1:], a, b), -1, 0))
    return columns.reshape(kernel_h * kernel_w * channels, -1)


def output_shape(input_shape: tuple[int, ...], kernel_shape: tuple[int, ...], geometry: Geometry) -> tuple[int, int, int, int]:
    """A convolution's output shape: Keras's valid-size rule on the padded input."""
    (kernel_h, kernel_w), (stride_h, stride_w), (dilation_h, dilation_w) = geometry.kernel_size, geometry.strides, geometry.dilation
    (top, bottom), (left, right) = geometry.pads
    out_h = (input_shape[1] + top + bottom - dilation_h * (kernel_h - 1) - 1) // stride_h + 1
    out_w = (input_shape[2] + left + right - dilation_w * (kernel_w - 1) - 1) // stride_w + 1
    return (input_shape[0], out_h, out_w, kernel_shape[-1])


def thin_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    geometry: Geometry,
    epilogue: Epilogue,
    scratch: Scratch,
    parts: list[tuple[range, Scratch]] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """An ungrouped Conv2D on few channels: one product per block with the transposed patches (BLAS reads them transposed as they lie)."""
    output = np.empty(output_shape(x.shape, kernel.shape, geometry), np.float32) if out is None else out
    if parts is not None and len(parts) > 1:
        run_parts(
            [images for images, _ in parts],
            lambda number, images: thin_conv2d_into(x[images.start : images.stop], kernel, geometry, epilogue, parts[number][1], output[images.start : images.stop]),
        )  # fmt: skip
        return output
    return thin_conv2d_into(x, kernel, geometry, epilogue, scratch, output)


def thin_conv2d_into(x: np.ndarray, kernel: np.ndarray, geometry: Geometry, epilogue: Epilogue, scratch: Scratch, output: np.ndarray) -> np.ndarray:
    """thin_conv2d's work on one range of images, into `output` (their rows of the layer's output)."""
    kernel_h, kernel_w, channels, filters = kernel.shape
    source = padded(x, geometry.pads, 0.0, scratch)
    out_h, out_w = output.shape[1:3]
    matrix = kernel.reshape(-1, filters)
    for images, rows in row_blocks(x.shape[0], out_h, out_w * kernel_h * kernel_w * channels * FLOAT_BYTES, BLOCK_BYTES):
        block = output[images, rows]
        columns = thin_patches(source, geometry, images, rows, block.shape[:3], channels, scratch)
        np.matmul(columns.T, matrix, out=block.reshape(-1, filters))
        epilogue.finish_in_place(block)
    return output


def kernel_gradient(
    x: np.ndarray,
    d_output: np.ndarray,
    kernel_shape: tuple[int, ...],
    geometry: Geometry,
    scratch: Scratch,
    byte_limit: int = BLOCK_BYTES,
) -> np.ndarray:
    """The kernel's gradient: by Winograd (`winograd_kernel_gradient`) where the forward runs it on
    WINOGRAD_GRADIENT_MIN_CHANNELS or more float32 channels, else patches^T @ d_output (transposed
    patches for few channels)."""
    groups, group_channels = geometry.groups, kernel_shape[2]
    if groups == 1 and group_channels <= THIN_CHANNELS:
        return thin_kernel_gradient(x, d_output, kernel_shape, geometry, scratch, byte_limit)
    algorithm = ops.choose_conv_algorithm(x.shape, kernel_shape, geometry.strides, geometry.dilation, groups)
    if algorithm != "im2col" and x.shape[-1] >= WINOGRAD_GRADIENT_MIN_CHANNELS and x.dtype == d_output.dtype == np.float32:
        return winograd_kernel_gradient(x, d_output, geometry.pads, ops.WINOGRAD_OUTPUT_TILES[algorithm], scratch, byte_limit)
    return im2col_kernel_gradient(x, d_output, kernel_shape, geometry, scratch, byte_limit)


def im2col_kernel_gradient(
    x: np.ndarray, d_output: np.ndarray, kernel_shape: tuple[int, ...], geometry: Geometry, scratch: Scratch, byte_limit: int
) -> np.ndarray:
    """patches^T @ d_output per group, in row blocks of at most `byte_limit` of patches."""
    kernel_h, kernel_w, group_channels, filters = kernel_shape
    groups = geometry.groups
    source = windows(padded(x, geometry.pads, 0.0, scratch), (kernel_h, kernel_w), geometry.strides, geometry.dilation)
    batch, out_h, out_w = source.shape[:3]
    by_group = source.reshape(*source.shape[:5], groups, group_channels).transpose(5, 0, 1, 2, 3, 4, 6)
    patch_size = kernel_h * kernel_w * group_channels
    gradient = np.zeros((groups, patch_size, filters // groups), np.float32)
    for images, rows in row_blocks(batch, out_h, out_w * patch_size * groups * FLOAT_BYTES, byte_limit):
        patches = _patch_matrix(by_group[:, images, rows], scratch)
        count = patches.shape[1]
        d_block = d_output[images, rows].reshape(count, groups, filters // groups).transpose(1, 0, 2)
        gradient += patches.transpose(0, 2, 1) @ d_block
    return gradient.reshape(groups, kernel_h, kernel_w, group_channels, filters // groups).transpose(1, 2, 3, 0, 4).reshape(kernel_shape)


def thin_kernel_gradient(
    x: np.ndarray, d_output: np.ndarray, kernel_shape: tuple[int, ...], geometry: Geometry, scratch: Scratch, byte_limit: int
) -> np.ndarray:
    """The kernel's gradient for few input channels: transposed patches @ d_output, read row-major by BLAS."""
    kernel_h, kernel_w, channels, filters = kernel_shape
    source = padded(x, geometry.pads, 0.0, scratch)
    batch, out_h, out_w = d_output.shape[:3]
    gradient = np.zeros((kernel_h * kernel_w * channels, filters), np.float32)
    for images, rows in row_blocks(batch, out_h, out_w * kernel_h * kernel_w * channels * FLOAT_BYTES, byte_limit):
        d_block = d_output[images, rows]
        gradient += thin_patches(source, geometry, images, rows, d_block.shape[:3], channels, scratch) @ d_block.reshape(-1, filters)
    return gradient.reshape(kernel_shape)


def _patch_matrix(patch_view: np.ndarray, scratch: Scratch) -> np.ndarray:
    """(groups, pixels, kh*kw*C/groups) patches, copied to scratch unless the view already is that matrix (1x1)."""
    groups, patch_size = patch_view.shape[0], patch_view.shape[-1] * patch_view.shape[-2] * patch_view.shape[-3]
    if not patch_view.flags.c_contiguous:
        patches = scratch("patches", patch_view.shape)
        np.copyto(patches, patch_view)
        patch_view = patches
    return patch_view.reshape(groups, -1, patch_size)


def input_gradient(
    d_output: np.ndarray,
    kernel: np.ndarray,
    geometry: Geometry,
    input_shape: tuple[int, ...],
    scratch: Scratch,
    byte_limit: int = BLOCK_BYTES,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Each tap's d_output @ kernel[tap]^T (per group) added back where that tap read (col2im), pads cropped.

    With BLAS on one thread (a part of the batch on its own core, or one thread in all), one
    batched product gives each tap's columns contiguous, so that its add runs along whole rows:
    half the adds' time of columns side by side (seed net, 16 images). With BLAS threaded, one
    product per block (and group) gives every tap's columns side by side: a product per tap is a
    barrier per tap for OpenBLAS's threads, measured 3-10x slower on two shared cores.
    Blocks of output rows keep the column gradients under `byte_limit`.
    """
    kernel_h, kernel_w, group_channels, filters = kernel.shape
    groups, taps = geometry.groups, kernel_h * kernel_w
    group_filters = filters // groups
    by_tap = threads.blas_single_threaded()
    order = (0, 2, 3, 1) if by_tap else (2, 3, 0, 1)  # (taps, groups, gf, gc), or (groups, gf, taps, gc)
    tap_kernels = np.ascontiguousarray(kernel.reshape(taps, group_channels, groups, group_filters).transpose(order))
    gradient = geometry.padded_zeros(input_shape, scratch, out)
    by_group = gradient.reshape(*gradient.shape[:3], groups, group_channels)
    batch, out_h, out_w, _ = d_output.shape
    for images, rows in row_blocks(batch, out_h, out_w * taps * group_channels * groups * FLOAT_BYTES, byte_limit):
        d_block = d_output[images, rows]
        count = d_block.size // filters
        d_groups = d_block.reshape(count, groups, group_filters).transpose(1, 0, 2)
        if by_tap:
            columns = scratch("column_gradients", (taps, groups, count, group_channels))
            np.matmul(d_groups, tap_kernels, out=columns)
            per_tap = columns.reshape(taps, groups, *d_block.shape[:3], group_channels).transpose(0, 2, 3, 4, 1, 5)
        else:
            columns = scratch("column_gradients", (groups, count, taps * group_channels))
            np.matmul(d_groups, tap_kernels.reshape(groups, group_filters, -1), out=columns)
            per_tap = columns.reshape(groups, *d_block.shape[:3], taps, group_channels).transpose(4, 1, 2, 3, 0, 5)
        target = by_group[images]
        for tap, (a, b) in enumerate(geometry.taps()):
            geometry.tap(target, rows.start, d_block.shape[1:3], a, b)[...] += per_tap[tap]
    return geometry.cropped(gradient, input_shape, out)


def full_convolution_geometry(geometry: Geometry, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> Geometry | None:
    """The stride-1 convolution of d_output (padded by k - 1 - pad) with the flipped kernel that gives the input's gradient,
    or None where the layer's geometry has no such form (strides, dilation, groups, pads wider than the kernel)."""
    g = geometry
    if g.strides != (1, 1) or g.dilation != (1, 1) or g.groups != 1:
        return None
    (top, bottom), (left, right) = g.pads
    kernel_h, kernel_w = g.kernel_size
    pads = ((kernel_h - 1 - top, input_shape[1] + kernel_h - 1 - output_shape[1] - (kernel_h - 1 - top)),
            (kernel_w - 1 - left, input_shape[2] + kernel_w - 1 - output_shape[2] - (kernel_w - 1 - left)))  # fmt: skip
    if min(pads[0] + pads[1]) < 0:
        return None
    return Geometry(g.kernel_size, (1, 1), (pads[0], pads[1]))


WINOGRAD_GRADIENT_MIN_CHANNELS = 64
"""Input channels from which the gradients go through Winograd. The input's, measured on one core
against col2im: 1.5-1.9x faster with 64 or 128 channels (56x56, 28x28, 24x24 maps), but 0.8-1.05x
with 32 (the seed net's second layer, batch 16-128), where the transforms outweigh the products
they save. The kernel's, two parts of a batch on two cores against im2col: 0.63-0.79x the time with
64 or 128 channels (56x56, 28x28, 14x14 maps), 1.17x with 32 (the seed net's second layer)."""


def convolved_input_gradient(
    d_output: np.ndarray, kernel: np.ndarray, geometry: Geometry, input_shape: tuple[int, ...], scratch: Scratch
) -> np.ndarray | None:
    """The input's gradient as the forward's own (Winograd) convolution of d_output with the flipped, transposed kernel,
    where the forward would pick Winograd for it (stride 1, 3x3, enough channels) and the input has at least
    WINOGRAD_GRADIENT_MIN_CHANNELS channels; None elsewhere (`input_gradient` then).

    Winograd does about a quarter of im2col's multiplications and writes each input pixel once, where
    `input_gradient` adds every tap's columns back one strided pass at a time.
    """
    full = full_convolution_geometry(geometry, input_shape, d_output.shape)
    if full is None or d_output.dtype != np.float32 or input_shape[-1] < WINOGRAD_GRADIENT_MIN_CHANNELS:
        return None
    flipped_shape = (*kernel.shape[:2], kernel.shape[3], kernel.shape[2])
    if ops.choose_conv_algorithm(d_output.shape, flipped_shape, (1, 1), (1, 1), 1) == "im2col":
        return None
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    return conv_forward(d_output, flipped, None, full, scratch)


def depthwise_gradients(
    x: np.ndarray, d_output: np.ndarray, kernel: np.ndarray, geometry: Geometry, scratch: Scratch
) -> tuple[np.ndarray, np.ndarray]:
    """(d_input, d_kernel) of a depthwise convolution, tap by tap: channel c's m-th filter makes output c*M + m."""
    kernel_h, kernel_w, channels, multiplier = kernel.shape
    source = padded(x, geometry.pads, 0.0, scratch)
    batch, out_h, out_w, _ = d_output.shape
    d_taps = d_output.reshape(batch, out_h, out_w, channels, multiplier)
    d_kernel = np.empty_like(kernel)
    gradient = geometry.padded_zeros(x.shape, scratch)
    for a, b in geometry.taps():
        d_kernel[a, b] = np.einsum("nhwc,nhwcm->cm", geometry.tap(source, 0, (out_h, out_w), a, b), d_taps)
        geometry.tap(gradient, 0, (out_h, out_w), a, b)[...] += np.einsum("nhwcm,cm->nhwc", d_taps, kernel[a, b])
    return geometry.cropped(gradient, x.shape), d_kernel


# ---------------------------------------------------------------- layers


WindowLayer = catalogue.Conv2D | catalogue.DepthwiseConv2D | catalogue.SeparableConv2D


def window_geometry(layer: WindowLayer, x: np.ndarray, groups: int = 1) -> Geometry:
    """The layer's windows on x, its padding resolved by Keras's rule (runners.image_pads)."""
    pads = image_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate)
    return Geometry(tuple(layer.kernel_size), tuple(layer.strides), pads, tuple(layer.dilation_rate), groups)


def forwarded(layer: Layer, x: np.ndarray, geometry: Geometry, pre_activation: np.ndarray, context: TrainContext) -> Forwarded:
    """The layer's activation on its pre-activation, with everything its backward needs."""
    output = activate(pre_activation, layer.activation)
    return Forwarded(output, Saved(x, geometry, pre_activation, output, context.workspace))


def pre_activation_gradient(layer: Layer, cache: Saved, d_output: np.ndarray) -> np.ndarray:
    d_pre = activation_backward(layer.activation, cache.pre_activation, cache.output, d_output)
    return np.ascontiguousarray(d_pre, np.float32)


def with_bias(gradients: Weights, weights: Weights, d_pre: np.ndarray) -> Weights:
    """Adds the bias's gradient (d_pre summed over every pixel) when the layer has a bias.

    The sum is ones @ d_pre, one BLAS product: 5-10x faster than a float64 column sum, and BLAS's
    blocked float32 accumulation stays within the gradient tests' tolerance.
    """
    if "bias" in weights:
        rows = d_pre.reshape(-1, d_pre.shape[-1])
        gradients["bias"] = np.ones(len(rows), np.float32) @ rows
    return gradients


OUTPUT_DERIVED = frozenset({"relu", "relu6"})
"""Activations whose derivative reads the same from the output as from the pre-activation: the
convolution writes them while storing (as inference does) and keeps no separate pre-activation."""


def conv2d_forward(layer: catalogue.Conv2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    geometry = window_geometry(layer, x, layer.groups)
    kernel, bias, scratch = weights["kernel"], weights.get("bias"), context.workspace.scratch
    parts = worker_parts(context.workspace, len(x), x.size * kernel.shape[-1] // max(kernel.shape[2], 1))
    algorithm = ops.choose_conv_algorithm(x.shape, kernel.shape, geometry.strides, geometry.dilation, geometry.groups)
    writes_out = parts is not None or (algorithm == "im2col" and geometry.groups == 1 and kernel.shape[2] <= THIN_CHANNELS)
    out = context.arena.take(output_shape(x.shape, kernel.shape, geometry)) if writes_out and x.dtype == np.float32 else None
    if layer.activation in OUTPUT_DERIVED:
        output = conv_forward(x, kernel, bias, geometry, scratch, ops.FUSED_ACTIVATIONS[layer.activation], parts, out)
        return Forwarded(output, Saved(x, geometry, output, output, context.workspace, context.arena))
    pre_activation = conv_forward(x, kernel, bias, geometry, scratch, parts=parts, out=out)
    output = activate(pre_activation, layer.activation)
    return Forwarded(output, Saved(x, geometry, pre_activation, output, context.workspace, context.arena))


def worker_parts(workspace: ops.Workspace, batch: int, values: int) -> list[tuple[range, Scratch]] | None:
    """batch_parts with a worker scratch each, or None when the work stays on one thread."""
    parts = batch_parts(batch, values)
    return None if len(parts) == 1 else list(zip(parts, workspace.worker_scratches(len(parts))))


def conv2d_backward(layer: catalogue.Conv2D, cache: Saved, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    d_input, gradients = conv2d_gradients(layer, cache, d_output, weights, with_input=True)
    assert d_input is not None
    return d_input, gradients


def conv2d_weights_backward(layer: catalogue.Conv2D, cache: Saved, d_output: np.ndarray, weights: Weights) -> Weights:
    """The kernel's and bias's gradients only: the first layer's input (the batch) needs none."""
    return conv2d_gradients(layer, cache, d_output, weights, with_input=False)[1]


def conv2d_gradients(
    layer: catalogue.Conv2D, cache: Saved, d_output: np.ndarray, weights: Weights, with_input: bool
) -> tuple[np.ndarray | None, Weights]:
    """The whole backward (activation's derivative, input's gradient, kernel's and bias's) per range of images, one range per
    core (batch_parts): each range's products, copies and elementwise passes run on their own core, the weights'
    gradients summed after. One range (small layers, one thread) is the plain single-threaded path."""
    kernel, geometry = weights["kernel"], cache.geometry
    parts = batch_parts(len(d_output), d_output.size)
    scratches = [cache.workspace.scratch] if len(parts) == 1 else cache.workspace.worker_scratches(len(parts))
    d_input = None
    if with_input and len(parts) > 1:
        d_input = np.empty(cache.x.shape, np.float32) if cache.arena is None else cache.arena.take(cache.x.shape)
    kernels: list[np.ndarray] = [np.empty(0)] * len(parts)
    biases: list[np.ndarray] = [np.empty(0)] * len(parts)
    block = PART_BLOCK_BYTES if len(parts) > 1 or threads.blas_single_threaded() else BLOCK_BYTES

    def part_gradients(number: int, images: range) -> None:
        nonlocal d_input
        piece, scratch = slice(images.start, images.stop), scratches[number]
        x = cache.x[piece]
        d_pre = activation_backward(layer.activation, cache.pre_activation[piece], cache.output[piece], d_output[piece])
        d_pre = np.ascontiguousarray(d_pre, np.float32)
        if with_input:
            found = convolved_input_gradient(d_pre, kernel, geometry, x.shape, scratch)
            if d_input is None:
                into = None if found is not None or cache.arena is None else cache.arena.take(x.shape)
                d_input = found if found is not None else input_gradient(d_pre, kernel, geometry, x.shape, scratch, block, out=into)
            elif found is not None:
                d_input[piece] = found
            else:
                input_gradient(d_pre, kernel, geometry, x.shape, scratch, block, out=d_input[piece])
        kernels[number] = kernel_gradient(x, d_pre, kernel.shape, geometry, scratch, block)
        if "bias" in weights:
            biases[number] = with_bias({}, weights, d_pre)["bias"]

    run_parts(parts, part_gradients)
    gradients = {"kernel": summed(kernels)}
    if "bias" in weights:
        gradients["bias"] = summed(biases)
    return d_input, gradients


def summed(parts: list[np.ndarray]) -> np.ndarray:
    """The parts' sum, added into the first (each part's gradient is its own fresh array)."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def depthwise_forward(layer: catalogue.DepthwiseConv2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    g = window_geometry(layer, x)
    pre = ops.depthwise_conv2d(x, weights["kernel"], weights.get("bias"), g.strides, g.pads, g.dilation, workspace=context.workspace)
    return forwarded(layer, x, g, pre, context)


def depthwise_backward(
    layer: catalogue.DepthwiseConv2D, cache: Saved, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    d_pre = pre_activation_gradient(layer, cache, d_output)
    d_input, d_kernel = depthwise_gradients(cache.x, d_pre, weights["kernel"], cache.geometry, cache.workspace.scratch)
    return d_input, with_bias({"kernel": d_kernel}, weights, d_pre)


POINTWISE = Geometry((1, 1), (1, 1), ((0, 0), (0, 0)))


def separable_forward(layer: catalogue.SeparableConv2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """The depthwise half (no bias) into a fresh array kept for the pointwise half's kernel gradient."""
    g = window_geometry(layer, x)
    depthwise = ops.depthwise_conv2d(x, weights["depthwise_kernel"], None, g.strides, g.pads, g.dilation, workspace=context.workspace)
    pre = conv_forward(depthwise, weights["pointwise_kernel"], weights.get("bias"), POINTWISE, context.workspace.scratch)
    pointwise = forwarded(layer, depthwise, POINTWISE, pre, context)
    return Forwarded(pointwise.output, SavedSeparable(x, g, pointwise.cache))


def separable_backward(
    layer: catalogue.SeparableConv2D, cache: SavedSeparable, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    pointwise, scratch = cache.pointwise, cache.pointwise.workspace.scratch
    d_pre = pre_activation_gradient(layer, pointwise, d_output)
    kernel = weights["pointwise_kernel"]
    d_pointwise = kernel_gradient(pointwise.x, d_pre, kernel.shape, POINTWISE, scratch)
    d_depthwise = input_gradient(d_pre, kernel, POINTWISE, pointwise.x.shape, scratch)
    d_input, d_depthwise_kernel = depthwise_gradients(cache.x, d_depthwise, weights["depthwise_kernel"], cache.depthwise, scratch)
    return d_input, with_bias({"depthwise_kernel": d_depthwise_kernel, "pointwise_kernel": d_pointwise}, weights, d_pre)


def adjoint_geometry(layer: catalogue.Conv2DTranspose, x: np.ndarray) -> Geometry:
    """The Conv2D (same kernel and strides) whose adjoint the layer is: its output padded by Keras's crop
    before and by what completes the uncropped (n-1)*s + k after, so its windows land on x's pixels.
    """
    pads = []
    for side, kernel, stride in zip(x.shape[1:3], layer.kernel_size, layer.strides):
        crop = transpose_crop(kernel, stride, layer.padding)
        output_side = transpose_output_side(side, kernel, stride, layer.padding)
        pads.append((crop, max((side - 1) * stride + kernel - output_side - crop, 0)))
    return Geometry(tuple(layer.kernel_size), tuple(layer.strides), (pads[0], pads[1]))


def transpose_forward(layer: catalogue.Conv2DTranspose, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    pre = ops.conv2d_transpose(x, weights["kernel"], weights.get("bias"), layer.strides, layer.padding, workspace=context.workspace)
    return forwarded(layer, x, adjoint_geometry(layer, x), pre, context)


def transpose_backward(
    layer: catalogue.Conv2DTranspose, cache: Saved, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    """The adjoint Conv2D's forward on d_pre is d_input; its kernel gradient with d_pre as input and x as output is d_kernel."""
    d_pre = pre_activation_gradient(layer, cache, d_output)
    kernel = weights["kernel"]
    d_input = conv_forward(d_pre, kernel, None, cache.geometry, cache.workspace.scratch)
    d_kernel = kernel_gradient(d_pre, np.ascontiguousarray(cache.x), kernel.shape, cache.geometry, cache.workspace.scratch)
    return d_input, with_bias({"kernel": d_kernel}, weights, d_pre)


CONVOLUTION_GRADIENTS: dict[type[Layer], LayerGradient] = {
    catalogue.Conv2D: LayerGradient(conv2d_forward, conv2d_backward, conv2d_weights_backward),
    catalogue.DepthwiseConv2D: LayerGradient(depthwise_forward, depthwise_backward),
    catalogue.SeparableConv2D: LayerGradient(separable_forward, separable_backward),
    catalogue.Conv2DTranspose: LayerGradient(transpose_forward, transpose_backward),
}
