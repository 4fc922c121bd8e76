"""Training never reads an array derived from a weight before the optimiser changed it in place.

The inference workspace keeps arrays made from weights (Winograd filters, depthwise kernels tiled
along a row, bias runs) by the weight array's identity; an optimiser updates the same arrays, so
a step that reused them would train the layer as it was a step before.
"""

from __future__ import annotations

import numpy as np
import pytest

from convtui.engine.gradients.base import TrainContext
from convtui.engine.losses import loss_for
from convtui.engine.optimizers import SGD
from convtui.engine.train import train_step, writable_weights
from convtui.engine.weights import initial_weights
from convtui.model import Stack
from convtui.model import layers as catalogue

STACKS = {
    "depthwise": (catalogue.DepthwiseConv2D(kernel_size=3, padding="same"), catalogue.Conv2D(filters=4, kernel_size=1)),
    "separable": (catalogue.SeparableConv2D(filters=4, kernel_size=3),),
    "transpose": (catalogue.Conv2DTranspose(filters=4, kernel_size=2, strides=2),),
    "winograd": (catalogue.Conv2D(filters=8, kernel_size=3, padding="same"), catalogue.Conv2D(filters=8, kernel_size=3)),
}


def losses(layers: tuple, fresh_workspace_each_step: bool) -> list[float]:
    info = Stack((8, 8, 3), (*layers, catalogue.Flatten(), catalogue.Dense(units=3, activation="softmax"))).infer()
    rng = np.random.default_rng(0)
    images, labels = rng.random((4, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, 4)
    weights, optimizer, loss = writable_weights(initial_weights(info, seed=0)), SGD(learning_rate=0.05), loss_for(info)
    context = TrainContext(np.random.default_rng(0))
    found = []
    for _ in range(4):
        if fresh_workspace_each_step:
            context = TrainContext(np.random.default_rng(0), workspace=type(context.workspace)(keep_derived=False))
        found.append(train_step(info, weights, images, labels, optimizer, loss, context)[0])
    return found


@pytest.mark.parametrize("name", sorted(STACKS))
def test_steps_with_one_context_equal_steps_with_a_fresh_workspace_each(name: str) -> None:
    kept, fresh = losses(STACKS[name], False), losses(STACKS[name], True)
    assert kept == fresh
    assert fresh[-1] < fresh[0]  # it trains: a stale weight would show as a difference above
