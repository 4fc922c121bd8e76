"""The argument types: each turns an option's text into its value, or says in argparse's one line what is wrong with it.

None imports numpy: the parser is built on every start.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from convtui.catalogue import GENERATED_CLASSES

MEMORY_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30}
GENERATED_SETS = tuple(GENERATED_CLASSES)
HIGHEST_PORT = 65535
Number = TypeVar("Number", int, float)


def memory_size(text: str) -> int:
    """"2G", "512M", "1.5GiB" or plain bytes."""
    number = text.strip().lower().rstrip("bikmg")
    unit = text.strip().lower()[len(number):]
    try:
        size = int(float(number) * MEMORY_UNITS[unit])
    except (ValueError, KeyError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a memory size; write e.g. 2G, 512M or 1.5GiB") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive size; give at least one byte, e.g. 2G or 512M")
    return size


class FilterRange(NamedTuple):
    """--filters as a slice of the layer's filters, and as typed (for messages)."""

    chosen: slice
    text: str


def filter_range(text: str) -> FilterRange:
    """"A:B", ":B", "A:", "A:B:STEP" or "A" (one filter)."""
    try:
        chosen = python_slice(text) if ":" in text else one_index(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a filter range; write A:B or A:B:STEP (STEP 1 or more), e.g. 0:16 or ::2") from None
    return FilterRange(chosen, text)


def python_slice(text: str) -> slice:
    """"A:B", ":B", "A:", "::STEP" as Python slices a list; ValueError for anything else. A step is 1 or more: a
    reversed order would show or save the same layers and filters, so a negative one is more likely a slip."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3):
        raise ValueError(f"not a slice: {text!r}")
    start, stop, step = (int(part) if part else None for part in (*parts, "")[:3])
    if step is not None and step < 1:
        raise ValueError(f"not a positive step: {step}")
    return slice(start, stop, step)


def one_index(index: int) -> slice:
    """The slice that selects just `index` (-1, the last filter, ends at None, not at 0)."""
    return slice(index, None if index == -1 else index + 1)


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a sample name or a file path")
    return text


def data_source(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"is empty; give a generated set ({', '.join(GENERATED_SETS)}), a folder of class folders or an .npz file")
    return text


def host_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a host name or address, e.g. 127.0.0.1 or 0.0.0.0")
    return text.strip()


def seed_number(text: str) -> int:
    """The app's bound too, so a seed typed in one works in the other."""
    from convtui.model.preset import MAX_SEED

    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed; give a whole number from 0 to {MAX_SEED:,}")
    return seed


def input_shape_value(text: str) -> tuple[int, ...]:
    """"224,224,3": height, width, channels, within the bounds a preset's input_shape has."""
    from convtui.errors import PresetError
    from convtui.model.arguments import MAX_SIZE
    from convtui.model.stack import check_input_shape

    try:
        return check_input_shape([int(side) for side in text.split(",")])
    except (ValueError, PresetError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an input shape; write H,W,C: height, width and channels, whole numbers from 1 to {MAX_SIZE:,}, e.g. 224,224,3"
        ) from None


def number_option(convert: Callable[[str], Number], accepts: Callable[[Number], bool], complaint: str) -> Callable[[str], Number]:
    """An option's number, as `convert` reads it and `accepts` takes it; anything else is `'TEXT' complaint` in argparse's one line."""

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} {complaint}") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"{text!r} {complaint}")
        return value

    return parse


def whole_number_option(minimum: int, complaint: str) -> Callable[[str], int]:
    """An option's whole number of at least `minimum`."""
    return number_option(int, lambda value: value >= minimum, complaint)


positive_int = whole_number_option(1, "is not a positive whole number; give 1 or more")
positive_float = number_option(float, lambda value: 0 < value < math.inf, "is not a positive number; give e.g. 0.001")
split_fraction = number_option(
    float, lambda value: 0 <= value < 1, "is not a fraction from 0 (no validation) up to, not including, 1; give e.g. 0.1"
)
port_number = number_option(int, lambda port: 1 <= port <= HIGHEST_PORT, f"is not a port; give a whole number from 1 to {HIGHEST_PORT}, e.g. 8000")
depth_value = whole_number_option(1, "is not a depth; give 1 (blocks folded) or 2 (every layer)")
positive_width = whole_number_option(20, "is not a usable width; give 20 columns or more")
