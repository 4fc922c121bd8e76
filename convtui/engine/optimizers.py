"""Optimisers with Keras 3's names, defaults and update formulas (as its torch backend runs them).

`step(weights, gradients)` updates every array that has a gradient in place, so whoever holds
the weights (the app's views, a saved file) sees the trained values; the state (momentums,
velocities) is kept per weight, keyed like the weights. `learning_rate` may be changed between
steps (the app edits it while paused). Arithmetic is float32, as Keras's variables are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from convtui.catalogue import OPTIMIZER_DEFAULT_RATES
from convtui.engine.gradients.base import batch_parts, run_parts
from convtui.engine.weights import StackWeights

WeightKey = tuple[int, str]
"""(layer index, Keras weight name): what a piece of optimiser state belongs to."""

_STATE_LOCK = threading.Lock()
"""Held while a state array is made: a big weight's ranges ask for it from several threads at once."""


@dataclass(frozen=True)
class Piece:
    """What one update works on: a whole weight, or one flat range of its values (`values`), with the state to match."""

    optimizer: Optimizer
    key: WeightKey
    weight: np.ndarray
    """The whole weight: its state is created in its shape."""
    values: slice | None = None
    """A flat range of the weight, or None for all of it (its own shape)."""

    def slot(self, kind: str) -> np.ndarray:
        return self.part(self.optimizer.slot(kind, self.key, self.weight))

    def buffer(self, kind: str) -> np.ndarray:
        return self.part(self.optimizer.buffer(kind, self.key, self.weight))

    def part(self, array: np.ndarray) -> np.ndarray:
        """This piece's values of a contiguous array shaped like the weight."""
        return array if self.values is None else array.reshape(-1)[self.values]


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
                self.update_weight((index, name), weights[index][name], np.asarray(gradient, np.float32))
        self.iterations += 1

    def update_weight(self, key: WeightKey, variable: np.ndarray, gradient: np.ndarray) -> None:
        """`update` on the whole weight, or on one flat range of its values per core when it is big (base.batch_parts).

        Each of an update's passes is elementwise, so a range's values come out as the whole's would.
        NumPy's passes run on one core (releasing the GIL): the seed net's Dense kernel (369K values,
        ~12 passes) took ~0.9 ms of a ~21 ms step at batch 32 on two cores, all on one of them.
        """
        ranges = batch_parts(variable.size, variable.size) if variable.flags.c_contiguous and gradient.flags.c_contiguous else [range(1)]
        if len(ranges) == 1:
            self.update(Piece(self, key, variable), variable, gradient)
            return
        flat_variable, flat_gradient = variable.reshape(-1), gradient.reshape(-1)

        def update_range(number: int, values: range) -> None:
            flat = slice(values.start, values.stop)
            self.update(Piece(self, key, variable, flat), flat_variable[flat], flat_gradient[flat])

        run_parts(ranges, update_range)

    def update(self, piece: Piece, variable: np.ndarray, gradient: np.ndarray) -> None:
        """The update of `variable` (the piece's values of a weight) by `gradient`, its state from `piece`."""
        raise NotImplementedError

    def slot(self, kind: str, key: WeightKey, like: np.ndarray) -> np.ndarray:
        """One piece of state (a momentum, a velocity) for one weight, zeros at first as Keras starts it."""
        return self._state(self.slots, kind, key, like, np.zeros)

    def buffer(self, kind: str, key: WeightKey, like: np.ndarray) -> np.ndarray:
        """A float32 array shaped like one weight, whose content each update overwrites."""
        return self._state(self.buffers, kind, key, like, np.empty)

    def _state(self, arrays: dict, kind: str, key: WeightKey, like: np.ndarray, make: Callable) -> np.ndarray:
        """The array of (kind, key), made once."""
        found = arrays.get((kind, key))
        if found is None:
            with _STATE_LOCK:
                found = arrays.get((kind, key))
                if found is None:
                    found = arrays[(kind, key)] = make(like.shape, np.float32)
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

    def update(self, piece: Piece, variable: np.ndarray, gradient: np.ndarray) -> None:
        scaled = np.multiply(gradient, self.rate, out=piece.buffer("step"))
        if self.momentum == 0:
            variable -= scaled
            return
        velocity = piece.slot("momentum")
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

    def update(self, piece: Piece, variable: np.ndarray, gradient: np.ndarray) -> None:
        step = np.float32(self.iterations + 1)
        alpha = self.rate * np.sqrt(1 - np.float32(self.beta_2) ** step) / (1 - np.float32(self.beta_1) ** step)
        momentum, velocity = piece.slot("momentum"), piece.slot("velocity")
        step_size, denominator = piece.buffer("step"), piece.buffer("denominator")
        momentum *= np.float32(self.beta_1)
        momentum += np.multiply(gradient, np.float32(1 - self.beta_1), out=step_size)
        velocity *= np.float32(self.beta_2)
        velocity += np.multiply(np.square(gradient, out=step_size), np.float32(1 - self.beta_2), out=step_size)
        if self.amsgrad:
            highest = piece.slot("velocity_hat")
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

    def update(self, piece: Piece, variable: np.ndarray, gradient: np.ndarray) -> None:
        variable *= np.float32(1 - self.weight_decay * self.learning_rate)
        super().update(piece, variable, gradient)


@dataclass
class RMSprop(Optimizer):
    """v = rho * v + (1 - rho) * g^2; w -= lr * g / sqrt(v + epsilon) (epsilon inside the root, unlike Adam's)."""

    learning_rate: float = OPTIMIZER_DEFAULT_RATES["rmsprop"]
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7
    centered: bool = False

    name = "rmsprop"

    def update(self, piece: Piece, variable: np.ndarray, gradient: np.ndarray) -> None:
        rho = np.float32(self.rho)
        velocity = piece.slot("velocity")
        scratch, denominator = piece.buffer("step"), piece.buffer("denominator")
        velocity *= rho
        velocity += np.multiply(np.square(gradient, out=scratch), 1 - rho, out=scratch)
        np.add(velocity, np.float32(self.epsilon), out=denominator)
        if self.centered:
            average = piece.slot("average_gradient")
            average *= rho
            average += np.multiply(gradient, 1 - rho, out=scratch)
            denominator -= np.square(average, out=scratch)
        increment = np.divide(np.multiply(gradient, self.rate, out=scratch), np.sqrt(denominator, out=denominator), out=scratch)
        if self.momentum > 0:
            momentum = piece.slot("momentum")
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
