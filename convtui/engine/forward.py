"""Running a stack: every layer's output, kept for the views, under a memory budget.

The memory guard estimates the peak before anything is allocated and refuses, naming the
layer where the budget is crossed, rather than letting the machine swap or kill the process.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from convtui.engine.allocator import keep_freed_memory
from convtui.engine.fusion import FusionPlan, plan_fusion, run_chain
from convtui.engine.runners import RUNNERS, Context, cached_filter_bytes, scratch_bytes
from convtui.engine.weights import StackWeights, checked_weights, chosen_weights, kind, noted
from convtui.errors import EngineError
from convtui.model.graph import INPUT_NAME
from convtui.model.info import layer_position
from convtui.model.stack import Stack, StackInfo
from convtui.model.units import readable_size

DEFAULT_MAX_MEMORY = 2 * 2**30
BYTES_PER_VALUE = 4


class ForwardCancelled(Exception):
    """Raised between layers when the caller's `should_stop()` says a newer run replaces this one."""


class LayerOutputs(Sequence[np.ndarray]):
    """Every layer's output by layer index, as a read-only sequence.

    A fused pass keeps only each chain's last output; the others (a convolution's output before
    its folded BatchNormalization...) are computed on first access from the chain's kept inputs,
    as a prefix of the graph ending there would fuse them (the same bits), with the weights as
    they are then, and cached.
    """

    def __init__(
        self, stack_info: StackInfo, values: dict[str, np.ndarray], weights: StackWeights, fusion: FusionPlan | None = None, context: Context | None = None
    ) -> None:
        self._layers = stack_info.layers
        self._names = [info.name for info in stack_info.layers]
        self._by_name = {info.name: info for info in stack_info.layers}
        self._values = values
        self._weights = weights
        self._chains = {node.index: chain for chain in fusion.chains.values() for node in chain.nodes} if fusion is not None else {}
        self._lock = threading.Lock()
        self._folded = context.folded if context is not None else {}
        self._fold = context.fold if context is not None else True
        self._context: Context | None = None

    def __len__(self) -> int:
        return len(self._layers)

    @overload
    def __getitem__(self, index: int | str) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[np.ndarray, ...]: ...
    def __getitem__(self, index: int | str | slice) -> np.ndarray | tuple[np.ndarray, ...]:
        """A layer's output by index or name (LayerNotFound, an IndexError and a KeyError, for neither); a slice gives a tuple."""
        if isinstance(index, slice):
            return tuple(self[position] for position in range(*index.indices(len(self))))
        name = self._names[layer_position(self._names, index)]
        value = self._values.get(name)
        if value is None:
            with self._lock:
                value = self._value(name)
        return value

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[position] for position in range(len(self)))

    def __repr__(self) -> str:
        return f"LayerOutputs({len(self)} layers, {len(self._values) - 1} computed)"

    @property
    def computed(self) -> frozenset[str]:
        """Names of the layers whose outputs are held now."""
        return frozenset(self._values) - {INPUT_NAME}

    def _value(self, name: str) -> np.ndarray:
        value = self._values.get(name)
        if value is not None:
            return value
        info = self._by_name[name]
        self._context = self._context or Context(folded=self._folded, fold=self._fold)  # its own scratch: the reader may be another thread
        chain = self._chains.get(info.index)
        chain = chain.up_to(info.index) if chain is not None else None
        if chain is not None and not self._fold and (info is chain.norm or info is chain.activation) and info.inputs[0] in self._values:
            chain = None  # BN or the activation applied in place is what its own runner does: from the held input, the same bits
        if chain is not None and len(chain.nodes) > 1:
            value = run_chain(chain, [self._value(source) for source in chain.inputs], self._weights, self._context)
        else:
            inputs = [self._value(source) for source in info.inputs]
            value = RUNNERS[type(info.layer)](info.layer, inputs if info.layer.is_merge else inputs[0], self._weights.get(info.index, {}), self._context)
        self._values[name] = value
        return value


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """The input batch and every layer's output (a LayerOutputs: index, slice, iterate), batch axis included, float32."""

    input: np.ndarray
    outputs: Sequence[np.ndarray]
    weights: StackWeights


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Peak bytes of a forward pass and, per layer, the running peak up to that layer."""

    peak_bytes: int
    running_peak: tuple[int, ...]

    def first_layer_over(self, budget: int) -> int | None:
        return next((index for index, peak in enumerate(self.running_peak) if peak > budget), None)


def as_batch(pixels: np.ndarray, stack_info: StackInfo) -> np.ndarray:
    """(H, W, C) or (N, H, W, C) float32 (nested lists too), checked against the stack's input shape."""
    try:
        array = np.asarray(pixels, dtype=np.float32)
    except (TypeError, ValueError):
        raise EngineError(f"the image is not an array of numbers (found {kind(pixels)}); give an (H, W, C) or (N, H, W, C) array") from None
    batch = array[None] if array.ndim == 3 else array
    if batch.ndim != 4 or tuple(batch.shape[1:]) != stack_info.input_shape:
        expected = "x".join(map(str, stack_info.input_shape))
        raise EngineError(f"the image has shape {array.shape} but the stack's input is {expected} (height x width x channels)")
    return np.ascontiguousarray(batch)


def estimate_memory(stack_info: StackInfo, batch_size: int, weights_bytes: int, *, fusion: FusionPlan | None = None) -> MemoryEstimate:
    """Input + weights + Winograd's transformed filters + every output kept, plus each layer's scratch.

    With a fusion plan, the outputs it does not keep are counted only while they are made, and
    each folded kernel is counted once more (the context keeps it beside the original).
    """
    kept = math.prod(stack_info.input_shape) * batch_size * BYTES_PER_VALUE + weights_bytes
    dropped = fusion.dropped if fusion is not None else frozenset()
    folded = {chain.conv.index for chain in fusion.chains.values() if chain.conv is not None and chain.norm is not None} if fusion else set()
    running = []
    for info in stack_info.layers:
        output_bytes = info.activation_bytes * batch_size
        scratch = scratch_bytes(info, batch_size) if info.is_valid else 0
        kept += cached_filter_bytes(info) if info.is_valid else 0
        kept += info.weights[0].size * BYTES_PER_VALUE if info.index in folded and info.weights else 0
        running.append(kept + output_bytes + scratch)
        kept += 0 if info.index in dropped else output_bytes
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


def check_memory(stack_info: StackInfo, batch_size: int, max_memory: int, *, fusion: FusionPlan | None = None) -> None:
    """Refuse, naming the layer where the budget is crossed, before anything large is allocated.

    Without a fusion plan every output counts as kept (what a caller that reads them all holds).
    """
    check_allocations(stack_info, batch_size, max_memory)
    weights_bytes = stack_info.params_bytes
    estimate = estimate_memory(stack_info, batch_size, weights_bytes, fusion=fusion)
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


def forward(
    stack: Stack | StackInfo,
    pixels: np.ndarray,
    weights: StackWeights | None = None,
    *,
    seed: int | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    should_stop: Callable[[], bool] | None = None,
    on_layer: Callable[[int, int], None] | None = None,
    context: Context | None = None,
    fuse: bool = True,
) -> ForwardResult:
    """Run every layer on the image batch, in file order over the graph; every output stays readable.

    Without `weights`, the ones `convtui run` takes: the .npz the stack's preset names (relative to its
    folder; what it lacks comes from the seed, with a warning), else Keras's initialisers from `seed`
    (default: the preset's `seed`, else 0). Given weights (layer index -> name -> array) are checked
    against every layer's shapes and made float32.

    `should_stop()` is asked between layers (a newer edit cancels this run); `on_layer(done,
    total)` reports progress; `context` keeps scratch buffers and transformed filters across runs.
    With `fuse`, padding -> convolution -> BatchNormalization -> activation chains run as one
    pass (fusion.py) and their intermediate outputs are computed when first read; a caller that
    reads every output anyway is faster with `fuse=False`. Lazy outputs use the weights as they are
    when read: replace weights rather than update them in place while a result is still read.
    BN is folded into the kernels when a `context` is passed (kept there for the next runs), and
    applied in place on the convolution's output otherwise.
    """
    keep_freed_memory()  # the next run reuses this run's pages (allocator.py)
    stack_info = stack.infer() if isinstance(stack, Stack) else stack
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise EngineError(invalid.error or "cannot apply", layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    batch = as_batch(pixels, stack_info)
    context = context or Context(fold=False)  # used for this run only: folding kernels would not pay
    settings = (batch.shape[0], max_memory, fuse)
    if context.checked is not None and context.checked[0] is stack_info and context.checked[1] == settings:
        fusion = context.checked[2]  # the same graph and settings as the last run: planned and checked then
    else:
        fusion = plan_fusion(stack_info) if fuse else None
        check_memory(stack_info, batch.shape[0], max_memory, fusion=fusion)
        context.checked = (stack_info, settings, fusion)
    weights = noted(chosen_weights(stack, stack_info, seed=seed)) if weights is None else checked_weights(weights, stack_info)
    values = {INPUT_NAME: batch}
    for info in stack_info.layers:
        if should_stop is not None and should_stop():
            raise ForwardCancelled
        chain = fusion.chains.get(info.index) if fusion is not None else None
        if chain is not None:
            values[info.name] = run_chain(chain, [values[name] for name in chain.inputs], weights, context)
        elif fusion is None or info.index not in fusion.dropped:
            inputs = [values[name] for name in info.inputs]
            value = inputs if info.layer.is_merge else inputs[0]
            values[info.name] = RUNNERS[type(info.layer)](info.layer, value, weights.get(info.index, {}), context)
        if on_layer is not None:
            on_layer(info.index + 1, len(stack_info.layers))
    return ForwardResult(batch, LayerOutputs(stack_info, values, weights, fusion, context), weights)
