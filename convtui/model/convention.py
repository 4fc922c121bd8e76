"""Display conventions: Keras (H, W, C; kernels HWIO) or PyTorch (C, H, W; kernels OIHW).

Inside, everything is Keras's layout; PyTorch's is only a way of showing shapes and weights.
"""

from __future__ import annotations

from typing import Literal

from convtui.model.layers import Shape, WeightInfo

Convention = Literal["keras", "torch"]
CONVENTIONS: tuple[Convention, ...] = ("keras", "torch")

TORCH_WEIGHT_NAMES = {
    "kernel": "weight",
    "depthwise_kernel": "depthwise.weight",
    "pointwise_kernel": "pointwise.weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}


def display_shape(shape: Shape, convention: Convention) -> Shape:
    """(H, W, C) becomes (C, H, W) in the PyTorch convention; flat shapes stay."""
    if convention == "torch" and len(shape) == 3:
        return (shape[2], shape[0], shape[1])
    return shape


def torch_weight_shape(weight: WeightInfo) -> Shape:
    shape = weight.shape
    if weight.depthwise:
        kernel_h, kernel_w, channels, multiplier = shape
        return (channels * multiplier, 1, kernel_h, kernel_w)
    if len(shape) == 4:  # HWIO (and Conv2DTranspose's HW-out-in) -> OIHW (and in-out-HW)
        return (shape[3], shape[2], shape[0], shape[1])
    if len(shape) == 2:  # Dense (in, units) -> Linear (units, in)
        return (shape[1], shape[0])
    return shape


def display_weight(weight: WeightInfo, convention: Convention) -> tuple[str, Shape]:
    """A weight's name and shape as the convention's framework calls them."""
    if convention == "torch":
        return TORCH_WEIGHT_NAMES.get(weight.name, weight.name), torch_weight_shape(weight)
    return weight.name, weight.shape


def shape_text(shape: Shape | None) -> str:
    if shape is None:
        return "-"
    return "(" + ", ".join(str(side) for side in shape) + (",)" if len(shape) == 1 else ")")
