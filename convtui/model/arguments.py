"""Converters that normalise and validate layer arguments once, as Keras 3's constructors do.

Each converter takes the raw value (from TOML, a form or Python) and returns the normal form,
or raises ValueError with a sentence "expected ..., found ..." that the layer turns into a
LayerConfigError naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
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
)

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


def choice(*options: str) -> Converter:
    def convert(value: Any) -> str:
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        listed = ", ".join(f'"{option}"' for option in options)
        raise ValueError(f"expected one of {listed}, found {describe(value)}")

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
        f" found {describe(value)}"
    )


def zero_padding(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D's padding: int | [ph, pw] | [[top, bottom], [left, right]]."""

    def non_negative(item: object) -> bool:
        return is_whole(item) and 0 <= item <= MAX_SIZE  # type: ignore[operator]

    if non_negative(value):
        return ((value, value), (value, value))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        if all(non_negative(item) for item in value):
            return ((value[0], value[0]), (value[1], value[1]))
        if all(isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(non_negative, pair)) for pair in value):
            return ((value[0][0], value[0][1]), (value[1][0], value[1][1]))
    raise ValueError(
        "expected a whole number, [height, width] or [[top, bottom], [left, right]] of non-negative"
        f" whole numbers, found {describe(value)}"
    )


def activation(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in ACTIVATION_NAMES:
        return value.lower()
    raise ValueError(f"expected an activation name ({', '.join(ACTIVATION_NAMES)}), found {describe(value)}")


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


def optional_number(minimum: float, maximum: float) -> Converter:
    inner = number_in(minimum, maximum, include_maximum=True)

    def convert(value: Any) -> float | None:
        return None if value is None else inner(value)

    return convert
