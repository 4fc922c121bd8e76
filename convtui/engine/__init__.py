"""The NumPy engine: running a stack on images, with Keras 3's inference semantics."""

from convtui.engine.forward import DEFAULT_MAX_MEMORY, ForwardCancelled, ForwardResult, forward
from convtui.engine.images import SAMPLE_NAMES, LoadedImage, load_image
from convtui.engine.weights import StackWeights, initial_weights, load_weights

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
]
