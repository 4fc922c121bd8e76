"""Losses with Keras 3's formulas (torch backend) and their gradients with respect to the network's output.

Each function returns the batch-mean loss (Keras's "sum_over_batch_size" reduction: the sum of
the per-example losses divided by the batch size) and d(loss)/d(output), float32. From
probabilities, Keras renormalises each row to sum to 1 and clips it to [epsilon, 1 - epsilon]
(epsilon 1e-7) before the log; the gradient follows that exactly, zero where a value was clipped.

`loss_for(stack_info)` picks what a Keras user with integer labels compiles: a softmax at the end
means sparse categorical cross-entropy on probabilities, anything else on logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convtui.model.info import StackInfo

EPSILON = np.float32(1e-7)
"""keras.backend.epsilon(), Keras's clipping bound for probabilities."""

LossAndGradient = tuple[float, np.ndarray]


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    encoded = np.zeros((len(labels), classes), np.float32)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


def categorical_crossentropy(targets: np.ndarray, output: np.ndarray, from_logits: bool = False) -> LossAndGradient:
    """-sum(target * log p) per example, averaged over the batch; targets are (N, K) distributions (one-hot)."""
    targets = np.asarray(targets, np.float32)
    output = np.asarray(output, np.float32)
    count = np.float32(len(output))
    if from_logits:
        shifted = output - output.max(axis=-1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        loss = -(targets * log_probabilities).sum(axis=-1)
        gradient = np.exp(log_probabilities) * targets.sum(axis=-1, keepdims=True) - targets
        return float(loss.mean(dtype=np.float32)), gradient / count
    totals = output.sum(axis=-1, keepdims=True)
    normalised = output / totals
    kept = (normalised >= EPSILON) & (normalised <= 1 - EPSILON)  # torch.clip passes the gradient only inside the bounds
    clipped = np.clip(normalised, EPSILON, 1 - EPSILON)
    loss = -(targets * np.log(clipped)).sum(axis=-1)
    d_normalised = np.where(kept, -targets / clipped, 0).astype(np.float32)
    gradient = (d_normalised - (d_normalised * normalised).sum(axis=-1, keepdims=True)) / totals  # through p / sum(p)
    return float(loss.mean(dtype=np.float32)), gradient / count


def sparse_categorical_crossentropy(labels: np.ndarray, output: np.ndarray, from_logits: bool = False) -> LossAndGradient:
    """Categorical cross-entropy with integer labels (N,) instead of one-hot rows, as Keras computes it."""
    return categorical_crossentropy(one_hot(np.asarray(labels), output.shape[-1]), output, from_logits)


def mean_squared_error(targets: np.ndarray, output: np.ndarray, from_logits: bool = False) -> LossAndGradient:
    """mean((output - target)^2) over the last axis, then over the batch; `from_logits` is ignored."""
    difference = np.asarray(output, np.float32) - np.asarray(targets, np.float32)
    loss = np.square(difference).mean(axis=-1)
    return float(loss.mean(dtype=np.float32)), difference * np.float32(2.0 / difference.size)


LossFunction = Callable[[np.ndarray, np.ndarray, bool], LossAndGradient]
"""(targets, output, from_logits) -> (batch-mean loss, d loss / d output)."""

LOSSES: dict[str, LossFunction] = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "mean_squared_error": mean_squared_error,
}
TAKES_LABELS = {"sparse_categorical_crossentropy"}
"""The losses whose targets are integer labels; the others take one-hot rows."""


@dataclass(frozen=True)
class Loss:
    """A loss as training uses it: called with the output and integer labels, whatever targets it takes."""

    name: str
    """Keras's name, as given to model.compile(loss=...)."""
    from_logits: bool = False

    def __call__(self, output: np.ndarray, labels: np.ndarray) -> LossAndGradient:
        targets = labels if self.name in TAKES_LABELS else one_hot(labels, output.shape[-1])
        return LOSSES[self.name](targets, output, self.from_logits)

    @property
    def label(self) -> str:
        return self.name + (" from logits" if self.from_logits else "")


def ends_with_softmax(stack_info: StackInfo) -> bool:
    """Whether the output layer's own activation is softmax (Dense(..., activation="softmax") or Activation("softmax"))."""
    outputs = stack_info.output_layers
    return bool(outputs) and getattr(outputs[0].layer, "activation", None) == "softmax"


def loss_for(stack_info: StackInfo) -> Loss:
    """What a Keras user with integer labels compiles: sparse categorical cross-entropy, from logits unless the net ends in softmax."""
    return Loss("sparse_categorical_crossentropy", from_logits=not ends_with_softmax(stack_info))
