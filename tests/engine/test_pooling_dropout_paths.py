"""The training fast paths of max pooling and Dropout against their general forms, exactly.

2x2 stride-2 unpadded max pooling (first_maxima_forward/backward) must pick the same first maximum
in row-major order as the tap-by-tap path (tap_max_forward/backward), ties included: inputs are
drawn from a few integers (and relu-like zeros) so that most windows hold ties. Dropout's words
must give np.where's result bit for bit, infinities, NaN and signed zeros included.
"""

from __future__ import annotations

import numpy as np
import pytest

from convtui.engine.gradients.base import StepArena, TrainContext
from convtui.engine.gradients.core import dropout_backward, dropout_forward, noise_shape_of
from convtui.engine.gradients.pooling import (
    FirstMaxima,
    first_maxima_backward,
    first_maxima_forward,
    max_pooling_forward,
    tap_max_backward,
    tap_max_forward,
    windows_of,
)
from convtui.engine.threads import use_threads
from convtui.model.layers import Dropout, MaxPooling2D

SHAPES = [(2, 6, 8, 3), (3, 7, 6, 2), (1, 5, 5, 1), (2, 2, 3, 4), (4, 3, 2, 5), (8, 64, 64, 4)]


def tied(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    """Values from {0, 0, 1, 2} (negated half the time): most windows hold a tie, many of zeros."""
    rng = np.random.default_rng(seed)
    values = np.maximum(rng.integers(-1, 3, shape), 0) * rng.choice([-1.0, 1.0], shape)
    return values.astype(dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_two_by_two_max_pooling_matches_the_tap_path_with_ties_and_odd_sizes(shape: tuple[int, ...], dtype: type, threads: int) -> None:
    use_threads(threads)
    try:
        x = tied(shape, dtype, seed=sum(shape))
        windows = windows_of(MaxPooling2D(), x)
        assert windows.halving
        fast = first_maxima_forward(x, windows.output_hw, StepArena())
        general = tap_max_forward(x, windows, StepArena())
        np.testing.assert_array_equal(fast.output, general.output)
        d_output = np.random.default_rng(1).normal(size=fast.output.shape).astype(dtype) + 5.0  # never 0: a zero shows a lost gradient
        fast_d, general_d = first_maxima_backward(fast.cache, d_output), tap_max_backward(*general.cache, d_output)
        assert fast_d.shape == x.shape and fast_d.dtype == dtype
        np.testing.assert_array_equal(fast_d, general_d)
        assert np.count_nonzero(fast_d) == fast.output.size  # one winner per window, nothing in an odd last row or column
    finally:
        use_threads(None)


def test_max_pooling_takes_the_fast_path_only_for_unpadded_two_by_two_windows() -> None:
    x = tied((2, 7, 7, 3), np.float32, seed=0)
    context = TrainContext(np.random.default_rng(0))
    assert isinstance(max_pooling_forward(MaxPooling2D(), x, {}, context).cache, FirstMaxima)
    assert isinstance(max_pooling_forward(MaxPooling2D(padding="same", strides=2), x[:, :6, :6], {}, context).cache, FirstMaxima)
    for layer in (MaxPooling2D(padding="same"), MaxPooling2D(pool_size=2, strides=1), MaxPooling2D(pool_size=3)):
        assert not isinstance(max_pooling_forward(layer, x, {}, context).cache, FirstMaxima)


@pytest.mark.parametrize(
    ("rate", "noise_shape", "dtype"),
    [(0.5, None, np.float32), (0.3, (None, 1, 1, None), np.float64), (0.25, (1, None, None, 1), np.float32), (0.7, None, np.float64), (1.0, None, np.float32)],
)
def test_dropout_words_give_where_bit_for_bit(rate: float, noise_shape: tuple | None, dtype: type) -> None:
    """The same seed draws the same mask as rng.random(shape) < keep, applied as np.where would (inf, NaN, -0.0 included)."""
    layer = Dropout(rate=rate, noise_shape=noise_shape)
    rng = np.random.default_rng(5)
    x, d_output = rng.normal(size=(8, 6, 7, 5)).astype(dtype), rng.normal(size=(8, 6, 7, 5)).astype(dtype)
    x.reshape(-1)[:4] = [np.inf, -np.inf, np.nan, -0.0]
    d_output.reshape(-1)[:4] = [np.nan, -0.0, np.inf, -1.0]
    forwarded = dropout_forward(layer, x, {}, TrainContext(np.random.default_rng(11)))
    d_input, _ = dropout_backward(layer, forwarded.cache, d_output, {})
    keep = 1.0 - rate
    mask = np.random.default_rng(11).random(noise_shape_of(layer, x)) < keep
    for ours, values in ((forwarded.output, x), (d_input, d_output)):
        expected = np.where(mask, values / keep if keep else values, 0).astype(dtype, copy=False)
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours.view(np.uint8), expected.view(np.uint8))
