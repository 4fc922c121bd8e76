"""One training run of the app's Train view, as plain Python over the engine's training pieces, so
the worker in the App stays a few lines and this is testable without a terminal.

The engine's `train()` runs whole epochs to the end; the view needs to pause mid-epoch, let the
stack be edited, and go on. So the session keeps the loop's position (the epoch's batches, the
running tally, the optimiser's state) and steps with `train_step` itself. It publishes an
immutable `TrainSnapshot` at most every PUBLISH_SECONDS; the screen samples the latest one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from convtui.catalogue import GENERATED_CLASSES
from convtui.model.stack import LayerInfo, StackInfo

if TYPE_CHECKING:  # the engine (numpy) loads when training starts, not with the app's first screen
    import numpy as np

    from convtui.engine.datasets import Dataset
    from convtui.engine.losses import Loss
    from convtui.engine.optimizers import Optimizer
    from convtui.engine.train import EpochReport, Evaluation, TrainSettings
    from convtui.engine.weights import StackWeights

PUBLISH_SECONDS = 0.2
"""The worker builds a snapshot (a copy of the filters, one forward pass of the sample) at most this often."""
DEFAULT_EXAMPLES = 2000
"""Generated examples the view proposes: enough to learn from, few enough for a first epoch in seconds."""


Outcome = Literal["paused", "stopped", "finished"]
Point = tuple[float, float]


@dataclass(frozen=True)
class TrainSetup:
    """What the user chose in the Train view; Keras's fit and compile arguments of the same names."""

    data: str
    optimizer: str = "adam"
    learning_rate: float = 0.001
    batch_size: int = 32
    epochs: int = 2
    seed: int = 0
    """Seeds the generated data, the shuffling and Dropout's masks."""


def default_data(stack_info: StackInfo) -> str:
    """The generated set whose classes fill the stack's output best (digits for 10 outputs), drawn at its input size."""
    shape = stack_info.output_shape
    classes = shape[0] if shape is not None and len(shape) == 1 else 10
    fitting = [name for name, names in GENERATED_CLASSES.items() if len(names) <= classes]
    name = max(fitting, key=lambda name: len(GENERATED_CLASSES[name])) if fitting else "digits"
    return f"{name}:{DEFAULT_EXAMPLES}"


def first_filters(stack_info: StackInfo) -> tuple[LayerInfo, str] | None:
    """The first layer with a spatial kernel (kh, kw, C_in, filters) and that weight's name: the filters that learn edges first."""
    for info in stack_info.layers:
        for weight in info.weights:
            if len(weight.shape) == 4 and weight.shape[0] * weight.shape[1] > 1:
                return info, weight.name
    return None


def norm(arrays: Iterator[np.ndarray]) -> float:
    """The L2 norm of several arrays taken as one vector."""
    import numpy as np

    return float(np.sqrt(sum(float(np.vdot(array, array)) for array in arrays)))


@dataclass(frozen=True)
class GradientRow:
    """One layer's line in the gradient table."""

    name: str
    type_name: str
    gradient_norm: float
    weight_norm: float


@dataclass(frozen=True, eq=False)
class TrainSnapshot:
    """What the Train view draws, copied out of the running loop: nothing in it changes afterwards."""

    stack_info: StackInfo
    setup: TrainSetup
    learning_rate: float
    data_text: str
    class_names: tuple[str, ...]
    epoch: int
    step: int
    steps: int
    loss: float
    accuracy: float
    examples_per_second: float
    train_loss: tuple[Point, ...]
    train_accuracy: tuple[Point, ...]
    validation_loss: tuple[Point, ...]
    validation_accuracy: tuple[Point, ...]
    filters: tuple[str, np.ndarray] | None
    """The first convolution's name and kernel."""
    sample: np.ndarray
    """The fixed validation image (H, W, C) the outputs are of."""
    sample_label: str
    outputs: tuple[np.ndarray, ...]
    """Every layer's output (H, W, C) or (units,) on the sample image."""
    gradients: tuple[GradientRow, ...]
    evaluation: Evaluation | None
    """The last epoch's validation: its loss, accuracy and confusion matrix."""


class NormedOptimizer:
    """Hands `train_step`'s gradients on to the optimiser, keeping each layer's gradient norm for the view."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.norms: dict[int, float] = {}

    def step(self, weights: StackWeights, gradients: StackWeights) -> None:
        self.norms = {index: norm(iter(named.values())) for index, named in gradients.items()}
        self.optimizer.step(weights, gradients)


@dataclass
class Curves:
    """Per step the batch's loss and accuracy; per epoch the validation's, at x = epochs done."""

    train_loss: list[Point] = field(default_factory=list)
    train_accuracy: list[Point] = field(default_factory=list)
    validation_loss: list[Point] = field(default_factory=list)
    validation_accuracy: list[Point] = field(default_factory=list)


@dataclass
class TrainControl:
    """What the App asks of the loop, from its own thread: made before the data loads, so a pause or stop pressed meanwhile counts."""

    request: Literal["pause", "stop"] | None = None
    """Looked at before every step."""


class TrainSession:
    """The data, the weights being trained (writable copies), the optimiser's state and the loop's position.

    Only the worker calls `run`; between runs (paused) the App may `rebase` it onto an edited stack.
    """

    def __init__(self, setup: TrainSetup, stack_info: StackInfo, dataset: Dataset, weights: StackWeights, control: TrainControl) -> None:
        import numpy as np

        from convtui.engine.gradients.base import TrainContext
        from convtui.engine.losses import loss_for
        from convtui.engine.optimizers import make_optimizer
        from convtui.engine.train import EpochTally, writable_weights

        self.setup = setup
        self.stack_info = stack_info
        self.dataset = dataset
        self.weights = writable_weights(weights)
        self.optimizer = NormedOptimizer(make_optimizer(setup.optimizer, setup.learning_rate))
        self.loss: Loss = loss_for(stack_info)
        shuffle_rng, dropout_rng = np.random.default_rng(setup.seed).spawn(2)
        self.shuffle_rng = shuffle_rng
        self.context = TrainContext(dropout_rng)
        self.epoch = 1
        self.epoch_batches: Iterator[np.ndarray] | None = None
        self.tally = EpochTally(1)
        self.history: list[EpochReport] = []
        self.curves = Curves()
        self.control = control
        self.paused_at: float | None = None
        self.published = 0.0
        self.latest: TrainSnapshot | None = None

    @property
    def settings(self) -> TrainSettings:
        from convtui.engine.train import TrainSettings

        return TrainSettings(self.setup.epochs, self.setup.batch_size, True, self.setup.seed)

    @property
    def steps(self) -> int:
        return -(-len(self.dataset.x_train) // self.setup.batch_size)

    @property
    def finished(self) -> bool:
        return self.epoch > self.setup.epochs

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Train from where the last run left off until the epochs are done or the App asks to pause or stop."""
        from convtui.engine.train import EpochTally, batches

        if self.paused_at is not None:  # the pause does not count against examples per second
            self.tally.started += time.perf_counter() - self.paused_at
            self.paused_at = None
        while not self.finished and self.control.request is None:
            if self.epoch_batches is None:
                self.epoch_batches = batches(len(self.dataset.x_train), self.setup.batch_size, self.shuffle_rng)
                self.tally = EpochTally(self.epoch)  # started now, not when the last epoch ended
            for indices in self.epoch_batches:
                self.step(indices)
                time.sleep(0)  # hand the interpreter to the screen between steps: a tiny stack's steps are mostly Python
                if self.control.request is not None:
                    break
            else:
                self.end_epoch()
        if self.control.request == "pause":
            self.paused_at = time.perf_counter()
            self.publish()
            return "paused"
        if self.control.request == "stop":
            if self.tally.seen:
                self.end_epoch()
            return "stopped"
        return "finished"

    def step(self, indices: np.ndarray) -> None:
        from convtui.engine.train import train_step

        value, right = train_step(
            self.stack_info, self.weights, self.dataset.x_train[indices], self.dataset.y_train[indices], self.optimizer, self.loss, self.context  # type: ignore[arg-type]
        )
        self.tally.add(value, right, len(indices))
        x = self.epoch - 1 + self.tally.steps / self.steps
        self.curves.train_loss.append((x, value))
        self.curves.train_accuracy.append((x, right / len(indices)))
        if time.perf_counter() - self.published >= PUBLISH_SECONDS:
            self.publish()

    def end_epoch(self) -> None:
        """Validate (a stop validates the part of the epoch it did, as the engine's train() does) and move to the next epoch."""
        from convtui.engine.train import EpochTally

        if self.tally.seen:
            seconds = time.perf_counter() - self.tally.started
            validation = self.evaluate()
            self.history.append(self.tally.epoch_report(self.settings, validation, seconds))
            if validation is not None:
                x = self.epoch - 1 + self.tally.steps / self.steps
                self.curves.validation_loss.append((x, validation.loss))
                self.curves.validation_accuracy.append((x, validation.accuracy))
        self.epoch += 1
        self.epoch_batches = None
        self.tally = EpochTally(self.epoch)
        self.publish()

    def evaluate(self) -> Evaluation | None:
        from convtui.engine.train import evaluate

        if not len(self.dataset.x_validation):
            return None
        return evaluate(self.stack_info, self.weights, self.dataset.x_validation, self.dataset.y_validation, self.loss, self.setup.batch_size)

    # --- between runs ----------------------------------------------------------------------

    def rebase(self, stack_info: StackInfo, seed: int) -> None:
        """Go on with an edited stack: a layer keeps its weights and optimiser state while its weight
        shapes are unchanged (layers matched as OpenedWeights matches them), the others start from the seed.
        """
        from convtui.engine.datasets import load_dataset
        from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory
        from convtui.engine.losses import loss_for
        from convtui.engine.train import writable_weights
        from convtui.tui.forward_run import WeightsCache
        from convtui.tui.opened_weights import carry_weights

        check_memory(stack_info, self.setup.batch_size, DEFAULT_MAX_MEMORY)
        if self.dataset.x_train.shape[1:] != stack_info.input_shape or stack_info.output_shape != self.stack_info.output_shape:
            self.dataset = load_dataset(self.setup.data, stack_info, seed=self.setup.seed)  # first: bad data leaves the session as it was
        carried = carry_weights(self.weights, self.stack_info, stack_info)
        old_index = {id(named): index for index, named in self.weights.items()}
        moved = {new: old_index[id(named)] for new, named in carried.weights.items()}  # carry_weights hands on the same dicts
        seeded = WeightsCache().initial_weights(stack_info, seed, carried.weights)
        self.weights = {**writable_weights({index: named for index, named in seeded.items() if index not in moved}), **carried.weights}
        inner = self.optimizer.optimizer
        inner.slots = {(kind, (new, name)): value for new, old in moved.items() for (kind, (index, name)), value in inner.slots.items() if index == old}
        inner.buffers = {}  # scratch shaped like the weights before the edit: made again as needed
        self.stack_info = stack_info
        self.loss = loss_for(stack_info)

    def resume_with(self, learning_rate: float, epochs: int) -> None:
        """The learning rate and the epochs may change while paused; the optimiser's state stays."""
        self.control.request = None
        self.optimizer.optimizer.learning_rate = learning_rate
        self.setup = TrainSetup(self.setup.data, self.setup.optimizer, learning_rate, self.setup.batch_size, epochs, self.setup.seed)

    def weights_copy(self) -> StackWeights:
        """The weights as they are now, for the App to run on while training goes on with its own."""
        return {index: {name: array.copy() for name, array in named.items()} for index, named in self.weights.items()}

    # --- what the view draws ---------------------------------------------------------------

    def running_figures(self) -> tuple[int, int, int, float, float, float]:
        """Epoch, step, steps, loss, accuracy and examples per second of the epoch under way, else of the last one done."""
        tally = self.tally
        if tally.seen or not self.history:
            rate = tally.seen / max(time.perf_counter() - tally.started, 1e-9)
            mean = (tally.loss_sum / tally.seen, tally.correct / tally.seen) if tally.seen else (math.nan, math.nan)
            return min(self.epoch, self.setup.epochs), tally.steps, self.steps, *mean, rate
        last = self.history[-1]
        return last.epoch, last.steps, self.steps, last.loss, last.accuracy, last.examples_per_second

    def publish(self) -> None:
        """A fresh snapshot of the curves, the filters, the sample's outputs and the gradients."""
        from convtui.engine.forward import forward

        self.published = time.perf_counter()
        dataset = self.dataset
        found = first_filters(self.stack_info)
        filters = (found[0].name, self.weights[found[0].index][found[1]].copy()) if found is not None else None
        sample = dataset.x_validation[:1] if len(dataset.x_validation) else dataset.x_train[:1]
        labels = dataset.y_validation if len(dataset.x_validation) else dataset.y_train
        outputs = forward(self.stack_info, sample, self.weights, fuse=False).outputs  # read later, while training changes the weights
        rows = tuple(
            GradientRow(info.name, info.layer.type_name, self.optimizer.norms.get(info.index, 0.0), norm(iter(self.weights[info.index].values())))
            for info in self.stack_info.layers
            if info.index in self.weights
        )
        last = self.history[-1].validation if self.history else None
        self.latest = TrainSnapshot(
            self.stack_info,
            self.setup,
            self.optimizer.optimizer.learning_rate,
            f"{self.setup.data}: {len(dataset.x_train):,} training and {len(dataset.x_validation):,} validation images",
            dataset.class_names,
            *self.running_figures(),
            tuple(self.curves.train_loss),
            tuple(self.curves.train_accuracy),
            tuple(self.curves.validation_loss),
            tuple(self.curves.validation_accuracy),
            filters,
            sample[0],
            dataset.class_names[int(labels[0])] if len(labels) else "",
            tuple(output[0] for output in outputs),
            rows,
            last,
        )


def start_session(setup: TrainSetup, stack_info: StackInfo, weights: StackWeights, control: TrainControl) -> TrainSession:
    """Load the data (DataError when it cannot be used) and set up the run; the first snapshot is ready at once."""
    from convtui.engine.datasets import load_dataset
    from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory

    check_memory(stack_info, setup.batch_size, DEFAULT_MAX_MEMORY)  # as the engine's train() does before its first step
    dataset = load_dataset(setup.data, stack_info, seed=setup.seed)
    session = TrainSession(setup, stack_info, dataset, weights, control)
    session.publish()
    return session

