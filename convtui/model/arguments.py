"""Converters that normalise and validate layer arguments once, as Keras 3's constructors do.

Each converter takes the raw value (from TOML, a form or Python) and returns the normal form,
or raises ValueError with a sentence "expected ..., found ..." that the layer turns into a
LayerConfigError naming the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

MAX_SIZE = 1_000_000
"""Upper bound of any size argument: larger values are typos, not networks."""

ACTIVATION_NAMES = (
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "softplus",
    "swish",
    "silu",
    "gelu",
    "hard_silu",
    "hard_swish",
    "mish",
    "celu",
    "softsign",
    "exponential",
    "log_softmax",
    "log_sigmoid",
    "hard_tanh",
    "tanh_shrink",
    "hard_shrink",
    "soft_shrink",
    "sparse_sigmoid",
    "sparse_plus",
    "squareplus",
)
"""Every name keras.activations.get takes on its own, but three: "glu" halves the last axis,
"threshold" needs two more arguments (Keras fails on it as a string), and Keras 3.15's
"sparsemax" takes tau from the sum of the cumulative sums, so its rows do not sum to 1."""

KERNEL_INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "zeros",
    "ones",
    "edges",
)

Converter = Callable[[Any], Any]


def describe(value: object) -> str:
    """Name a received value the way a TOML author wrote it."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{value}" (a string)'
    if isinstance(value, dict):
        return "a table"
    return describe_plain(value)


def describe_plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe_plain(item) for item in value) + "]"
    return repr(value)


def is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(minimum: int, maximum: int = MAX_SIZE) -> Converter:
    def convert(value: Any) -> int:
        if not is_whole(value) or not minimum <= value <= maximum:
            raise ValueError(f"expected a whole number from {minimum:,} to {maximum:,}, found {describe(value)}")
        return int(value)

    return convert


positive_int = whole_number(1)


def positive_pair(value: Any) -> tuple[int, int]:
    """An int or [h, w] of positive ints, as Keras's kernel_size, strides, pool_size."""
    if is_whole(value) and 1 <= value <= MAX_SIZE:
        return (int(value), int(value))
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(is_whole(item) and 1 <= item <= MAX_SIZE for item in value)
    ):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"expected a positive whole number or [height, width] of them, found {describe(value)}")


def optional_positive_pair(value: Any) -> tuple[int, int] | None:
    return None if value is None else positive_pair(value)


def did_you_mean(value: object, options: Sequence[str]) -> str:
    """'; did you mean "he_normal"?' for a mistyped string close to one of `options` (any case), else nothing."""
    guesses = difflib.get_close_matches(value.strip().lower(), options, n=1) if isinstance(value, str) else []
    return f'; did you mean "{guesses[0]}"?' if guesses else ""


def choice(*options: str) -> Converter:
    def convert(value: Any) -> str:
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        listed = ", ".join(f'"{option}"' for option in options)
        raise ValueError(f"expected one of {listed}, found {describe(value)}{did_you_mean(value, options)}")

    return convert


window_padding = choice("valid", "same")


def conv_padding(value: Any) -> str | tuple[int, int]:
    """"valid", "same", or explicit symmetric zero padding: an int or [ph, pw] (PyTorch style)."""
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    if is_whole(value) and 0 <= value <= MAX_SIZE:
        return (int(value), int(value))
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(is_whole(item) and 0 <= item <= MAX_SIZE for item in value)
    ):
        return (int(value[0]), int(value[1]))
    raise ValueError(
        'expected "valid", "same", or explicit zero padding as a whole number or [height, width],'
        f" found {describe(value)}{did_you_mean(value, ('valid', 'same'))}"
    )


def edge_pairs(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Rows and columns added or removed at each edge, in Keras's forms (ZeroPadding2D, Cropping2D):
    int | [h, w] | [[top, bottom], [left, right]], where each of h and w may be an int or a pair.
    """

    def non_negative(item: object) -> bool:
        return is_whole(item) and 0 <= item <= MAX_SIZE  # type: ignore[operator]

    def side(item: object) -> tuple[int, int] | None:
        if non_negative(item):
            return (int(item), int(item))  # type: ignore[call-overload]
        if isinstance(item, (list, tuple)) and len(item) == 2 and all(map(non_negative, item)):
            return (int(item[0]), int(item[1]))
        return None

    both = side(value) if non_negative(value) else None
    if both is not None:
        return (both, both)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        height, width = side(value[0]), side(value[1])
        if height is not None and width is not None:
            return (height, width)
    raise ValueError(
        "expected a whole number, [height, width] or [[top, bottom], [left, right]] of non-negative"
        f" whole numbers, found {describe(value)}"
    )


def activation(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in ACTIVATION_NAMES:
        return value.lower()
    raise ValueError(unknown_activation_message(value))


def unknown_activation_message(value: object) -> str:
    """A mistyped name ("rleu") gets the one it meant, as unknown keys and types do; the whole list only when none is close."""
    hint = did_you_mean(value, ACTIVATION_NAMES)
    if hint:
        return f"expected an activation name, found {describe(value)}{hint}"
    return f"expected an activation name ({', '.join(ACTIVATION_NAMES)}), found {describe(value)}"


def required_activation(value: Any) -> str:
    name = activation(value)
    if name is None:
        raise ValueError(f"expected an activation name ({', '.join(ACTIVATION_NAMES)}), found nothing")
    return name


kernel_initializer = choice(*KERNEL_INITIALIZERS)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, found {describe(value)}")


def number_in(minimum: float, maximum: float, *, include_maximum: bool = False) -> Converter:
    """A float in [minimum, maximum) (or [minimum, maximum]); ints are accepted as floats."""

    def convert(value: Any) -> float:
        if (is_whole(value) or isinstance(value, float)) and (
            minimum <= value <= maximum if include_maximum else minimum <= value < maximum
        ):
            return float(value)
        closing = "]" if include_maximum else ")"
        raise ValueError(f"expected a number in [{minimum:g}, {maximum:g}{closing}, found {describe(value)}")

    return convert


def optional(convert: Converter) -> Converter:
    """`convert`, or None (Keras's "not given")."""
    return lambda value: None if value is None else convert(value)


def optional_number(minimum: float, maximum: float) -> Converter:
    return optional(number_in(minimum, maximum, include_maximum=True))


any_number = number_in(-1e30, 1e30, include_maximum=True)
"""A finite float (NaN and infinities are refused: they would poison every value after them)."""


def number_or_list(minimum: float = -1e30) -> Converter:
    """A number, or a list of them broadcast over the last axis (Rescaling's scale, Normalization's mean)."""
    one = number_in(minimum, 1e30, include_maximum=True)

    def convert(value: Any) -> float | tuple[float, ...]:
        try:
            return tuple(one(item) for item in value) if isinstance(value, (list, tuple)) and value else one(value)
        except ValueError:
            raise ValueError(f"expected a number or a list of numbers from {minimum:g} to 1e+30, found {describe(value)}") from None

    return convert


MAX_AXIS = 8
"""Keras axes count the batch axis; no shape convtui builds has more than a few axes."""


def keras_axis(value: Any) -> int:
    """One axis as Keras counts it (0 is the batch axis, which no layer may normalise or join)."""
    if not is_whole(value) or not -MAX_AXIS <= value <= MAX_AXIS:
        raise ValueError(f"expected a whole number from {-MAX_AXIS} to {MAX_AXIS} (an axis), found {describe(value)}")
    if value == 0:
        raise ValueError("axis 0 is the batch axis; use -1 (channels) or 1, 2, 3 (height, width, channels)")
    return int(value)


def keras_axes(value: Any) -> tuple[int, ...]:
    """An axis or a list of distinct axes, as Keras counts them; always a tuple (Keras stores a list)."""
    if is_whole(value):
        return (keras_axis(value),)
    if isinstance(value, (list, tuple)) and value:
        axes = tuple(keras_axis(item) for item in value)
        if len(set(axes)) == len(axes):
            return axes
    raise ValueError(f"expected an axis or a list of distinct axes, found {describe(value)}")


def target_shape(value: Any) -> tuple[int, ...]:
    """Reshape's target: positive sides without the batch axis, one of them -1 at most (inferred)."""
    sides_ok = isinstance(value, (list, tuple)) and value and all(is_whole(side) and (side == -1 or 1 <= side <= MAX_SIZE) for side in value)
    if not sides_ok:
        raise ValueError(f"expected a list of positive whole numbers (one may be -1), without the batch axis, found {describe(value)}")
    if list(value).count(-1) > 1:
        raise ValueError(f"only one side may be -1 (the one inferred), found {describe(value)}")
    return tuple(int(side) for side in value)


NONE_WORDS = ("none", "null")
"""How a TOML file, which has no null, writes Keras's None inside a list: "None"."""


def noise_shape(value: Any) -> tuple[int | None, ...] | None:
    """Dropout's mask shape, the batch axis first as in Keras; None (or "None") takes the input's side."""
    if value is None:
        return None
    sides = [None if item is None or (isinstance(item, str) and item.lower() in NONE_WORDS) else item for item in value] if isinstance(value, (list, tuple)) else []
    if not sides or not all(side is None or (is_whole(side) and 1 <= side <= MAX_SIZE) for side in sides):
        raise ValueError(f'expected a list of positive whole numbers or "None", batch axis first (e.g. ["None", 1, 1, 64]), found {describe(value)}')
    return tuple(None if side is None else int(side) for side in sides)


optional_seed = optional(whole_number(0, 2**32 - 1))
