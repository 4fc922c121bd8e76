"""What the engine offers by name, without numpy: the sample images, the generated data sets,
the optimisers with their default learning rates, and the cores it may run on.

The parser and the app's first screen list them (the Input view, the Train view's form) before
the engine loads; `engine.images`, `engine.datasets` and `engine.optimizers` attach their code to
these same entries, so each fact is written once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ImageShape = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class SampleEntry:
    """A built-in picture as the menus show it: its name, what it shows, and the size it is drawn at by default."""

    name: str
    description: str
    default_shape: ImageShape


SAMPLE_ENTRIES: dict[str, SampleEntry] = {
    entry.name: entry
    for entry in (
        SampleEntry("digit", "a handwritten-looking 7, white on black, like MNIST", (28, 28, 1)),
        SampleEntry("shapes", "a square, a circle and a triangle in greys on black", (64, 64, 1)),
        SampleEntry("checkerboard", "black and white squares", (32, 32, 1)),
        SampleEntry("gradient", "a ramp from black (left) to white (right)", (32, 32, 1)),
        SampleEntry("scene", "a colour picture: sky, ground, sun and a house", (224, 224, 3)),
    )
}
SAMPLE_NAMES: tuple[str, ...] = tuple(SAMPLE_ENTRIES)


def default_sample(input_shape: tuple[int, ...]) -> str:
    """The sample that suits an input: the RGB scene for three channels, the digit otherwise."""
    return "scene" if input_shape[-1] == 3 else "digit"


SHAPE_NAMES = ("circle", "square", "triangle", "cross", "ring", "star", "diamond")
STRIPE_NAMES = ("horizontal", "vertical", "diagonal \\", "diagonal /")
GENERATED_CLASSES: dict[str, tuple[str, ...]] = {
    "shapes": SHAPE_NAMES,
    "digits": tuple(str(digit) for digit in range(10)),
    "stripes": STRIPE_NAMES,
}
"""The generated data sets (`--data shapes`) and their class names, in label order."""


OPTIMIZER_DEFAULT_RATES: dict[str, float] = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}
"""Keras's optimisers by the name compile(optimizer=...) takes, with their default learning rates."""


def machine_cores() -> int:
    """The cores this process may run on (its affinity mask), at least 1."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return max(counter() or 1, 1)
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)
