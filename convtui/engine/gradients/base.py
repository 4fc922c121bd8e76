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

from convtui.engine import ops, threads

Weights = dict[str, np.ndarray]
"""One layer's arrays by Keras name (kernel, bias, gamma, ...)."""


PARALLEL_MIN_VALUES = 1 << 16
"""Below this many values a layer's backward runs on one thread: splitting costs ~0.1 ms (waking the
pool, BLAS's thread count set twice), about what one core spends on 64K values' elementwise passes."""


def batch_parts(batch: int, values: int) -> list[range]:
    """The batch cut into one contiguous range of images per engine thread, or one range when the work is too small to split.

    The training backward runs each range's products, copies and elementwise passes on its own
    core (BLAS on one thread meanwhile): the elementwise passes (activation masks, col2im's adds,
    pooling's scatter) are otherwise single-core, and small products thread badly in OpenBLAS.
    """
    count = threads.thread_count()
    if count <= 1 or batch < 2 or values < PARALLEL_MIN_VALUES:
        return [range(batch)]
    return threads.split_evenly(batch, count)


def run_parts(parts: list[range], task: Callable[[int, range], object]) -> None:
    """task(part number, images) for every part, in parallel when there are several."""
    if len(parts) == 1:
        task(0, parts[0])
        return
    threads.run_parallel([lambda number=number, part=part: task(number, part) for number, part in enumerate(parts)])


class StepArena:
    """Arrays for a training step's layer outputs and gradients, handed out per step and taken back at its end.

    The next step asks for the same shapes in the same order and gets the same arrays: no fresh
    pages (a batch of 128 faulted ~22 MB of new pages per step without it). Whoever calls
    `release` promises that nothing taken since the last release is used again; without it every
    `take` is a fresh array, as before.
    """

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], str], list[np.ndarray]] = {}
        self._taken: list[tuple[tuple[tuple[int, ...], str], np.ndarray]] = []

    def take(self, shape: tuple[int, ...], dtype: np.dtype | type = np.float32) -> np.ndarray:
        """An uninitialised array of `shape`, held until the next `release`."""
        key = (tuple(shape), np.dtype(dtype).str)
        free = self._free.get(key)
        array = free.pop() if free else np.empty(shape, dtype)
        self._taken.append((key, array))
        return array

    def release(self) -> None:
        """Everything taken since the last release is free for the next step; arrays this step did not ask for
        (a stack edited between steps) are dropped, so the arena holds one step's arrays at most."""
        self._free = {}
        for key, array in reversed(self._taken):  # pop() then hands them out in the order they were taken
            self._free.setdefault(key, []).append(array)
        self._taken.clear()

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for arrays in self._free.values() for array in arrays) + sum(array.nbytes for _, array in self._taken)


@dataclass
class TrainContext:
    """What a training step shares between layers: the dropout generator, scratch buffers and the step's arrays."""

    rng: np.random.Generator
    workspace: ops.Workspace = field(default_factory=lambda: ops.Workspace(keep_derived=False))
    """Keeps no derived arrays (tiled depthwise kernels, bias runs): the optimiser updates the weights in place."""
    arena: StepArena = field(default_factory=StepArena)


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
