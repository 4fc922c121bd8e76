"""The training loop: batches, training forward, loss, backward, optimiser step, per-epoch validation.

It reports through callbacks (`on_step`, `on_epoch`) so the CLI's progress bars and the app's
worker follow the same loop, and asks `should_stop()` between steps, so Ctrl+C or the app's stop
keeps everything trained so far. Weights are updated in place; BatchNormalization's moving
statistics are stored after every step, so the weights are always what inference should use.
Validation runs the inference forward (moving statistics, no dropout), as Keras's fit does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from convtui.engine.allocator import keep_freed_memory
from convtui.engine.datasets import Dataset
from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory, forward
from convtui.engine.gradients.base import TrainContext
from convtui.engine.gradients.graph import moving_updates, training_backward, training_forward
from convtui.engine.losses import Loss, loss_for
from convtui.engine.optimizers import Optimizer
from convtui.engine.runners import Context
from convtui.engine.weights import StackWeights
from convtui.model.info import StackInfo

@dataclass(frozen=True)
class TrainSettings:
    """How to go through the data; Keras's fit arguments of the same names."""

    epochs: int = 1
    batch_size: int = 32
    shuffle: bool = True
    seed: int = 0
    """Seeds the shuffling and Dropout's masks (two separate streams)."""


@dataclass(frozen=True)
class StepReport:
    """After each step: the epoch's running means so far (weighted by batch size, as Keras's progress bar shows)."""

    epoch: int
    """Counted from 1."""
    epochs: int
    step: int
    """Steps done in this epoch, counted from 1."""
    steps: int
    loss: float
    accuracy: float
    examples_per_second: float


@dataclass(frozen=True)
class Evaluation:
    """An inference pass over a set: mean loss, accuracy and the confusion matrix (rows: true class, columns: predicted)."""

    loss: float
    accuracy: float
    confusion: np.ndarray

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Correct / examples of each true class; NaN for a class with no examples."""
        totals = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / totals


@dataclass(frozen=True)
class EpochReport:
    """After each epoch (or the part of it done before a stop): training means and the validation's figures."""

    epoch: int
    epochs: int
    steps: int
    """Steps done in this epoch."""
    loss: float
    accuracy: float
    examples_per_second: float
    seconds: float
    """Training time, validation excluded."""
    validation: Evaluation | None


@dataclass
class TrainResult:
    """The trained weights (the same arrays, updated in place), the history, and whether a stop cut it short."""

    weights: StackWeights
    history: list[EpochReport] = field(default_factory=list)
    stopped: bool = False
    steps: int = 0
    final: Evaluation | None = None
    """The last evaluation: on the validation set, or on the training set when there is none."""


def writable_weights(weights: StackWeights) -> StackWeights:
    """Float32 copies the optimiser may update in place: the caller's arrays (perhaps read-only, loaded from a file) stay as they were."""
    return {index: {name: np.array(array, np.float32) for name, array in named.items()} for index, named in weights.items()}


def batches(count: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches: a fresh permutation per epoch from `rng`, or the data's order (batch k is k*B to k*B+B-1); the last may be short."""
    order = rng.permutation(count) if rng is not None else np.arange(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def store_updates(weights: StackWeights, updates: StackWeights) -> None:
    """Moving statistics written into the existing arrays, so anyone holding them sees the new values."""
    for index, named in updates.items():
        for name, value in named.items():
            weights[index][name][...] = value


def train_step(
    stack_info: StackInfo, weights: StackWeights, images: np.ndarray, labels: np.ndarray, optimizer: Optimizer, loss: Loss, context: TrainContext
) -> tuple[float, int]:
    """One batch: forward in training mode, loss, backward, optimiser step, moving statistics; the loss and how many were right.

    The layers' outputs and gradients come from the context's arena and go back to it at the end,
    for the next step to reuse: nothing of the pass outlives the step. The step's other arrays (the
    activations' derivatives, each part's gradients, the optimiser's temporaries) reuse the last
    step's pages (allocator.py) whoever calls it: without that, the seed net's step at batch 32 took
    ~2.7 ms of page faults (of ~37 ms on one core), most in the ReLUs' derivatives.
    """
    keep_freed_memory()
    try:
        training_pass = training_forward(stack_info, images, weights, context)
        output = training_pass.output
        value, d_output = loss(output, labels)
        gradients = training_backward(training_pass, d_output)
        updates = moving_updates(training_pass)
        optimizer.step(weights, gradients)
        store_updates(weights, updates)
        return value, int(np.count_nonzero(output.argmax(axis=-1) == labels))
    finally:
        context.arena.release()


def output_index(stack_info: StackInfo) -> int:
    return stack_info.output_layers[0].index


def evaluate(stack_info: StackInfo, weights: StackWeights, images: np.ndarray, labels: np.ndarray, loss: Loss, batch_size: int) -> Evaluation:
    """Inference (moving statistics, no dropout) over a whole set, a batch at a time (the memory guard passed for that
    size before training); a fresh context, as in-place updates make cached transformed filters stale."""
    classes = stack_info.output_layers[0].output_shape[-1]
    context = Context()
    confusion = np.zeros((classes, classes), np.int64)
    total = 0.0
    for start in range(0, len(images), batch_size):
        chunk, truth = images[start : start + batch_size], labels[start : start + batch_size]
        output = forward(stack_info, chunk, weights, context=context).outputs[output_index(stack_info)]
        total += loss(output, truth)[0] * len(chunk)
        np.add.at(confusion, (truth, output.argmax(axis=-1)), 1)
    count = max(1, len(images))
    return Evaluation(total / count, float(np.trace(confusion)) / count, confusion)


@dataclass
class EpochTally:
    """Running sums over one epoch's steps."""

    epoch: int
    started: float = field(default_factory=time.perf_counter)
    steps: int = 0
    seen: int = 0
    loss_sum: float = 0.0
    correct: int = 0

    def add(self, loss: float, right: int, size: int) -> None:
        self.steps += 1
        self.seen += size
        self.loss_sum += loss * size
        self.correct += right

    def step_report(self, settings: TrainSettings, steps: int) -> StepReport:
        rate = self.seen / max(time.perf_counter() - self.started, 1e-9)
        return StepReport(self.epoch, settings.epochs, self.steps, steps, self.loss_sum / self.seen, self.correct / self.seen, rate)

    def epoch_report(self, settings: TrainSettings, validation: Evaluation | None, seconds: float) -> EpochReport:
        return EpochReport(
            self.epoch, settings.epochs, self.steps, self.loss_sum / self.seen, self.correct / self.seen, self.seen / seconds, seconds, validation
        )


def train(
    stack_info: StackInfo,
    dataset: Dataset,
    weights: StackWeights,
    optimizer: Optimizer,
    settings: TrainSettings = TrainSettings(),
    *,
    loss: Loss | None = None,
    on_step: Callable[[StepReport], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train `weights` (updated in place) on the dataset; the loss defaults to what Keras users compile for this output.

    A stop ends the epoch early: its report (and validation) covers the steps it did.
    """
    check_memory(stack_info, settings.batch_size, DEFAULT_MAX_MEMORY)  # the inference forward's guard, before the first step
    loss = loss or loss_for(stack_info)
    shuffle_rng, dropout_rng = np.random.default_rng(settings.seed).spawn(2)
    context = TrainContext(dropout_rng)
    result = TrainResult(weights)
    count = len(dataset.x_train)
    steps = -(-count // settings.batch_size)
    for epoch in range(1, settings.epochs + 1):
        tally = EpochTally(epoch)
        for indices in batches(count, settings.batch_size, shuffle_rng if settings.shuffle else None):
            if should_stop is not None and should_stop():
                result.stopped = True
                break
            value, right = train_step(stack_info, weights, dataset.x_train[indices], dataset.y_train[indices], optimizer, loss, context)
            tally.add(value, right, len(indices))
            result.steps += 1
            if on_step is not None:
                on_step(tally.step_report(settings, steps))
        if tally.seen == 0:
            break
        seconds = time.perf_counter() - tally.started
        has_validation = len(dataset.x_validation) > 0
        validation = evaluate(stack_info, weights, dataset.x_validation, dataset.y_validation, loss, settings.batch_size) if has_validation else None
        result.history.append(tally.epoch_report(settings, validation, seconds))
        if on_epoch is not None:
            on_epoch(result.history[-1])
        if result.stopped:
            break
    last = result.history[-1].validation if result.history else None
    result.final = last or evaluate(stack_info, weights, dataset.x_train, dataset.y_train, loss, settings.batch_size)
    return result
