"""What propagating shapes through a network gives: per-layer infos and the totals.

`LayerInfo` is one node (its name, inputs, shapes, weights, cost, receptive field, status);
`StackInfo` the whole network, with the totals Keras's summary prints under its table.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from convtui.errors import ConvtuiError
from convtui.model.arguments import describe
from convtui.model.layers import GLOBAL_WINDOW, RELAYOUT_WINDOW, Layer, Shape, WeightInfo, Window

BYTES_PER_VALUE = 4
"""float32, as Keras and torchinfo count sizes."""

Status = Literal["ok", "invalid", "after_invalid"]


SHOWN_NAMES = 8
"""How many layer names a "no layer named" message lists before it stops."""


class LayerNotFound(ConvtuiError, IndexError, KeyError):
    """A layer asked for by an index out of range or a name no layer has; an IndexError and a KeyError
    too, so code that looks layers up as a sequence or as a mapping catches it as it expects."""


def layer_position(names: Sequence[str], layer: int | str) -> int:
    """The index of a layer given by index (negative counts from the end, as Python's) or by name:
    scripts and the README call layers either way."""
    if isinstance(layer, str):
        if layer in names:
            return names.index(layer)
        raise LayerNotFound(f"no layer named {layer!r}; {name_hint(layer, names)}")
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
        raise LayerNotFound(f"a layer is given by its index or its name, found {describe(layer)}")
    if not -len(names) <= layer < len(names):
        extent = f"{len(names)} layers (0-{len(names) - 1})" if names else "no layers"
        raise LayerNotFound(f"layer {layer} out of range: this stack has {extent}")
    return int(layer) % len(names)


def name_hint(name: str, names: Sequence[str]) -> str:
    """A close name when there is one, else the names themselves (the first few of a long list)."""
    guesses = difflib.get_close_matches(name, names, n=1)
    if guesses:
        return f"did you mean {guesses[0]!r}?"
    if not names:
        return "this stack has no layers"
    shown = ", ".join(names[:SHOWN_NAMES]) + (f", ... ({len(names)} in all)" if len(names) > SHOWN_NAMES else "")
    return f"the layers are {shown}"


NO_POSITION = (math.nan, math.nan)
"""A field's jump and start once its positions stand for no pixel (after Flatten or Reshape): not a number."""


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """The input pixels one output pixel depends on, per axis (height, width).

    size: how many input pixels it spans; jump: input pixels between neighbouring outputs;
    start: centre of the first output's field, in input pixel coordinates (0 = centre of the
    top-left pixel). `is_global` once every output depends on the whole input. After Flatten or
    Reshape each value keeps its pixel's size, but positions no longer map to pixels: jump and start
    are NO_POSITION (`is_laid_out`).
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    is_global: bool = False

    def through(self, window: Window | str | None) -> ReceptiveField | None:
        """The field after one more layer with this window; None (not tracked) for a window wider than one value
        over laid-out values, whose neighbours need not be neighbouring pixels."""
        if self.is_global or window is None:
            return self
        if window == GLOBAL_WINDOW:
            return replace(self, is_global=True)
        if window == RELAYOUT_WINDOW:
            return replace(self, jump=NO_POSITION, start=NO_POSITION)
        assert isinstance(window, Window)
        if self.is_laid_out:
            return self if window.kernel == (1, 1) else None
        size = tuple(self.size[a] + in_input_pixels(window.kernel[a] - 1, self.jump[a]) for a in (0, 1))
        start = tuple(
            self.start[a] + in_input_pixels((window.kernel[a] - 1) / 2 - window.pad_before[a], self.jump[a]) for a in (0, 1)
        )
        jump = tuple(self.jump[a] * window.stride[a] for a in (0, 1))
        return ReceptiveField(size, jump, start)  # type: ignore[arg-type]

    @property
    def is_laid_out(self) -> bool:
        """Flatten or Reshape laid the values out anew: a position is no pixel, so there is no jump or start."""
        return math.isnan(self.jump[0])

    @property
    def area(self) -> float:
        return math.inf if self.is_global else self.size[0] * self.size[1]


def next_field(fields: list[ReceptiveField | None], window: Window | str | None) -> ReceptiveField | None:
    """A layer's field from its inputs' (the widest, for a merge). One not tracked (None) stays so until a
    layer whose every output sees the whole input; so does a merge of laid-out values with a map's pixels,
    whose same position is not one pixel."""
    local = [field for field in fields if field is not None and not field.is_global]
    if None in fields or len({field.is_laid_out for field in local}) > 1:
        return GLOBAL_FIELD if window == GLOBAL_WINDOW else None
    return widest(fields).through(window)  # type: ignore[arg-type]


def widest(fields: list[ReceptiveField]) -> ReceptiveField:
    """A merge's field: its widest input's (a pixel after the merge depends on every path)."""
    return max(fields, key=lambda field: field.area)


def in_input_pixels(steps: float, jump: float) -> float:
    """steps * jump, where no step adds nothing even when a deep stack made the jump infinite."""
    return 0.0 if steps == 0 else steps * jump


INPUT_FIELD = ReceptiveField(size=(1.0, 1.0), jump=(1.0, 1.0), start=(0.0, 0.0))
GLOBAL_FIELD = ReceptiveField(size=(math.inf, math.inf), jump=NO_POSITION, start=NO_POSITION, is_global=True)


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """Everything propagation knows about one layer; shapes are Keras's, without the batch axis."""

    index: int
    layer: Layer
    input_shape: Shape | None
    """The (first) input's shape; `input_shapes` has every input's, for merges."""
    output_shape: Shape | None = None
    weights: tuple[WeightInfo, ...] = ()
    macs: int = 0
    receptive_field: ReceptiveField | None = None
    """None for a layer that does not apply, and where the field is not tracked (see ReceptiveField.through)."""
    status: Status = "ok"
    error: str | None = None
    error_field: str | None = None
    name: str = ""
    inputs: tuple[str, ...] = ()
    """The names of the nodes it takes, "input" for the network's input."""
    input_shapes: tuple[Shape, ...] = ()
    block: str | None = None

    @property
    def params(self) -> int:
        return sum(weight.size for weight in self.weights)

    @property
    def trainable_params(self) -> int:
        return sum(weight.size for weight in self.weights if weight.trainable)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def activation_elements(self) -> int:
        return math.prod(self.output_shape) if self.output_shape else 0

    @property
    def activation_bytes(self) -> int:
        return self.activation_elements * BYTES_PER_VALUE

    @property
    def is_valid(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class StackInfo:
    """The propagation of a whole stack: per-layer infos and the totals under the table."""

    input_shape: Shape
    layers: tuple[LayerInfo, ...]
    outputs: tuple[str, ...] = ()
    """The names of the output nodes (empty: the last layer, or the input when there is none)."""
    unused: tuple[int, ...] = ()
    """Indices of the layers nothing uses on the way to an output (a warning, not an error)."""

    @property
    def valid(self) -> bool:
        return all(info.is_valid for info in self.layers)

    @property
    def first_invalid(self) -> LayerInfo | None:
        return next((info for info in self.layers if info.status == "invalid"), None)

    @property
    def output_layers(self) -> tuple[LayerInfo, ...]:
        if not self.outputs:
            return self.layers[-1:]
        by_name = {info.name: info for info in self.layers}
        return tuple(by_name[name] for name in self.outputs)

    @property
    def output_shape(self) -> Shape | None:
        return self.output_layers[0].output_shape if self.layers else self.input_shape

    def layer(self, layer: int | str) -> LayerInfo:
        """One layer's info by index or name (`layers` is the tuple in file order); LayerNotFound otherwise."""
        return self.layers[layer_position([info.name for info in self.layers], layer)]

    def named(self, name: str) -> LayerInfo | None:
        return next((info for info in self.layers if info.name == name), None)

    @property
    def is_chain(self) -> bool:
        """Every layer takes the one before it and the last is the output: what Sequential can build."""
        previous = "input"
        for info in self.layers:
            if info.inputs != (previous,):
                return False
            previous = info.name
        return not self.outputs or self.outputs == (previous,)

    @property
    def model_layers(self) -> tuple[LayerInfo, ...]:
        """The layers on the way to an output: the model Keras builds, which leaves the `unused` ones out.
        The totals count these; the engine still runs every layer, so each shows its feature maps."""
        if not self.unused:
            return self.layers
        left_out = set(self.unused)
        return tuple(info for info in self.layers if info.index not in left_out)

    @property
    def unused_params(self) -> int:
        """The parameters of the layers nothing uses on the way to an output (not in the totals, as in Keras)."""
        return sum(self.layers[index].params for index in self.unused)

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.model_layers)

    @property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.model_layers)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.model_layers)

    @property
    def params_bytes(self) -> int:
        return self.total_params * BYTES_PER_VALUE

    @property
    def input_bytes(self) -> int:
        return math.prod(self.input_shape) * BYTES_PER_VALUE

    @property
    def activation_bytes(self) -> int:
        """Every layer's output for one image: what a forward pass that keeps them all holds."""
        return sum(info.activation_bytes for info in self.layers)

    @property
    def forward_backward_bytes(self) -> int:
        """torchinfo's estimate for training: outputs of layers with parameters, twice (for gradients)."""
        return 2 * sum(info.activation_bytes for info in self.layers if info.params)

    @property
    def training_total_bytes(self) -> int:
        """torchinfo's "Estimated Total Size": input + forward/backward pass + parameters."""
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes
