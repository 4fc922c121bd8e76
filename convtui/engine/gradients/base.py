"""The contract between training and each layer type: a training-mode forward that keeps what
its backward needs, and a backward from the output's gradient to the input's and the weights'.

Keras 3's training semantics: BatchNormalization normalises with the batch's statistics and
returns its new moving statistics; Dropout drops with a mask drawn from the step's generator.
Gradients are keyed by Keras's weight names, like the weights themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convtui.engine import ops

Weights = dict[str, np.ndarray]
"""One layer's arrays by Keras name (kernel, bias, gamma, ...)."""


@dataclass
class TrainContext:
    """What a training step shares between layers: the dropout generator and scratch buffers."""

    rng: np.random.Generator
    workspace: ops.Workspace = field(default_factory=ops.Workspace)


@dataclass
class Forwarded:
    """A training-mode forward's result: the output, what backward needs, and new non-trainable
    values (BatchNormalization's moving_mean and moving_variance) to store after the step.
    """

    output: np.ndarray
    cache: Any = None
    updates: Weights = field(default_factory=dict)


TrainForward = Callable[[Any, Any, Weights, TrainContext], Forwarded]
"""(layer, input (a list for merges), weights, context) -> Forwarded."""

Backward = Callable[[Any, Any, np.ndarray, Weights], tuple[Any, Weights]]
"""(layer, cache, d_output, weights) -> (d_input (a list for merges), d_weights by name, trainable ones only)."""


WeightsBackward = Callable[[Any, Any, np.ndarray, Weights], Weights]
"""(layer, cache, d_output, weights) -> d_weights only: for a node whose input needs no gradient (the batch's)."""


@dataclass(frozen=True)
class LayerGradient:
    """One layer type's training forward and backward, and optionally a backward that skips the input's gradient.

    Without `weights_backward` the driver runs `backward` and drops the input's gradient.
    """

    forward: TrainForward
    backward: Backward
    weights_backward: WeightsBackward | None = None

    def weights_only(self, layer: Any, cache: Any, d_output: np.ndarray, weights: Weights) -> Weights:
        """The weights' gradients alone, by the cheaper path where the layer type has one."""
        if self.weights_backward is not None:
            return self.weights_backward(layer, cache, d_output, weights)
        return self.backward(layer, cache, d_output, weights)[1]
