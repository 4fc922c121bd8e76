"""Merge ops: several NHWC (or flat) batches in, one out, in the order Keras computes them.

Keras folds its inputs left to right (`output = inputs[0]; output = op(output, inputs[i])`),
Average divides the sum by the count; NumPy broadcasts a (N, 1, 1, C) gate over (N, H, W, C)
exactly as Keras's ops do. A lower-rank input is first expanded after the batch axis, as Keras's
`Merge.call` does: a (N, C) gate becomes (N, 1, 1, C), where NumPy alone would line its batch
axis up with the map's columns. Float32 sums in the same order give the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convtui.model.layers.merging import aligned_shape


def expanded_shape(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """A batch's shape (N, *rest) as (N, 1, ..., 1, *rest) with `rank` axes: Keras's expand_dims at axis 1."""
    return shape[:1] + aligned_shape(shape[1:], rank - 1)


def expanded(value: np.ndarray, rank: int) -> np.ndarray:
    """`value` with `rank` axes, expanded after its batch axis (a view, no copy)."""
    return value.reshape(expanded_shape(value.shape, rank))


def aligned(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The batches at the highest rank among them, each expanded after its batch axis."""
    rank = max(value.ndim for value in inputs)
    return [expanded(value, rank) for value in inputs]


def fold(inputs: Sequence[np.ndarray], combine: np.ufunc) -> np.ndarray:
    """inputs[0] op inputs[1] op ..., left to right; in place once the result has its final shape."""
    inputs = aligned(inputs)
    output = combine(inputs[0], inputs[1])
    for value in inputs[2:]:
        if output.shape == np.broadcast_shapes(output.shape, value.shape):
            combine(output, value, out=output)
        else:
            output = combine(output, value)
    return output


def add(inputs: Sequence[np.ndarray]) -> np.ndarray:
    return fold(inputs, np.add)


def subtract(inputs: Sequence[np.ndarray]) -> np.ndarray:
    return np.subtract(*aligned(inputs))


def multiply(inputs: Sequence[np.ndarray]) -> np.ndarray:
    return fold(inputs, np.multiply)


def average(inputs: Sequence[np.ndarray]) -> np.ndarray:
    output = fold(inputs, np.add)
    output /= np.float32(len(inputs))
    return output


def maximum(inputs: Sequence[np.ndarray]) -> np.ndarray:
    return fold(inputs, np.maximum)


def minimum(inputs: Sequence[np.ndarray]) -> np.ndarray:
    return fold(inputs, np.minimum)


def concatenate(inputs: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """`axis` counts the batch axis, as Keras's does."""
    return np.concatenate(inputs, axis=axis)
