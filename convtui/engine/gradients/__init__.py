"""Training's registry: one LayerGradient (training forward and backward) per catalogue layer type.

The families live beside each other as the catalogue's do (model/layers/); graph.py runs them over
a stack's graph. Adding a layer type adds its entry to its family's table here.
"""

from convtui.engine.gradients.activations import ACTIVATION_GRADIENTS, activation_backward
from convtui.engine.gradients.base import Forwarded, LayerGradient, TrainContext
from convtui.engine.gradients.convolution import CONVOLUTION_GRADIENTS
from convtui.engine.gradients.core import CORE_GRADIENTS
from convtui.engine.gradients.merging import MERGING_GRADIENTS
from convtui.engine.gradients.normalization import NORMALIZATION_GRADIENTS
from convtui.engine.gradients.pooling import POOLING_GRADIENTS
from convtui.engine.gradients.reshaping import RESHAPING_GRADIENTS
from convtui.model.layers import Layer

GRADIENTS: dict[type[Layer], LayerGradient] = {
    **CONVOLUTION_GRADIENTS,
    **POOLING_GRADIENTS,
    **NORMALIZATION_GRADIENTS,
    **CORE_GRADIENTS,
    **ACTIVATION_GRADIENTS,
    **RESHAPING_GRADIENTS,
    **MERGING_GRADIENTS,
}

__all__ = ["GRADIENTS", "Forwarded", "LayerGradient", "TrainContext", "activation_backward"]
