"""The engine's registry: one forward function per layer type, from the layer's config to an op call.

Each runner resolves what the model knows (padding amounts by Keras's rule, strides, weights by
their Keras names) and calls the NumPy op; adding a layer type adds one runner here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convtui.engine import activations, merging, ops
from convtui.engine.im2col import MAX_SCRATCH_BYTES
from convtui.model import layers as catalogue
from convtui.model.geometry import Padding, axis_pads
from convtui.model.layers import Layer
from convtui.model.stack import LayerInfo

Weights = dict[str, np.ndarray]
Runner = Callable[[Layer, Any, Weights, "Context"], np.ndarray]
"""(layer, input, weights, context) -> output; a merge's input is the list of its inputs' batches."""


@dataclass
class Context:
    """What a forward pass keeps between layers and runs: scratch buffers, transformed filters, and
    kernels with their BatchNormalization folded in (fusion.folded_weights), by layer."""

    workspace: ops.Workspace = field(default_factory=ops.Workspace)
    folded: dict[Any, Any] = field(default_factory=dict)
    fold: bool = True
    """Fold BatchNormalization into the kernels before it (pays when the context serves many runs);
    else scale each convolution's output in place (one run: a kernel can be larger than its output)."""
    checked: tuple[Any, ...] | None = None
    """(stack_info, (batch size, budget, fuse), fusion plan) of the last run whose memory guard passed."""


def image_pads(
    padding: Padding, x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int] = (1, 1)
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit (top, bottom), (left, right) zero padding for an NHWC batch."""
    return (
        axis_pads(padding, 0, x.shape[1], kernel[0], strides[0], dilation[0]),
        axis_pads(padding, 1, x.shape[2], kernel[1], strides[1], dilation[1]),
    )


def activate(x: np.ndarray, activation: str | None) -> np.ndarray:
    return x if activation in (None, "linear") else activations.ACTIVATIONS[activation](x)


def run_conv2d(layer: catalogue.Conv2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    pads = image_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate)
    return ops.conv2d(
        x,
        weights["kernel"],
        weights.get("bias"),
        layer.strides,
        pads,
        layer.dilation_rate,
        layer.groups,
        activation=layer.activation,
        workspace=context.workspace,
    )


def run_depthwise_conv2d(layer: catalogue.DepthwiseConv2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    pads = image_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate)
    return ops.depthwise_conv2d(
        x,
        weights["kernel"],
        weights.get("bias"),
        layer.strides,
        pads,
        layer.dilation_rate,
        activation=layer.activation,
        workspace=context.workspace,
    )


def run_separable_conv2d(layer: catalogue.SeparableConv2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    pads = image_pads(layer.padding, x, layer.kernel_size, layer.strides, layer.dilation_rate)
    return ops.separable_conv2d(
        x,
        weights["depthwise_kernel"],
        weights["pointwise_kernel"],
        weights.get("bias"),
        layer.strides,
        pads,
        layer.dilation_rate,
        activation=layer.activation,
        workspace=context.workspace,
    )


def run_conv2d_transpose(layer: catalogue.Conv2DTranspose, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.conv2d_transpose(
        x, weights["kernel"], weights.get("bias"), layer.strides, layer.padding, activation=layer.activation, workspace=context.workspace
    )


def run_max_pooling2d(layer: catalogue.MaxPooling2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    pads = image_pads(layer.padding, x, layer.pool_size, layer.step)
    return ops.max_pool2d(x, layer.pool_size, layer.step, pads, workspace=context.workspace)


def run_average_pooling2d(layer: catalogue.AveragePooling2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    pads = image_pads(layer.padding, x, layer.pool_size, layer.step)
    return ops.average_pool2d(x, layer.pool_size, layer.step, pads, workspace=context.workspace)


def run_global_average_pooling2d(layer: catalogue.GlobalAveragePooling2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.global_average_pool2d(x, layer.keepdims)


def run_global_max_pooling2d(layer: catalogue.GlobalMaxPooling2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.global_max_pool2d(x, layer.keepdims)


def run_batch_normalization(layer: catalogue.BatchNormalization, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    channels = x.shape[-1]
    gamma = weights.get("gamma", np.ones(channels, np.float32))
    beta = weights.get("beta", np.zeros(channels, np.float32))
    return ops.batch_normalization(x, gamma, beta, weights["moving_mean"], weights["moving_variance"], layer.epsilon)


def run_dense(layer: catalogue.Dense, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return activate(ops.dense(x, weights["kernel"], weights.get("bias")), layer.activation)


def run_flatten(layer: catalogue.Flatten, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def run_dropout(layer: catalogue.Dropout, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return x  # inference: Dropout does nothing


def run_activation(layer: catalogue.Activation, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return activate(x, layer.activation)


def run_relu(layer: catalogue.ReLU, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return activations.relu_layer(x, layer.max_value, layer.negative_slope, layer.threshold)


def run_zero_padding2d(layer: catalogue.ZeroPadding2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.zero_padding2d(x, layer.padding)


def run_upsampling2d(layer: catalogue.UpSampling2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.upsampling2d(x, layer.size, layer.interpolation)


def run_cropping2d(layer: catalogue.Cropping2D, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.cropping2d(x, layer.cropping)


def run_reshape(layer: catalogue.Reshape, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return x.reshape(x.shape[0], *layer.target_shape)


def run_identity(layer: catalogue.Identity, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return x


def run_layer_scale(layer: catalogue.LayerScale, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return x * weights["gamma"]


def run_rescaling(layer: catalogue.Rescaling, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    return ops.rescaling(x, np.asarray(layer.scale), np.asarray(layer.offset))


def batch_axes(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """Keras axes (negative from the end) as sorted axes of an array with the batch axis."""
    return tuple(sorted(axis % ndim for axis in axes))


def run_layer_normalization(layer: catalogue.LayerNormalization, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    axes = batch_axes(layer.axis, x.ndim)
    return ops.layer_normalization(x, weights.get("gamma"), weights.get("beta"), axes, layer.epsilon, layer.rms_scaling)


def run_normalization(layer: catalogue.Normalization, x: np.ndarray, weights: Weights, context: Context) -> np.ndarray:
    kept = batch_axes(layer.axis, x.ndim)
    if layer.has_weights:
        laid_out = [x.shape[axis] if axis in kept else 1 for axis in range(x.ndim)]
        mean, variance = weights["mean"].reshape(laid_out), weights["variance"].reshape(laid_out)
    else:
        mean, variance = along_axis(layer.mean, kept, x.ndim), along_axis(layer.variance, kept, x.ndim)
    return ops.normalization(x, mean, variance, layer.invert)


def along_axis(values: float | tuple[float, ...] | None, kept: tuple[int, ...], ndim: int) -> np.ndarray:
    """Given statistics as Keras lays them out: a number everywhere, a list along the last kept axis."""
    array = np.asarray(values, np.float32)
    if array.ndim == 0:
        return array
    shape = [1] * ndim
    shape[kept[-1]] = array.size
    return array.reshape(shape)


ELEMENTWISE_MERGES: dict[type[Layer], Callable[[Sequence[np.ndarray]], np.ndarray]] = {
    catalogue.Add: merging.add,
    catalogue.Subtract: merging.subtract,
    catalogue.Multiply: merging.multiply,
    catalogue.Average: merging.average,
    catalogue.Maximum: merging.maximum,
    catalogue.Minimum: merging.minimum,
}


def run_elementwise_merge(layer: catalogue.ElementwiseMerge, xs: Sequence[np.ndarray], weights: Weights, context: Context) -> np.ndarray:
    return ELEMENTWISE_MERGES[type(layer)](xs)


def run_concatenate(layer: catalogue.Concatenate, xs: Sequence[np.ndarray], weights: Weights, context: Context) -> np.ndarray:
    return merging.concatenate(xs, layer.axis)


RUNNERS: dict[type[Layer], Runner] = {
    catalogue.Conv2D: run_conv2d,
    catalogue.DepthwiseConv2D: run_depthwise_conv2d,
    catalogue.SeparableConv2D: run_separable_conv2d,
    catalogue.Conv2DTranspose: run_conv2d_transpose,
    catalogue.MaxPooling2D: run_max_pooling2d,
    catalogue.AveragePooling2D: run_average_pooling2d,
    catalogue.GlobalAveragePooling2D: run_global_average_pooling2d,
    catalogue.GlobalMaxPooling2D: run_global_max_pooling2d,
    catalogue.BatchNormalization: run_batch_normalization,
    catalogue.Dense: run_dense,
    catalogue.Flatten: run_flatten,
    catalogue.Dropout: run_dropout,
    catalogue.Activation: run_activation,
    catalogue.ReLU: run_relu,
    catalogue.ZeroPadding2D: run_zero_padding2d,
    catalogue.UpSampling2D: run_upsampling2d,
    **{merge: run_elementwise_merge for merge in ELEMENTWISE_MERGES},
    catalogue.Concatenate: run_concatenate,
    catalogue.Rescaling: run_rescaling,
    catalogue.Normalization: run_normalization,
    catalogue.LayerNormalization: run_layer_normalization,
    catalogue.Reshape: run_reshape,
    catalogue.Cropping2D: run_cropping2d,
    catalogue.Identity: run_identity,
    catalogue.LayerScale: run_layer_scale,
}  # type: ignore[dict-item]


def scratch_bytes(info: LayerInfo, batch_size: int) -> int:
    """Temporaries a layer needs beside its output: patches (bounded by the op's chunking) and one copy."""
    output_bytes = info.activation_bytes * batch_size
    kernel_size = getattr(info.layer, "kernel_size", None)
    if kernel_size is None or info.output_shape is None or info.input_shape is None:
        return output_bytes
    out_h, out_w = info.output_shape[0], info.output_shape[1]
    patch_bytes = batch_size * out_h * out_w * kernel_size[0] * kernel_size[1] * info.input_shape[-1] * 4
    return min(patch_bytes, MAX_SCRATCH_BYTES) + output_bytes


TRANSFORMED_VALUES_PER_WEIGHT = {"winograd_4x4": 36 / 9, "winograd_2x2": 16 / 9, "im2col": 0.0}
"""A Winograd layer keeps its filters transformed to 6x6 (or 4x4) tiles for as long as the weights live."""


def cached_filter_bytes(info: LayerInfo) -> int:
    """Bytes of weights the workspace keeps transformed for this layer: Winograd's filters, or a depthwise
    kernel tiled along an output row (kh*kw*out_w*C*M values)."""
    if info.input_shape is None or not info.weights:
        return 0
    kernel = info.weights[0]
    if isinstance(info.layer, catalogue.DepthwiseConv2D) and info.output_shape is not None:
        return int(kernel.size * info.output_shape[1] * 4)
    if not isinstance(info.layer, catalogue.Conv2D):
        return 0
    algorithm = ops.choose_conv_algorithm(
        (1, *info.input_shape), kernel.shape, info.layer.strides, info.layer.dilation_rate, info.layer.groups
    )
    return int(kernel.size * 4 * TRANSFORMED_VALUES_PER_WEIGHT[algorithm])
