"""The NumPy engine: running a stack on images, with Keras 3's inference semantics.

Importing any part of it brings numpy, the forward pass and Pillow: the app's first screen and
the commands that need no engine import nothing from here (tests/unit/test_startup_imports.py);
what the first screen lists by name (samples, generated data sets) is in convtui.catalogue.
"""

from convtui.engine.forward import DEFAULT_MAX_MEMORY, ForwardCancelled, ForwardResult, forward
from convtui.engine.images import SAMPLE_NAMES, LoadedImage, load_image
from convtui.engine.weights import StackWeights, initial_weights, load_weights, preset_weights

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "ForwardCancelled",
    "ForwardResult",
    "LoadedImage",
    "SAMPLE_NAMES",
    "StackWeights",
    "forward",
    "initial_weights",
    "load_image",
    "load_weights",
    "preset_weights",
]
