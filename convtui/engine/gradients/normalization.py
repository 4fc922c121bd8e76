"""Normalization layers in training: BatchNormalization with the batch's statistics (and its new
moving ones), LayerNormalization, and the fixed input scalings Normalization and Rescaling.

Keras's BatchNormalization normalises with the batch's biased variance and moves its statistics
by `moving * momentum + batch * (1 - momentum)`, the biased variance too (ops.moments; PyTorch's
running_var is unbiased instead). Keras on torch takes the variance as E[x^2] - E[x]^2; here it
is E[(x - mean)^2], the same value without the cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convtui.engine.gradients.base import Forwarded, LayerGradient, TrainContext, Weights
from convtui.engine.ops import KERAS_EPSILON
from convtui.engine.runners import along_axis, batch_axes
from convtui.model import layers as catalogue


@dataclass(frozen=True)
class Normalized:
    """What a normalisation's backward needs: x / sigma (centred unless rms), its centred form, 1 / sigma, the axes."""

    normalized: np.ndarray
    centred: np.ndarray
    inverse: np.ndarray
    axes: tuple[int, ...]
    mean_removed: bool = True


def normalize(x: np.ndarray, axes: tuple[int, ...], epsilon: float, mean_removed: bool = True) -> tuple[Normalized, np.ndarray, np.ndarray]:
    """(x - mean) / sqrt(variance + epsilon) over `axes` (x / sqrt(...) when not mean_removed), the mean and the biased variance."""
    mean = x.mean(axis=axes, keepdims=True)
    deviation = x - mean
    variance = np.square(deviation).mean(axis=axes, keepdims=True)
    inverse = 1.0 / np.sqrt(variance + epsilon)
    centred = deviation * inverse
    normalized = centred if mean_removed else x * inverse
    return Normalized(normalized, centred, inverse, axes, mean_removed), mean, variance


def normalize_backward(state: Normalized, d_normalized: np.ndarray) -> np.ndarray:
    """The input's gradient through the statistics: inverse * (dn - mean(dn) - centred * mean(dn * normalized))."""
    correction = state.centred * (d_normalized * state.normalized).mean(axis=state.axes, keepdims=True)
    if state.mean_removed:
        correction = correction + d_normalized.mean(axis=state.axes, keepdims=True)
    return state.inverse * (d_normalized - correction)


def scale_and_shift(state: Normalized, gamma: np.ndarray | None, beta: np.ndarray | None, shape: list[int]) -> np.ndarray:
    """normalized * gamma + beta, each laid out on `shape` (sides of 1 on the axes they do not span)."""
    output = state.normalized if gamma is None else state.normalized * gamma.reshape(shape)
    return output if beta is None else output + beta.reshape(shape)


def scale_and_shift_backward(
    state: Normalized, d_output: np.ndarray, weights: Weights, shape: list[int]
) -> tuple[np.ndarray, Weights]:
    """The input's gradient, and gamma's and beta's (those the layer has), summed over the axes they do not span."""
    summed = tuple(axis for axis, side in enumerate(shape) if side == 1)
    gradients: Weights = {}
    if "gamma" in weights:
        gradients["gamma"] = (d_output * state.normalized).sum(axis=summed).reshape(weights["gamma"].shape)
    if "beta" in weights:
        gradients["beta"] = d_output.sum(axis=summed).reshape(weights["beta"].shape)
    d_normalized = d_output if "gamma" not in weights else d_output * weights["gamma"].reshape(shape)
    return normalize_backward(state, d_normalized), gradients


def channel_shape(x: np.ndarray) -> list[int]:
    return [1] * (x.ndim - 1) + [x.shape[-1]]


def batch_normalization_forward(layer: catalogue.BatchNormalization, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """The batch's statistics over every axis but the channels; the moving ones move towards them."""
    state, mean, variance = normalize(x, tuple(range(x.ndim - 1)), layer.epsilon)
    output = scale_and_shift(state, weights.get("gamma"), weights.get("beta"), channel_shape(x))
    momentum = layer.momentum
    updates = {
        "moving_mean": (weights["moving_mean"] * momentum + mean.reshape(-1) * (1.0 - momentum)).astype(weights["moving_mean"].dtype),
        "moving_variance": (weights["moving_variance"] * momentum + variance.reshape(-1) * (1.0 - momentum)).astype(
            weights["moving_variance"].dtype
        ),
    }
    return Forwarded(output, state, updates)


def batch_normalization_backward(
    layer: catalogue.BatchNormalization, state: Normalized, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    return scale_and_shift_backward(state, d_output, weights, channel_shape(d_output))


def layer_axes_shape(layer: catalogue.LayerNormalization, x: np.ndarray) -> tuple[tuple[int, ...], list[int]]:
    """The normalised axes (batch axis 0) and the shape gamma and beta are laid out on."""
    axes = batch_axes(layer.axis, x.ndim)
    return axes, [x.shape[axis] if axis in axes else 1 for axis in range(x.ndim)]


def layer_normalization_forward(layer: catalogue.LayerNormalization, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """Each example over its own `axis`; rms_scaling divides x, not x - mean, by the deviation, as Keras's deprecated form does."""
    axes, shape = layer_axes_shape(layer, x)
    state, _, _ = normalize(x, axes, layer.epsilon, mean_removed=not layer.rms_scaling)
    return Forwarded(scale_and_shift(state, weights.get("gamma"), weights.get("beta"), shape), state)


def layer_normalization_backward(
    layer: catalogue.LayerNormalization, state: Normalized, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    return scale_and_shift_backward(state, d_output, weights, layer_axes_shape(layer, d_output)[1])


def statistic(layer: catalogue.Normalization, name: str, x: np.ndarray, weights: Weights) -> np.ndarray:
    """Normalization's mean or variance laid out on x: its weight (set by adapt()) or the value given, as the runner does."""
    kept = batch_axes(layer.axis, x.ndim)
    if layer.has_weights:
        return weights[name].reshape([x.shape[axis] if axis in kept else 1 for axis in range(x.ndim)])
    return along_axis(getattr(layer, name), kept, x.ndim)


def normalization_forward(layer: catalogue.Normalization, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """(x - mean) / max(sqrt(variance), 1e-7), or mean + x * that deviation for invert: fixed statistics, nothing learns."""
    mean = statistic(layer, "mean", x, weights).astype(x.dtype)
    deviation = np.maximum(np.sqrt(statistic(layer, "variance", x, weights).astype(x.dtype)), KERAS_EPSILON)
    output = mean + x * deviation if layer.invert else (x - mean) / deviation
    return Forwarded(output, deviation)


def normalization_backward(
    layer: catalogue.Normalization, deviation: np.ndarray, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    return (d_output * deviation if layer.invert else d_output / deviation), {}


def rescaling_forward(layer: catalogue.Rescaling, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    scale = np.asarray(layer.scale, x.dtype)
    return Forwarded(x * scale + np.asarray(layer.offset, x.dtype), scale)


def rescaling_backward(layer: catalogue.Rescaling, scale: np.ndarray, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    return d_output * scale, {}


NORMALIZATION_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.BatchNormalization: LayerGradient(batch_normalization_forward, batch_normalization_backward),
    catalogue.LayerNormalization: LayerGradient(layer_normalization_forward, layer_normalization_backward),
    catalogue.Normalization: LayerGradient(normalization_forward, normalization_backward),
    catalogue.Rescaling: LayerGradient(rescaling_forward, rescaling_backward),
}
