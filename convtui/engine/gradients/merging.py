"""Merges in training: the forward is the inference op; the backward gives one gradient per input,
summed over the axes that input was broadcast along (a (N, 1, 1, C) gate gets (N, 1, 1, C)), and
in the input's own shape: a (N, C) gate, which Keras expanded to (N, 1, 1, C), gets (N, C).

Maximum and Minimum send the gradient to the winning input only; on a tie, to the first input
that holds the winning value (PyTorch's torch.maximum would split it evenly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convtui.engine import merging
from convtui.engine.gradients.base import Forwarded, LayerGradient, TrainContext, Weights
from convtui.engine.runners import ELEMENTWISE_MERGES
from convtui.model import layers as catalogue


def unbroadcast(gradient: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an input of `shape` that was expanded after its batch axis and broadcast to the gradient's
    shape: summed over the axes it was 1 on (or did not have), in its own shape."""
    lined_up = merging.expanded_shape(shape, gradient.ndim)
    axes = tuple(axis for axis, side in enumerate(lined_up) if side == 1 and gradient.shape[axis] != 1)
    summed = gradient.sum(axis=axes, keepdims=True) if axes else gradient
    return summed.reshape(shape)


MergeCache = tuple[tuple[np.ndarray, ...], np.ndarray]
"""The inputs, and the output Maximum and Minimum compare them with."""


def merge_forward(layer: catalogue.Layer, xs: Sequence[np.ndarray], weights: Weights, context: TrainContext) -> Forwarded:
    """The inference op, which folds left to right as Keras does."""
    output = ELEMENTWISE_MERGES[type(layer)](xs)
    return Forwarded(output, (tuple(xs), output))


def add_backward(layer: catalogue.Add, cache: MergeCache, d_output: np.ndarray, weights: Weights) -> tuple[list[np.ndarray], Weights]:
    return [unbroadcast(d_output, x.shape) for x in cache[0]], {}


def subtract_backward(
    layer: catalogue.Subtract, cache: MergeCache, d_output: np.ndarray, weights: Weights
) -> tuple[list[np.ndarray], Weights]:
    first, second = cache[0]
    return [unbroadcast(d_output, first.shape), -unbroadcast(d_output, second.shape)], {}


def average_backward(
    layer: catalogue.Average, cache: MergeCache, d_output: np.ndarray, weights: Weights
) -> tuple[list[np.ndarray], Weights]:
    share = d_output / len(cache[0])
    return [unbroadcast(share, x.shape) for x in cache[0]], {}


def multiply_backward(
    layer: catalogue.Multiply, cache: MergeCache, d_output: np.ndarray, weights: Weights
) -> tuple[list[np.ndarray], Weights]:
    """Each input's gradient is d_output times the product of the other inputs."""
    xs = cache[0]
    gradients = []
    for index, x in enumerate(xs):
        others = d_output
        for other in xs[:index] + xs[index + 1 :]:
            others = others * merging.expanded(other, d_output.ndim)
        gradients.append(unbroadcast(others, x.shape))
    return gradients, {}


def selection_backward(
    layer: catalogue.Maximum | catalogue.Minimum, cache: MergeCache, d_output: np.ndarray, weights: Weights
) -> tuple[list[np.ndarray], Weights]:
    """The gradient goes where the output came from: the first input equal to it."""
    xs, output = cache
    unclaimed = np.ones(output.shape, bool)
    gradients = []
    for x in xs:
        wins = unclaimed & (merging.expanded(x, output.ndim) == output)
        unclaimed &= ~wins
        gradients.append(unbroadcast(np.where(wins, d_output, 0).astype(d_output.dtype, copy=False), x.shape))
    return gradients, {}


def concatenate_forward(layer: catalogue.Concatenate, xs: Sequence[np.ndarray], weights: Weights, context: TrainContext) -> Forwarded:
    """Keras's axis counts the batch axis, as NumPy's does; the cache is where each input ends along it."""
    ends = np.cumsum([x.shape[layer.axis] for x in xs])
    return Forwarded(np.concatenate(xs, axis=layer.axis), ends)


def concatenate_backward(
    layer: catalogue.Concatenate, ends: np.ndarray, d_output: np.ndarray, weights: Weights
) -> tuple[list[np.ndarray], Weights]:
    return np.split(d_output, ends[:-1], axis=layer.axis), {}


MERGING_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.Add: LayerGradient(merge_forward, add_backward),
    catalogue.Subtract: LayerGradient(merge_forward, subtract_backward),
    catalogue.Multiply: LayerGradient(merge_forward, multiply_backward),
    catalogue.Average: LayerGradient(merge_forward, average_backward),
    catalogue.Maximum: LayerGradient(merge_forward, selection_backward),
    catalogue.Minimum: LayerGradient(merge_forward, selection_backward),
    catalogue.Concatenate: LayerGradient(concatenate_forward, concatenate_backward),
}
