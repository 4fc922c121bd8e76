"""Optimisers with Keras 3's names, defaults and update formulas (as its torch backend runs them).

`step(weights, gradients)` updates every array that has a gradient in place, so whoever holds
the weights (the app's views, a saved file) sees the trained values; the state (momentums,
velocities) is kept per weight, keyed like the weights. `learning_rate` may be changed between
steps (the app edits it while paused). Arithmetic is float32, as Keras's variables are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from convtui.catalogue import OPTIMIZER_DEFAULT_RATES
from convtui.engine.weights import StackWeights

WeightKey = tuple[int, str]
"""(layer index, Keras weight name): what a piece of optimiser state belongs to."""


@dataclass
class Optimizer:
    """What every optimiser shares: the learning rate, the step count and per-weight state."""

    learning_rate: float
    iterations: int = field(default=0, init=False)
    """Steps taken so far (Keras's optimizer.iterations)."""
    slots: dict[tuple[str, WeightKey], np.ndarray] = field(default_factory=dict, init=False, repr=False)
    buffers: dict[tuple[str, WeightKey], np.ndarray] = field(default_factory=dict, init=False, repr=False)
    """Scratch for an update's intermediate values, kept so steps after the first allocate nothing."""

    name = ""

    def step(self, weights: StackWeights, gradients: StackWeights) -> None:
        """One update of every weight that has a gradient, then the step count, as Keras's apply()."""
        for index, named in gradients.items():
            for name, gradient in named.items():
                self.update((index, name), weights[index][name], np.asarray(gradient, np.float32))
        self.iterations += 1

    def update(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        raise NotImplementedError

    def slot(self, kind: str, key: WeightKey, like: np.ndarray) -> np.ndarray:
        """One piece of state (a momentum, a velocity) for one weight, zeros at first as Keras starts it."""
        found = self.slots.get((kind, key))
        if found is None:
            found = self.slots[(kind, key)] = np.zeros_like(like, dtype=np.float32)
        return found

    def buffer(self, kind: str, key: WeightKey, like: np.ndarray) -> np.ndarray:
        """A float32 array shaped like one weight, whose content each update overwrites."""
        found = self.buffers.get((kind, key))
        if found is None:
            found = self.buffers[(kind, key)] = np.empty_like(like, dtype=np.float32)
        return found

    @property
    def rate(self) -> np.float32:
        return np.float32(self.learning_rate)


@dataclass
class SGD(Optimizer):
    """m = momentum * m - lr * g; w += m (Nesterov: w += momentum * m - lr * g); plain w -= lr * g without momentum."""

    learning_rate: float = OPTIMIZER_DEFAULT_RATES["sgd"]
    momentum: float = 0.0
    nesterov: bool = False

    name = "sgd"

    def update(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        scaled = np.multiply(gradient, self.rate, out=self.buffer("step", key, variable))
        if self.momentum == 0:
            variable -= scaled
            return
        velocity = self.slot("momentum", key, variable)
        velocity *= np.float32(self.momentum)
        velocity -= scaled
        if self.nesterov:
            variable -= scaled
            variable += np.multiply(velocity, np.float32(self.momentum), out=scaled)
        else:
            variable += velocity


@dataclass
class Adam(Optimizer):
    """Keras's Adam: the bias corrections folded into the step size, epsilon added outside the square root."""

    learning_rate: float = OPTIMIZER_DEFAULT_RATES["adam"]
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    amsgrad: bool = False

    name = "adam"

    def update(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        step = np.float32(self.iterations + 1)
        alpha = self.rate * np.sqrt(1 - np.float32(self.beta_2) ** step) / (1 - np.float32(self.beta_1) ** step)
        momentum = self.slot("momentum", key, variable)
        velocity = self.slot("velocity", key, variable)
        step_size, denominator = self.buffer("step", key, variable), self.buffer("denominator", key, variable)
        momentum *= np.float32(self.beta_1)
        momentum += np.multiply(gradient, np.float32(1 - self.beta_1), out=step_size)
        velocity *= np.float32(self.beta_2)
        velocity += np.multiply(np.square(gradient, out=step_size), np.float32(1 - self.beta_2), out=step_size)
        if self.amsgrad:
            highest = self.slot("velocity_hat", key, variable)
            np.maximum(highest, velocity, out=highest)
            velocity = highest
        np.add(np.sqrt(velocity, out=denominator), np.float32(self.epsilon), out=denominator)
        variable -= np.divide(np.multiply(momentum, alpha, out=step_size), denominator, out=step_size)


@dataclass
class AdamW(Adam):
    """Adam after a decoupled weight decay, applied first: w *= 1 - weight_decay * lr."""

    learning_rate: float = OPTIMIZER_DEFAULT_RATES["adamw"]
    weight_decay: float = 0.004

    name = "adamw"

    def update(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        variable *= np.float32(1 - self.weight_decay * self.learning_rate)
        super().update(key, variable, gradient)


@dataclass
class RMSprop(Optimizer):
    """v = rho * v + (1 - rho) * g^2; w -= lr * g / sqrt(v + epsilon) (epsilon inside the root, unlike Adam's)."""

    learning_rate: float = OPTIMIZER_DEFAULT_RATES["rmsprop"]
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7
    centered: bool = False

    name = "rmsprop"

    def update(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        rho = np.float32(self.rho)
        velocity = self.slot("velocity", key, variable)
        scratch, denominator = self.buffer("step", key, variable), self.buffer("denominator", key, variable)
        velocity *= rho
        velocity += np.multiply(np.square(gradient, out=scratch), 1 - rho, out=scratch)
        np.add(velocity, np.float32(self.epsilon), out=denominator)
        if self.centered:
            average = self.slot("average_gradient", key, variable)
            average *= rho
            average += np.multiply(gradient, 1 - rho, out=scratch)
            denominator -= np.square(average, out=scratch)
        increment = np.divide(np.multiply(gradient, self.rate, out=scratch), np.sqrt(denominator, out=denominator), out=scratch)
        if self.momentum > 0:
            momentum = self.slot("momentum", key, variable)
            momentum *= np.float32(self.momentum)
            momentum += increment
            increment = momentum
        variable -= increment


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {kind.name: kind for kind in (SGD, Adam, AdamW, RMSprop)}
"""By the lower-case name Keras accepts in compile(optimizer=...)."""


def make_optimizer(name: str, learning_rate: float | None = None) -> Optimizer:
    """An optimiser by Keras's name with Keras's defaults, the learning rate replaced when given."""
    kind = OPTIMIZERS[name]
    return kind() if learning_rate is None else kind(learning_rate=learning_rate)
