"""Keras 3's activations (keras/src/activations/activations.py) as float32 NumPy functions, by name.

Each follows Keras's definition with Keras 3's defaults (leaky_relu's slope 0.2, gelu exact,
hard_sigmoid relu6(x + 3) / 6); where Keras's own formula overflows or cancels in float32, the
same function is written in a form that does not (and says so). `relu_layer` is the ReLU layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.polynomial import chebyshev

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
LEAKY_RELU_SLOPE = 0.2  # Keras 3's default negative_slope
SHRINK_THRESHOLD = 0.5  # Keras's default threshold of hard_shrink and soft_shrink
SQUAREPLUS_B = 4.0  # Keras's default b
GELU_TANH_COEFFICIENT = 0.044715

# erfc(z) = t * exp(-z^2 + P(2t - 1)), t = 1 / (1 + z/2), z >= 0: a Chebyshev fit of P (degree 13)
# to math.erfc, relative error under 2e-9 for every z (tested against math.erfc).
_ERFC_CHEBYSHEV = (
    -0.651326859814119,
    0.6419697922215084,
    0.019476473286390503,
    -0.009561514797289452,
    -0.0009465954085689002,
    0.00036683961865527636,
    4.252317722223143e-05,
    -2.027844203798187e-05,
    -1.624381633657739e-06,
    1.3036797528248423e-06,
    1.567414134868516e-08,
    -8.534521149686786e-08,
    6.666709709478362e-09,
    4.925133373641798e-09,
)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function in float64 (NumPy has none), accurate to a few 1e-9 relative."""
    z = np.abs(np.asarray(x, np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    positive = t * np.exp(-z * z + chebyshev.chebval(2.0 * t - 1.0, _ERFC_CHEBYSHEV))
    return np.where(np.asarray(x) >= 0, positive, 2.0 - positive)


INFINITY = np.float32(np.inf)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) as np.clip(x, 0, inf): the same values (NaN kept), and NumPy's clip loop is
    vectorised where maximum against a scalar is not (3x faster measured, NumPy 2.4)."""
    return np.clip(x, np.float32(0), INFINITY)


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, np.float32(0), np.float32(6))


def leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(LEAKY_RELU_SLOPE) * x)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x for x >= 0, alpha * (exp(x) - 1) below; expm1 sees only x <= 0, so nothing overflows."""
    return np.where(x >= 0, x, np.float32(alpha) * np.expm1(np.minimum(x, np.float32(0))))


def selu(x: np.ndarray) -> np.ndarray:
    return np.float32(SELU_SCALE) * elu(x, SELU_ALPHA)


def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1): elu made smooth at 0 for any alpha."""
    return relu(x) + np.float32(alpha) * np.expm1(np.minimum(x, np.float32(0)) / np.float32(alpha))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), written with exp(-|x|) so no exponential overflows."""
    decay = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3: relu6(x + 3) / 6 (Keras 2's was 0.2x + 0.5)."""
    return relu6(x + np.float32(3)) / np.float32(6)


def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """0 up to -1, 1 from 1, the straight line (x + 1) / 2 between."""
    return np.clip((x + np.float32(1)) * np.float32(0.5), np.float32(0), np.float32(1))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -softplus(-x)


def hard_tanh(x: np.ndarray) -> np.ndarray:
    return np.clip(x, np.float32(-1), np.float32(1))


def tanh_shrink(x: np.ndarray) -> np.ndarray:
    return x - np.tanh(x)


def hard_shrink(x: np.ndarray) -> np.ndarray:
    """x where |x| > 0.5, else 0."""
    return np.where(np.abs(x) > np.float32(SHRINK_THRESHOLD), x, np.float32(0))


def soft_shrink(x: np.ndarray) -> np.ndarray:
    """x moved 0.5 towards 0, and 0 within 0.5 of it."""
    threshold = np.float32(SHRINK_THRESHOLD)
    return np.sign(x) * np.maximum(np.abs(x) - threshold, np.float32(0))


def softmax(x: np.ndarray) -> np.ndarray:
    """On the last axis, shifted by the maximum so exp never overflows."""
    exponentials = np.exp(x - x.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """x - logsumexp(x) on the last axis, shifted by the maximum as Keras does."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, np.float32(0))


def softsign(x: np.ndarray) -> np.ndarray:
    return x / (np.float32(1) + np.abs(x))


def squareplus(x: np.ndarray) -> np.ndarray:
    """(x + sqrt(x^2 + 4)) / 2, as 2 / (sqrt(x^2 + 4) - x) below 0: Keras's form cancels to 0 there in float32."""
    root = np.hypot(x, np.float32(math.sqrt(SQUAREPLUS_B)))
    return np.where(x >= 0, (x + root) / np.float32(2), np.float32(2) / (root - np.minimum(x, np.float32(0))))


def sparse_plus(x: np.ndarray) -> np.ndarray:
    """0 up to -1, x from 1, the parabola (x + 1)^2 / 4 between."""
    inside = np.clip(x, np.float32(-1), np.float32(1)) + np.float32(1)
    return np.where(x >= 1, x, inside * inside / np.float32(4))


def exponential(x: np.ndarray) -> np.ndarray:
    """exp(x); past 88.7 it is inf in float32, as in Keras."""
    with np.errstate(over="ignore"):
        return np.exp(x)


def swish(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


def hard_silu(x: np.ndarray) -> np.ndarray:
    """x * hard_sigmoid(x): MobileNetV3's hard swish."""
    return x * hard_sigmoid(x)


def mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(softplus(x))


def gelu(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """x * Phi(x): exact, x/2 * erfc(-x / sqrt 2), as Keras 3's "gelu" string; or the tanh form of
    keras.ops.gelu(x) (approximate=True, its default there).
    """
    if approximate:
        inner = np.float32(math.sqrt(2 / math.pi)) * (x + np.float32(GELU_TANH_COEFFICIENT) * x * x * x)
        return np.float32(0.5) * x * (np.float32(1) + np.tanh(inner))
    return (0.5 * x * erfc(-np.asarray(x, np.float64) / math.sqrt(2.0))).astype(np.float32)


def linear(x: np.ndarray) -> np.ndarray:
    return x


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": np.tanh,
    "softmax": softmax,
    "softplus": softplus,
    "swish": swish,
    "silu": swish,
    "gelu": gelu,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "mish": mish,
    "celu": celu,
    "softsign": softsign,
    "exponential": exponential,
    "log_softmax": log_softmax,
    "log_sigmoid": log_sigmoid,
    "hard_tanh": hard_tanh,
    "tanh_shrink": tanh_shrink,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "sparse_sigmoid": sparse_sigmoid,
    "sparse_plus": sparse_plus,
    "squareplus": squareplus,
}


def relu_layer(x: np.ndarray, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0) -> np.ndarray:
    """Keras's ReLU layer: x above `threshold` (capped at `max_value`), negative_slope*(x - threshold) below.

    Mirrors Keras 3's relu static_call step by step, including its leaky_relu shortcut.
    """
    slope, limit = np.float32(negative_slope), np.float32(threshold)
    if negative_slope == 0 and threshold == 0:  # ReLU and ReLU6, the common case: one clip (see relu)
        return np.clip(x, np.float32(0), INFINITY if max_value is None else np.float32(max_value)).astype(np.float32, copy=False)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return np.maximum(x, slope * x)
    kept = np.where(x > limit, x, np.float32(0)) if threshold != 0 else relu(x)
    if max_value is not None:
        kept = np.clip(kept, np.float32(0), np.float32(max_value))
    if negative_slope != 0:
        kept = kept - slope * relu(limit - x)
    return kept.astype(np.float32, copy=False)
