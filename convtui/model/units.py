"""Sizes and counts as people read them: Keras's 1024-based memory units, torchinfo's K/M/G counts."""

from __future__ import annotations

TOO_LARGE = "more than 1e300"
"""Absurd stacks (sides of 10**180 are valid arguments) give integers no float can hold."""


def readable_size(size_bytes: int) -> str:
    """Keras's memory size format: 1024-based units, two decimals."""
    for power, unit in enumerate(("B", "KB", "MB", "GB", "TB")):
        if size_bytes < 1024 ** (power + 1) or unit == "TB":
            try:
                return f"{size_bytes / 1024**power:.2f} {unit}"
            except OverflowError:
                return f"{TOO_LARGE} {unit}"
    raise AssertionError("unreachable")


def readable_count(count: int) -> str:
    """MACs as torchinfo abbreviates them: 15.47 G."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            try:
                return f"{count / scale:.2f} {unit}"
            except OverflowError:
                return f"{TOO_LARGE} {unit}"
    return str(count)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """"1 step", "2,000 steps" ("1 class", "10 classes" with `plural`): read by people, who trip over "1 steps"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
