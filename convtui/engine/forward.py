"""Running a stack: every layer's output, kept for the views, under a memory budget.

The memory guard estimates the peak before anything is allocated and refuses, naming the
layer where the budget is crossed, rather than letting the machine swap or kill the process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convtui.engine.runners import RUNNERS, Context, cached_filter_bytes, scratch_bytes
from convtui.engine.weights import StackWeights, initial_weights
from convtui.errors import EngineError
from convtui.model.graph import INPUT_NAME
from convtui.model.stack import Stack, StackInfo
from convtui.model.units import readable_size

DEFAULT_MAX_MEMORY = 2 * 2**30
BYTES_PER_VALUE = 4


class ForwardCancelled(Exception):
    """Raised between layers when the caller's `should_stop()` says a newer run replaces this one."""


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """The input batch and every layer's output, batch axis included, float32."""

    input: np.ndarray
    outputs: tuple[np.ndarray, ...]
    weights: StackWeights


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Peak bytes of a forward pass and, per layer, the running peak up to that layer."""

    peak_bytes: int
    running_peak: tuple[int, ...]

    def first_layer_over(self, budget: int) -> int | None:
        return next((index for index, peak in enumerate(self.running_peak) if peak > budget), None)


def as_batch(pixels: np.ndarray, stack_info: StackInfo) -> np.ndarray:
    """(H, W, C) or (N, H, W, C) float32, checked against the stack's input shape."""
    batch = pixels[None] if pixels.ndim == 3 else pixels
    if batch.ndim != 4 or tuple(batch.shape[1:]) != stack_info.input_shape:
        expected = "x".join(map(str, stack_info.input_shape))
        raise EngineError(f"the image has shape {tuple(pixels.shape)} but the stack's input is {expected} (height x width x channels)")
    return np.ascontiguousarray(batch, dtype=np.float32)


def estimate_memory(stack_info: StackInfo, batch_size: int, weights_bytes: int) -> MemoryEstimate:
    """Input + weights + Winograd's transformed filters + every output kept, plus each layer's scratch."""
    kept = math.prod(stack_info.input_shape) * batch_size * BYTES_PER_VALUE + weights_bytes
    running = []
    for info in stack_info.layers:
        output_bytes = info.activation_bytes * batch_size
        scratch = scratch_bytes(info, batch_size) if info.is_valid else 0
        kept += cached_filter_bytes(info) if info.is_valid else 0
        running.append(kept + output_bytes + scratch)
        kept += output_bytes
    peaks = []
    highest = 0
    for value in running:
        highest = max(highest, value)
        peaks.append(highest)
    return MemoryEstimate(highest, tuple(peaks))


def check_allocations(stack_info: StackInfo, batch_size: int, max_memory: int) -> None:
    """Refuse the input batch or the weights when either alone is over the budget: callers make both
    before `forward` (and its whole-pass guard) runs.
    """
    input_bytes = math.prod(stack_info.input_shape) * batch_size * BYTES_PER_VALUE
    for what, nbytes, advice in (
        (f"the input {stack_info.input_shape} alone takes", input_bytes, "a smaller input shape"),
        ("the weights alone take", stack_info.params_bytes, "fewer units in Dense layers or fewer filters"),
    ):
        if nbytes > max_memory:
            raise EngineError(
                f"{what} {readable_size(nbytes)}, over the {readable_size(max_memory)} budget; use {advice}, or raise the budget with --max-memory"
            )


def check_memory(stack_info: StackInfo, batch_size: int, max_memory: int) -> None:
    """Refuse, naming the layer where the budget is crossed, before anything large is allocated."""
    check_allocations(stack_info, batch_size, max_memory)
    weights_bytes = stack_info.params_bytes
    estimate = estimate_memory(stack_info, batch_size, weights_bytes)
    over = estimate.first_layer_over(max_memory)
    if over is None:
        return
    info = stack_info.layers[over]
    advice = "fewer units in Dense layers or fewer filters" if weights_bytes * 2 > estimate.peak_bytes else "a smaller input or fewer filters"
    raise EngineError(
        f"the forward pass needs about {readable_size(estimate.peak_bytes)} ({readable_size(weights_bytes)} of it weights),"
        f" over the {readable_size(max_memory)} budget; it is crossed at layer {over} ({info.layer.label},"
        f" output {info.output_shape}); use {advice}, or raise the budget with --max-memory",
        layer_index=over,
        layer_type=info.layer.type_name,
    )


def as_float32(weights: StackWeights) -> StackWeights:
    """Weights built by hand are often float64; the engine computes in float32 (no copy if they are)."""
    return {index: {name: np.asarray(array, np.float32) for name, array in named.items()} for index, named in weights.items()}


def forward(
    stack: Stack | StackInfo,
    pixels: np.ndarray,
    weights: StackWeights | None = None,
    *,
    seed: int = 0,
    max_memory: int = DEFAULT_MAX_MEMORY,
    should_stop: Callable[[], bool] | None = None,
    on_layer: Callable[[int, int], None] | None = None,
    context: Context | None = None,
) -> ForwardResult:
    """Run every layer on the image batch, in file order over the graph, and keep every output.

    `should_stop()` is asked between layers (a newer edit cancels this run); `on_layer(done,
    total)` reports progress; `context` keeps scratch buffers and transformed filters across runs.
    """
    stack_info = stack.infer() if isinstance(stack, Stack) else stack
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise EngineError(invalid.error or "cannot apply", layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    batch = as_batch(pixels, stack_info)
    check_memory(stack_info, batch.shape[0], max_memory)
    weights = initial_weights(stack_info, seed) if weights is None else as_float32(weights)
    context = context or Context()
    values = {INPUT_NAME: batch}
    for info in stack_info.layers:
        if should_stop is not None and should_stop():
            raise ForwardCancelled
        inputs = [values[name] for name in info.inputs]
        value = inputs if info.layer.is_merge else inputs[0]
        values[info.name] = RUNNERS[type(info.layer)](info.layer, value, weights.get(info.index, {}), context)
        if on_layer is not None:
            on_layer(info.index + 1, len(stack_info.layers))
    return ForwardResult(batch, tuple(values[info.name] for info in stack_info.layers), weights)
