"""What the engine's tests share: float32 random arrays and the relative error they are held to."""

from __future__ import annotations

import numpy as np


def random(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Standard normal float32 values of `shape`."""
    return rng.standard_normal(shape, dtype=np.float32)


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference over the largest expected magnitude (0 for empty arrays), in float64."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if not expected.size:
        return 0.0
    scale = max(float(np.abs(expected).max()), 1e-30)
    return float(np.abs(actual.astype(np.float64) - expected).max() / scale)
