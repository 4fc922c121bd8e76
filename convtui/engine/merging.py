"""Merge ops: several NHWC (or flat) batches in, one out, in the order Keras computes them.

Keras folds its inputs left to right (`output = inputs[0]; output = op(output, inputs[i])`),
Average divides the sum by the count; NumPy broadcasts a (N, 1, 1, C) gate over (N, H, W, C)
exactly as Keras's ops do. Float32 sums in the same order give the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fold(inputs: Sequence[np.ndarray], combine: np.ufunc) -> np.ndarray:
    """inputs[0] op inputs[1] op ..., left to right; in place once the result has its final shape."""
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
    return np.subtract(inputs[0], inputs[1])


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
