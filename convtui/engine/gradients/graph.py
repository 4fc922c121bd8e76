"""Training over the graph: every node's training forward in file order (a topological order), then
the gradients back in reverse order, a node used by several others receiving the sum of theirs.

Only the nodes the output depends on run, as in the Keras model of the same graph (a branch that
leads nowhere has no weights there, and its BatchNormalization would move no statistics). One
output is trained; a stack with several is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convtui.engine.gradients import GRADIENTS
from convtui.engine.gradients.base import Forwarded, TrainContext
from convtui.engine.weights import StackWeights
from convtui.errors import EngineError
from convtui.model.graph import INPUT_NAME
from convtui.model.stack import LayerInfo, StackInfo


@dataclass(frozen=True)
class TrainingPass:
    """One training forward: the batch, the weights it ran on and each node's Forwarded, by name in file order."""

    stack_info: StackInfo
    batch: np.ndarray
    weights: StackWeights
    forwarded: dict[str, Forwarded]

    @property
    def output_info(self) -> LayerInfo:
        return self.stack_info.output_layers[0]

    @property
    def output(self) -> np.ndarray:
        return self.forwarded[self.output_info.name].output


def trainable_output(stack_info: StackInfo) -> LayerInfo:
    """The one output a loss is taken on; an invalid stack or one with several outputs cannot train."""
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise EngineError(invalid.error or "cannot apply", layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    if not stack_info.layers:
        raise EngineError("the stack has no layers to train; add one")
    outputs = stack_info.output_layers
    if len(outputs) != 1:
        names = ", ".join(info.name for info in outputs)
        raise EngineError(f"training takes one output and this stack has {len(outputs)} ({names}); keep one in outputs")
    return outputs[0]


def needed_names(stack_info: StackInfo, output: LayerInfo) -> set[str]:
    """The nodes the output depends on (itself included), found from it back along the inputs."""
    by_name = {info.name: info for info in stack_info.layers}
    needed, waiting = set(), [output.name]
    while waiting:
        name = waiting.pop()
        if name not in needed and name != INPUT_NAME:
            needed.add(name)
            waiting.extend(by_name[name].inputs)
    return needed


def training_forward(stack_info: StackInfo, batch: np.ndarray, weights: StackWeights, context: TrainContext) -> TrainingPass:
    """Every node the output needs, in file order, in training mode (batch statistics, dropout on)."""
    needed = needed_names(stack_info, trainable_output(stack_info))
    values = {INPUT_NAME: batch}
    forwarded: dict[str, Forwarded] = {}
    for info in stack_info.layers:
        if info.name not in needed:
            continue
        inputs = [values[name] for name in info.inputs]
        value = inputs if info.layer.is_merge else inputs[0]
        result = GRADIENTS[type(info.layer)].forward(info.layer, value, weights.get(info.index, {}), context)
        forwarded[info.name] = result
        values[info.name] = result.output
    return TrainingPass(stack_info, batch, weights, forwarded)


def gradient_needed(training_pass: TrainingPass) -> set[str]:
    """The nodes whose output's gradient someone uses: those with weights, and those fed by one of them.

    A node fed only by the batch and nodes outside this set needs no input gradient (the first
    convolution's is the costliest part of its backward); one without weights needs no backward at all.
    """
    needed: set[str] = set()
    for info in training_pass.stack_info.layers:
        if info.name in training_pass.forwarded and (training_pass.weights.get(info.index) or needed.intersection(info.inputs)):
            needed.add(info.name)
    return needed


def backpropagate(training_pass: TrainingPass, d_output: np.ndarray, input_gradient: bool = True) -> tuple[StackWeights, np.ndarray | None]:
    """The gradients of the trainable weights by layer index, and the batch's own gradient (None unless `input_gradient`).

    A gradient may be shared by several inputs (Add hands d_output to each), so sums are made
    into new arrays, never in place.
    """
    pending = {training_pass.output_info.name: d_output}
    gradients: StackWeights = {}
    upstream = None if input_gradient else gradient_needed(training_pass)
    for info in reversed(training_pass.stack_info.layers):
        if info.name not in training_pass.forwarded:
            continue
        d_node = pending.pop(info.name, None)
        if d_node is None or (upstream is not None and info.name not in upstream):
            continue
        cache, weights = training_pass.forwarded[info.name].cache, training_pass.weights.get(info.index, {})
        gradient_of = GRADIENTS[type(info.layer)]
        if upstream is not None and not upstream.intersection(info.inputs):
            d_weights = gradient_of.weights_only(info.layer, cache, d_node, weights)
            if d_weights:
                gradients[info.index] = d_weights
            continue
        d_inputs, d_weights = gradient_of.backward(info.layer, cache, d_node, weights)
        if d_weights:
            gradients[info.index] = d_weights
        for name, gradient in zip(info.inputs, d_inputs if info.layer.is_merge else [d_inputs]):
            pending[name] = pending[name] + gradient if name in pending else gradient
    return gradients, pending.get(INPUT_NAME)


def training_backward(training_pass: TrainingPass, d_output: np.ndarray) -> StackWeights:
    """{layer index: {weight name: gradient}} of the trainable weights, from the output's gradient (the batch's own is skipped)."""
    return backpropagate(training_pass, d_output, input_gradient=False)[0]


def moving_updates(training_pass: TrainingPass) -> StackWeights:
    """The non-trainable values the step leaves (BatchNormalization's moving statistics), by layer index."""
    by_name = {info.name: info.index for info in training_pass.stack_info.layers}
    return {by_name[name]: dict(result.updates) for name, result in training_pass.forwarded.items() if result.updates}
