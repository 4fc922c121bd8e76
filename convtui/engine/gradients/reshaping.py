"""Reshaping layers in training: Flatten and Reshape (the gradient takes the input's shape back),
ZeroPadding2D and Cropping2D (each other's backward), UpSampling2D (nearest sums each block of
copies; bilinear is a linear map per axis, so its backward is that map's transpose).
"""

from __future__ import annotations

import numpy as np

from convtui.engine import ops
from convtui.engine.gradients.base import Forwarded, LayerGradient, TrainContext, Weights
from convtui.model import layers as catalogue


def reshape_forward(layer: catalogue.Flatten | catalogue.Reshape, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """Flatten lays (H, W, C) out row by row; Reshape to its target_shape (-1 resolved by NumPy)."""
    target = (-1,) if isinstance(layer, catalogue.Flatten) else layer.target_shape
    return Forwarded(x.reshape(x.shape[0], *target), x.shape)


def reshape_backward(
    layer: catalogue.Flatten | catalogue.Reshape, input_shape: tuple[int, ...], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    return d_output.reshape(input_shape), {}


def zero_padding_forward(layer: catalogue.ZeroPadding2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(ops.zero_padding2d(x, layer.padding))


def zero_padding_backward(
    layer: catalogue.ZeroPadding2D, cache: None, d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    return ops.cropping2d(d_output, layer.padding), {}


def cropping_forward(layer: catalogue.Cropping2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(ops.cropping2d(x, layer.cropping))


def cropping_backward(layer: catalogue.Cropping2D, cache: None, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    return ops.zero_padding2d(d_output, layer.cropping), {}


def linear_resize_matrix(size: int, factor: int, dtype: np.dtype) -> np.ndarray:
    """The (size * factor, size) matrix of ops.upsampling2d's bilinear resize along one axis, with its float32 weights."""
    centres = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
    below = np.floor(centres).astype(np.intp)
    above = np.minimum(below + 1, size - 1)
    weight = (centres - below).astype(np.float32).astype(dtype)
    matrix = np.zeros((size * factor, size), dtype)
    rows = np.arange(size * factor)
    np.add.at(matrix, (rows, below), 1 - weight)
    np.add.at(matrix, (rows, above), weight)
    return matrix


def along_axis(matrix: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """`matrix` applied to x's `axis` (a matrix product along one axis of a batch)."""
    return np.moveaxis(np.tensordot(matrix, x, axes=([1], [axis])), 0, axis)


def upsampling_forward(layer: catalogue.UpSampling2D, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(ops.upsampling2d(x, layer.size, layer.interpolation), x.shape)


def upsampling_backward(
    layer: catalogue.UpSampling2D, input_shape: tuple[int, ...], d_output: np.ndarray, weights: Weights
) -> tuple[np.ndarray, Weights]:
    batch, height, width, channels = input_shape
    rows, columns = layer.size
    if layer.interpolation == "nearest":
        return d_output.reshape(batch, height, rows, width, columns, channels).sum(axis=(2, 4)), {}
    d_rows = along_axis(linear_resize_matrix(height, rows, d_output.dtype).T, d_output, 1)
    return along_axis(linear_resize_matrix(width, columns, d_output.dtype).T, d_rows, 2), {}


RESHAPING_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.Flatten: LayerGradient(reshape_forward, reshape_backward),
    catalogue.Reshape: LayerGradient(reshape_forward, reshape_backward),
    catalogue.ZeroPadding2D: LayerGradient(zero_padding_forward, zero_padding_backward),
    catalogue.Cropping2D: LayerGradient(cropping_forward, cropping_backward),
    catalogue.UpSampling2D: LayerGradient(upsampling_forward, upsampling_backward),
}
