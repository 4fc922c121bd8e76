"""One forward pass for the app: image, weights and every layer's output, or the sentence why not.

Plain Python over the engine, so the worker in the App stays a few lines and this is testable
without a terminal. Layers from the first invalid one on cannot run; the layers before it do.
The engine (numpy, Pillow) is imported by the first run, in the worker: the app's first screen
paints without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from convtui.errors import ConvtuiError
from convtui.model.graph import INPUT_NAME
from convtui.model.stack import LayerInfo, Stack, StackInfo

if TYPE_CHECKING:
    import numpy as np

    from convtui.engine.images import LoadedImage
    from convtui.engine.weights import StackWeights
    from convtui.tui.opened_weights import OpenedWeights

ProgressCallback = Callable[[int, int], None]
INIT_COST_IN_MACS = 100
"""Initialising one weight costs about as much as 100 multiply-adds in the engine (VGG16 on 2 cores:
138 M weights in about 0.3 s, 15.5 G multiply-adds in about 0.35 s)."""
EARLY_MIN_WORK = 10**9
"""Runs cheaper than this (about 25 ms on 2 cores) show every layer at once."""
EARLY_MAX_SHARE = 0.1
"""The layers up to the selected one run first only when they cost at most this share of the run."""
OUT_OF_MEMORY = "the machine ran out of memory for this forward pass; use a smaller input shape or fewer filters"


SHOWN_WEIGHTS_SHARE = 1 / 8
"""A forward pass over the memory budget still makes its weights, for the Kernels view, while they take at most this
share of the budget; larger ones (a typo of 1,000,000 filters) are refused before they are made: ~1 GB took 1.3 s."""


def memory_refusal(prefix_info: StackInfo, budget: int) -> str | None:
    """Why the engine's guard would refuse the whole pass, said before anything is made; None when it fits."""
    from convtui.engine.forward import check_memory

    try:
        check_memory(prefix_info, 1, budget)
    except ConvtuiError as error:
        return str(error)
    return None


@dataclass(frozen=True, eq=False)
class RunResult:
    """What the views draw: the image, the weights and each runnable layer's output (H, W, C)."""

    image: LoadedImage | None
    weights: StackWeights
    outputs: tuple[np.ndarray, ...]
    """Outputs of layers 0 .. len(outputs) - 1, batch axis removed; invalid layers have none."""
    message: str = ""
    """Why the run stopped short (memory guard, unreadable image); empty when every layer ran."""
    weights_note: str = ""
    """Which layers start from the seed though the stack came with weights (see OpenedWeights); empty when none."""
    image_failed: bool = False
    """The image could not be read (the message says why): the app goes back to the image it had."""

    def output(self, index: int) -> np.ndarray | None:
        return self.outputs[index] if 0 <= index < len(self.outputs) else None

    def layer_input(self, info: LayerInfo, stack_info: StackInfo) -> np.ndarray | None:
        """What a layer received (its first input, in a graph not always the layer above): the image or that layer's output."""
        source = stack_info.named(info.inputs[0]) if info.inputs and info.inputs[0] != INPUT_NAME else None
        if source is None:
            return None if self.image is None else self.image.pixels
        return self.output(source.index)


class ImageCache:
    """Keeps the last image loaded, so edits that keep the input shape do not decode it again."""

    def __init__(self) -> None:
        self._key: tuple[str, tuple[int, ...]] | None = None
        self._image: LoadedImage | None = None

    def load(self, source: str, shape: tuple[int, ...]) -> LoadedImage:
        from convtui.engine.images import load_image

        key = (source, shape)
        if key != self._key or self._image is None:
            self._image, self._key = load_image(source, shape), key  # type: ignore[arg-type]
        return self._image


class WeightsCache:
    """Keeps each layer's initial weights, so an edit re-initialises only the layers it changed.

    Valid because the engine seeds every weight by (seed, layer name, weight name): the same layer
    with the same name and weight shapes always gets the same weights.
    """

    def __init__(self) -> None:
        self._weights: dict[tuple[object, ...], dict[str, np.ndarray]] = {}

    def initial_weights(self, stack_info: StackInfo, seed: int, given: StackWeights | None = None, *, layers: int | None = None) -> StackWeights:
        """Every valid layer's weights: the `given` arrays where there are some, the seed's for the rest.

        With `layers`, only the first `layers` layers' (an early look at one layer): the cache then keeps
        every other layer's weights too, for the whole run that follows.
        """
        from convtui.engine.weights import initial_weight

        kept: dict[tuple[object, ...], dict[str, np.ndarray]] = {}
        weights: StackWeights = {}
        for info in stack_info.layers[:layers]:
            if not info.is_valid or not info.weights:
                continue
            given_named = (given or {}).get(info.index, {})
            if len(given_named) == len(info.weights):
                weights[info.index] = dict(given_named)
                continue
            key = (seed, info.name, info.layer, info.weights)
            named = self._weights.get(key) or {weight.name: initial_weight(info.layer, info.name, weight, seed) for weight in info.weights}
            kept[key] = named
            weights[info.index] = {**named, **given_named} if given_named else named
        self._weights = kept if layers is None else self._weights | kept
        return weights


def runnable_prefix(stack: Stack, stack_info: StackInfo) -> tuple[Stack, StackInfo]:
    """The layers before the first invalid one: they can run and be shown."""
    invalid = stack_info.first_invalid
    return (stack, stack_info) if invalid is None else first_layers(stack, invalid.index)


def first_layers(stack: Stack, count: int) -> tuple[Stack, StackInfo]:
    """The stack's first `count` layers, a graph of their own (a layer takes only layers above it)."""
    prefix = replace(stack, layers=stack.layers[:count], outputs=())  # the outputs may lie beyond them
    return prefix, prefix.infer()


def run_work(layers: Sequence[LayerInfo]) -> int:
    """What running `layers` from scratch costs, in multiply-adds."""
    return sum(info.macs + INIT_COST_IN_MACS * info.params for info in layers)


def early_layers(stack_info: StackInfo, selected: int) -> int | None:
    """How many layers to run first so that the selected one shows early: those up to it, when they are
    a small part of a long run (they run twice). None when the whole run is shown at once.
    """
    if not 0 <= selected < len(stack_info.layers) - 1:
        return None
    total, early = run_work(stack_info.layers), run_work(stack_info.layers[: selected + 1])
    return selected + 1 if total >= EARLY_MIN_WORK and early <= EARLY_MAX_SHARE * total else None


def fits_in_memory(stack_info: StackInfo, max_memory: int | None) -> bool:
    """Whether the whole run passes the engine's memory guard: an early look at a run it refuses would
    show maps that the run's error then replaces."""
    from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory

    try:
        check_memory(stack_info, 1, DEFAULT_MAX_MEMORY if max_memory is None else max_memory)
    except ConvtuiError:
        return False
    return True


def stack_weights(
    stack_info: StackInfo, seed: int, opened: OpenedWeights | None, runnable: int, cache: WeightsCache, *, early: bool = False
) -> tuple[StackWeights, str]:
    """The weights the stack came with where they still fit, Keras's initialisers from the seed elsewhere
    (layers < runnable), and the note that says which layers are seeded though the stack has weights.
    `early`: for an early look at the first `runnable` layers (the cache keeps the others).
    """
    carried = opened.carry(stack_info) if opened is not None else None
    given = carried.weights if carried is not None else None
    weights = cache.initial_weights(stack_info, seed, given, layers=runnable if early else None)
    note = carried.note(seed, opened.label) if carried is not None and opened is not None else ""
    return {index: named for index, named in weights.items() if index < runnable}, note


def run_stack(
    stack: Stack,
    stack_info: StackInfo,
    *,
    seed: int,
    image_source: str,
    images: ImageCache,
    weights_cache: WeightsCache,
    opened_weights: OpenedWeights | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_layer: ProgressCallback | None = None,
    max_memory: int | None = None,
    selected: int | None = None,
    on_early: Callable[[RunResult], None] | None = None,
) -> RunResult | None:
    """Run what can run; None when `should_stop` cancelled the run (a newer edit replaces it).

    With `on_early`, a long run whose `selected` layer comes early runs the layers up to it first and
    hands that result to `on_early`: VGG16's first maps show before its 138 M weights are made.
    """
    prefix, prefix_info = runnable_prefix(stack, stack_info)
    early = early_layers(prefix_info, selected) if on_early is not None and selected is not None else None
    run = partial(
        run_layers,
        stack_info=stack_info,
        seed=seed,
        image_source=image_source,
        images=images,
        weights_cache=weights_cache,
        opened_weights=opened_weights,
        should_stop=should_stop,
        max_memory=max_memory,
    )
    if on_early is not None and early is not None and fits_in_memory(prefix_info, max_memory):
        look = run(*first_layers(prefix, early), early=True)
        if look is None:
            return None
        if len(look.outputs) == early:
            on_early(look)
    return run(prefix, prefix_info, on_layer=on_layer)


def run_layers(
    prefix: Stack,
    prefix_info: StackInfo,
    stack_info: StackInfo,
    *,
    seed: int,
    image_source: str,
    images: ImageCache,
    weights_cache: WeightsCache,
    opened_weights: OpenedWeights | None,
    should_stop: Callable[[], bool] | None,
    max_memory: int | None,
    on_layer: ProgressCallback | None = None,
    early: bool = False,
) -> RunResult | None:
    """`prefix` (the first layers of `stack_info`) on the image, with every output; None when cancelled."""
    from convtui.engine.forward import DEFAULT_MAX_MEMORY, ForwardCancelled, check_allocations, forward

    budget = DEFAULT_MAX_MEMORY if max_memory is None else max_memory
    try:
        check_allocations(prefix_info, 1, budget)
        refusal = memory_refusal(prefix_info, budget)
        if refusal is not None and prefix_info.params_bytes > budget * SHOWN_WEIGHTS_SHARE:
            return RunResult(None, {}, (), refusal)  # refused before a large set of weights is made for nothing
        weights, note = stack_weights(stack_info, seed, opened_weights, len(prefix.layers), weights_cache, early=early)
    except ConvtuiError as error:
        return RunResult(None, {}, (), str(error))
    except MemoryError:
        return RunResult(None, {}, (), OUT_OF_MEMORY)
    if refusal is not None:
        return RunResult(None, weights, (), refusal, note)  # the outputs do not fit, the weights do: Kernels and the drill-down show them
    try:
        image = images.load(image_source, prefix_info.input_shape)
    except ConvtuiError as error:
        return RunResult(None, weights, (), str(error), note, image_failed=True)
    except MemoryError:
        return RunResult(None, weights, (), OUT_OF_MEMORY, note)
    try:
        result = forward(prefix_info, image.pixels, weights, should_stop=should_stop, on_layer=on_layer, max_memory=budget, fuse=False)  # every output now, in the worker: the views read them on the UI thread
    except ForwardCancelled:
        return None
    except ConvtuiError as error:
        return RunResult(image, weights, (), str(error), note)
    except MemoryError:
        return RunResult(image, weights, (), OUT_OF_MEMORY, note)
    return RunResult(image, weights, tuple(output[0] for output in result.outputs), weights_note=note)
