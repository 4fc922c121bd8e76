"""Pooling's training forward and backward: max (the gradient goes to each window's argmax),
average (divided by the real pixels each window covers, as Keras's "same" does) and global.

Windows are visited tap by tap (kh * kw strided views of the padded input), so nothing of size
output x window is ever built; max pooling keeps its argmax tap per output (the first maximum in
row-major order on ties, as PyTorch's CPU kernel and Keras on it choose). Keras's default 2x2,
stride-2 unpadded windows instead copy their four taps apart once and keep one-hot masks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from convtui.engine.gradients.base import Forwarded, LayerGradient, StepArena, TrainContext, Weights, batch_parts, run_parts
from convtui.engine.runners import image_pads
from convtui.model import layers as catalogue

Pads = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Windows:
    """Where the windows of one pooling lie: the padded size, the pads, the window and the step."""

    padded_shape: tuple[int, int, int, int]
    pads: Pads
    pool_size: tuple[int, int]
    strides: tuple[int, int]

    @property
    def output_hw(self) -> tuple[int, int]:
        return tuple((side - pool) // stride + 1 for side, pool, stride in zip(self.padded_shape[1:3], self.pool_size, self.strides))

    def taps(self) -> Iterator[tuple[int, int]]:
        return itertools.product(range(self.pool_size[0]), range(self.pool_size[1]))

    def tap(self, image: np.ndarray, a: int, b: int) -> np.ndarray:
        """The (N, out_h, out_w, C) view of `image` (padded) that tap (a, b) of every window reads."""
        out_h, out_w = self.output_hw
        rows = slice(a, a + self.strides[0] * (out_h - 1) + 1, self.strides[0])
        columns = slice(b, b + self.strides[1] * (out_w - 1) + 1, self.strides[1])
        return image[:, rows, columns]

    def pad(self, x: np.ndarray, value: float) -> np.ndarray:
        """x with `value` borders; x itself (no copy) when there are no pads."""
        (top, bottom), (left, right) = self.pads
        if top == bottom == left == right == 0:
            return x
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)

    @property
    def disjoint(self) -> bool:
        """Whether no input pixel is read by two windows (strides at least the pool): the backward may assign, not add."""
        return all(stride >= pool for stride, pool in zip(self.strides, self.pool_size))

    @property
    def covering(self) -> bool:
        """Whether every padded pixel is read by some window, so a disjoint backward writes each pixel once."""
        return self.disjoint and all(
            side == (count - 1) * stride + pool
            for side, count, stride, pool in zip(self.padded_shape[1:3], self.output_hw, self.strides, self.pool_size)
        )

    @property
    def halving(self) -> bool:
        """Keras's default windows: 2x2, stride 2, no pads (an odd last row or column is simply not read)."""
        return self.pool_size == self.strides == (2, 2) and self.pads == ((0, 0), (0, 0))

    def crop(self, padded: np.ndarray) -> np.ndarray:
        (top, bottom), (left, right) = self.pads
        return padded[:, top : padded.shape[1] - bottom, left : padded.shape[2] - right]

    def window_sums(self, image: np.ndarray) -> np.ndarray:
        """Every window's sum over its taps of the padded `image`."""
        taps = iter(self.taps())
        total = self.tap(image, *next(taps)).copy()
        for a, b in taps:
            total += self.tap(image, a, b)
        return total

    def scatter(self, values_per_tap: Iterable[tuple[tuple[int, int], np.ndarray]], dtype: np.dtype) -> np.ndarray:
        """The input's gradient: each tap's (N, out_h, out_w, C) values added where that tap reads, padding cropped."""
        padded = np.zeros(self.padded_shape, dtype)
        for (a, b), values in values_per_tap:
            self.tap(padded, a, b)[...] += values
        return self.crop(padded)


def windows_of(layer: catalogue.Pooling2D, x: np.ndarray) -> Windows:
    pads = image_pads(layer.padding, x, layer.pool_size, layer.step)
    batch, height, width, channels = x.shape
    padded_shape = (batch, height + sum(pads[0]), width + sum(pads[1]), channels)
    return Windows(padded_shape, pads, tuple(layer.pool_size), tuple(layer.step))


def max_pooling_forward(layer: catalogue.MaxPooling2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """Keras's default windows (2x2, stride 2, unpadded) by `first_maxima_forward`, every other by `tap_max_forward`."""
    windows = windows_of(layer, x)
    if windows.halving:
        return first_maxima_forward(x, windows.output_hw, context.arena)
    return tap_max_forward(x, windows, context.arena)


def max_pooling_backward(
    layer: catalogue.MaxPooling2D, cache: FirstMaxima | tuple[Windows, np.ndarray, StepArena], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    if isinstance(cache, FirstMaxima):
        return first_maxima_backward(cache, d_output), {}
    return tap_max_backward(*cache, d_output), {}


def tap_max_forward(x: np.ndarray, windows: Windows, arena: StepArena) -> Forwarded:
    """Padding is -inf, so it never wins; the cache is the winning tap's number per output (uint8 up to 16x16 windows)
    and the step's arena, where the output, the winners and the backward's gradient are taken from.

    Taps are visited in row-major order and a later one wins only when strictly greater, so the
    winner's number only grows: max(winner, better * number) keeps it without a masked write
    (np.copyto with `where` and boolean indexing measured 5-8x slower).
    """
    image = windows.pad(x, -np.inf)
    output = arena.take((x.shape[0], *windows.output_hw, x.shape[3]), x.dtype)
    winner = arena.take(output.shape, np.uint8 if windows.pool_size[0] * windows.pool_size[1] <= 256 else np.int32)

    def part_forward(number: int, images: range) -> None:
        piece = slice(images.start, images.stop)
        part, best, part_image = output[piece], winner[piece], image[piece]
        taps = iter(windows.taps())
        np.copyto(part, windows.tap(part_image, *next(taps)))
        best.fill(0)
        better, numbered = np.empty(part.shape, bool), np.empty_like(best)
        for tap_number, (a, b) in enumerate(taps, start=1):
            values = windows.tap(part_image, a, b)
            np.greater(values, part, out=better)
            np.maximum(part, values, out=part)
            np.multiply(better, best.dtype.type(tap_number), out=numbered)
            np.maximum(best, numbered, out=best)

    run_parts(batch_parts(len(x), x.size), part_forward)
    return Forwarded(output, (windows, winner, arena))


def tap_max_backward(windows: Windows, winner: np.ndarray, arena: StepArena, d_output: np.ndarray) -> np.ndarray:
    """d_output goes to each window's winning tap: written straight into its pixels when windows do not
    overlap (no zero fill when they also cover the input), added otherwise."""
    padded = arena.take(windows.padded_shape, d_output.dtype)
    if not windows.covering:
        padded.fill(0)

    def part_backward(number: int, images: range) -> None:
        piece = slice(images.start, images.stop)
        part_winner, part_d, part_padded = winner[piece], d_output[piece], padded[piece]
        chosen = np.empty(part_winner.shape, bool)
        for tap_number, (a, b) in enumerate(windows.taps()):
            np.equal(part_winner, tap_number, out=chosen)
            target = windows.tap(part_padded, a, b)
            if windows.disjoint:
                np.multiply(chosen, part_d, out=target)
            else:
                target += chosen * part_d

    run_parts(batch_parts(len(d_output), padded[0].size * len(d_output)), part_backward)
    return windows.crop(padded)


@dataclass(frozen=True)
class FirstMaxima:
    """2x2 max pooling's cache: (4, N, out_h, out_w, C) one-hot masks, tap by tap in row-major order, of each
    window's first maximum; the input's shape; the step's arena, where the backward's gradient is taken from."""

    masks: np.ndarray
    input_shape: tuple[int, ...]
    arena: StepArena


def quads(image: np.ndarray, output_hw: tuple[int, int]) -> np.ndarray:
    """The (2, 2, N, out_h, out_w, C) view of `image`'s 2x2 stride-2 windows, tap (a, b) first; an odd last row or column is left out."""
    (out_h, out_w), (batch, channels) = output_hw, (image.shape[0], image.shape[3])
    return image[:, : 2 * out_h, : 2 * out_w].reshape(batch, out_h, 2, out_w, 2, channels).transpose(2, 4, 0, 1, 3, 5)


def first_maxima_forward(x: np.ndarray, output_hw: tuple[int, int], arena: StepArena) -> Forwarded:
    """2x2 windows: one transposing copy lays the four taps out contiguously, then every ufunc runs on contiguous arrays.

    NumPy's ufuncs on strided tap views ran 2-3x slower than on contiguous ones (the copy costs about
    one such pass): forward + backward of mnist-convnet's poolings at batch 32 on one thread, 0.75 and
    0.25 ms by `tap_max_forward` and `tap_max_backward`, 0.64 and 0.17 ms here. The first maximum in row-major order, as
    there: the right tap wins its row only when greater, the bottom row only when its maximum is greater.
    """
    output = arena.take((x.shape[0], *output_hw, x.shape[3]), x.dtype)
    taps = arena.take((4, *output.shape), x.dtype)
    masks = arena.take(taps.shape, bool)
    bottom = arena.take(output.shape, bool)
    windows = quads(x, output_hw)

    def part_forward(number: int, images: range) -> None:
        piece = slice(images.start, images.stop)
        tap, first, lower = taps[:, piece], masks[:, piece], bottom[piece]
        np.copyto(tap.reshape(2, 2, *tap.shape[1:]), windows[:, :, piece])
        np.greater(tap[1], tap[0], out=first[1])  # right beats left, top row
        np.greater(tap[3], tap[2], out=first[3])  # and bottom row
        np.maximum(tap[0], tap[1], out=tap[0])
        np.maximum(tap[2], tap[3], out=tap[2])
        np.greater(tap[2], tap[0], out=lower)
        np.maximum(tap[0], tap[2], out=output[piece])
        np.greater(lower, first[3], out=first[2])  # lower and not right
        np.logical_and(lower, first[3], out=first[3])
        np.logical_or(lower, first[1], out=first[0])
        np.logical_not(first[0], out=first[0])
        np.greater(first[1], lower, out=first[1])  # right and not lower

    run_parts(batch_parts(len(x), x.size), part_forward)
    return Forwarded(output, FirstMaxima(masks, x.shape, arena))


def first_maxima_backward(cache: FirstMaxima, d_output: np.ndarray) -> np.ndarray:
    """d_output times each tap's mask, written through the transposed view into the input's gradient (an odd last row or column zeroed)."""
    gradient = cache.arena.take(cache.input_shape, d_output.dtype)
    out_h, out_w = d_output.shape[1:3]
    gradient[:, 2 * out_h :] = 0
    gradient[:, :, 2 * out_w :] = 0
    windows, masks = quads(gradient, (out_h, out_w)), cache.masks.reshape(2, 2, *d_output.shape)

    def part_backward(number: int, images: range) -> None:
        piece = slice(images.start, images.stop)
        np.multiply(masks[:, :, piece], d_output[piece], out=windows[:, :, piece])

    run_parts(batch_parts(len(d_output), gradient.size), part_backward)
    return gradient


def average_pooling_forward(layer: catalogue.AveragePooling2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """Window sums of the zero-padded input over the count of real pixels (the same sums of a ones mask)."""
    windows = windows_of(layer, x)
    image = windows.pad(x, 0.0)
    mask = windows.pad(np.ones((1, *x.shape[1:3], 1), x.dtype), 0.0)
    counts = windows.window_sums(mask)
    return Forwarded(windows.window_sums(image) / counts, (windows, counts))


def average_pooling_backward(
    layer: catalogue.AveragePooling2D, cache: tuple[Windows, np.ndarray], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    windows, counts = cache
    share = d_output / counts
    return windows.scatter(((tap, share) for tap in windows.taps()), d_output.dtype), {}


def global_average_forward(layer: catalogue.GlobalAveragePooling2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    output = x.mean(axis=(1, 2), keepdims=layer.keepdims, dtype=np.float64).astype(x.dtype)
    return Forwarded(output, x.shape)


def global_average_backward(
    layer: catalogue.GlobalAveragePooling2D, input_shape: tuple[int, ...], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    batch, height, width, channels = input_shape
    share = d_output.reshape(batch, 1, 1, channels) / (height * width)
    return np.broadcast_to(share, input_shape).copy(), {}


def global_max_forward(layer: catalogue.GlobalMaxPooling2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """The cache is each (image, channel)'s first maximal pixel, as a flat index into H * W."""
    batch, height, width, channels = x.shape
    winner = x.reshape(batch, height * width, channels).argmax(axis=1)
    output = x.max(axis=(1, 2), keepdims=layer.keepdims)
    return Forwarded(output, (x.shape, winner))


def global_max_backward(
    layer: catalogue.GlobalMaxPooling2D, cache: tuple[tuple[int, ...], np.ndarray], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    input_shape, winner = cache
    batch, height, width, channels = input_shape
    d_input = np.zeros((batch, height * width, channels), d_output.dtype)
    np.put_along_axis(d_input, winner[:, None, :], d_output.reshape(batch, 1, channels), axis=1)
    return d_input.reshape(input_shape), {}


POOLING_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.MaxPooling2D: LayerGradient(max_pooling_forward, max_pooling_backward),
    catalogue.AveragePooling2D: LayerGradient(average_pooling_forward, average_pooling_backward),
    catalogue.GlobalAveragePooling2D: LayerGradient(global_average_forward, global_average_backward),
    catalogue.GlobalMaxPooling2D: LayerGradient(global_max_forward, global_max_backward),
}
