"""Small pure functions for sliding windows, as Keras 3's operation_utils computes them.

One formula serves every padding mode: the pads are resolved first ("same" by TensorFlow's
rule, the extra pixel at the end), then out = floor((n + before + after - d*(k-1) - 1) / s) + 1.
"""

from __future__ import annotations

import math

Padding = str | tuple[int, int]
"""A convolution's padding: "valid", "same" or explicit symmetric (ph, pw)."""


def effective_kernel(kernel: int, dilation: int) -> int:
    """The span of a dilated kernel: d*(k-1) + 1."""
    return dilation * (kernel - 1) + 1


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same": total max((ceil(n/s)-1)*s + k_eff - n, 0), the odd pixel at the end."""
    total = max((math.ceil(size / stride) - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return (total // 2, total - total // 2)


def axis_pads(padding: Padding, axis: int, size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) zero padding of one axis (0 = height, 1 = width)."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        return same_pads(size, kernel, stride, dilation)
    assert isinstance(padding, tuple)
    return (padding[axis], padding[axis])


def window_output_side(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int]) -> int:
    """Number of window positions along one axis (may be <= 0 when the window does not fit)."""
    return (size + pads[0] + pads[1] - effective_kernel(kernel, dilation)) // stride + 1


def transpose_crop(kernel: int, stride: int, padding: str) -> int:
    """What Keras's Conv2DTranspose cuts from the start of its uncropped output ((n-1)*s + k) along one axis.

    The JAX padding rule (equal to TensorFlow's): max(k - s, 0) // 2 for "same", nothing for "valid".
    """
    return max(kernel - stride, 0) // 2 if padding == "same" else 0


def transpose_output_side(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras's Conv2DTranspose side: n*s for "same", n*s + max(k - s, 0) for "valid"."""
    if padding == "same":
        return size * stride
    return size * stride + max(kernel - stride, 0)
