"""A stack: an input shape and a sequence of layers, and what propagating shapes through it gives.

`Stack` is immutable: edits return a new stack, so the app's undo history is a list of stacks.
`Stack.infer()` never raises for a bad layer: it marks it invalid, with the reason, and marks
every layer after it as following an invalid layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from convtui.errors import ConvtuiError, PresetError
from convtui.model.arguments import MAX_SIZE, describe
from convtui.model.layers import GLOBAL_WINDOW, Inference, Layer, Shape, WeightInfo, Window

BYTES_PER_VALUE = 4
"""float32, as Keras and torchinfo count sizes."""

Status = Literal["ok", "invalid", "after_invalid"]


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """The input pixels one output pixel depends on, per axis (height, width).

    size: how many input pixels it spans; jump: input pixels between neighbouring outputs;
    start: centre of the first output's field, in input pixel coordinates (0 = centre of the
    top-left pixel). `is_global` once every output depends on the whole input.
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    is_global: bool = False

    def through(self, window: Window | str | None) -> ReceptiveField:
        """The field after one more layer with this window."""
        if self.is_global or window is None:
            return self
        if window == GLOBAL_WINDOW:
            return replace(self, is_global=True)
        assert isinstance(window, Window)
        size = tuple(self.size[a] + in_input_pixels(window.kernel[a] - 1, self.jump[a]) for a in (0, 1))
        start = tuple(
            self.start[a] + in_input_pixels((window.kernel[a] - 1) / 2 - window.pad_before[a], self.jump[a]) for a in (0, 1)
        )
        jump = tuple(self.jump[a] * window.stride[a] for a in (0, 1))
        return ReceptiveField(size, jump, start)  # type: ignore[arg-type]


def in_input_pixels(steps: float, jump: float) -> float:
    """steps * jump, where no step adds nothing even when a deep stack made the jump infinite."""
    return 0.0 if steps == 0 else steps * jump


INPUT_FIELD = ReceptiveField(size=(1.0, 1.0), jump=(1.0, 1.0), start=(0.0, 0.0))


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """Everything propagation knows about one layer; shapes are Keras's, without the batch axis."""

    index: int
    layer: Layer
    input_shape: Shape | None
    output_shape: Shape | None = None
    weights: tuple[WeightInfo, ...] = ()
    macs: int = 0
    receptive_field: ReceptiveField | None = None
    status: Status = "ok"
    error: str | None = None
    error_field: str | None = None

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

    @property
    def valid(self) -> bool:
        return all(info.is_valid for info in self.layers)

    @property
    def first_invalid(self) -> LayerInfo | None:
        return next((info for info in self.layers if info.status == "invalid"), None)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.layers)

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


def check_input_shape(value: object) -> Shape:
    """An input shape is (height, width, channels) of positive whole numbers."""
    if (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(side, int) and not isinstance(side, bool) and 1 <= side <= MAX_SIZE for side in value)
    ):
        return tuple(int(side) for side in value)
    raise PresetError(
        f"expected [height, width, channels], three whole numbers from 1 to {MAX_SIZE:,}, found {describe(value)}",
        field_name="input_shape",
    )


@dataclass(frozen=True)
class Stack:
    """A sequential network: the input shape (H, W, C) and its layers, in order."""

    input_shape: Shape
    layers: tuple[Layer, ...] = ()
    name: str = "untitled"
    description: str = ""
    weights_file: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", check_input_shape(self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))

    def infer(self) -> StackInfo:
        """Propagate shapes through every layer; never raises for a bad layer."""
        return StackInfo(self.input_shape, tuple(propagate(self.input_shape, self.layers)))

    # Edits: each returns a new stack.
    def with_layer(self, index: int, layer: Layer) -> Stack:
        return replace(self, layers=(*self.layers[:index], layer, *self.layers[index + 1 :]))

    def with_inserted(self, index: int, layer: Layer) -> Stack:
        return replace(self, layers=(*self.layers[:index], layer, *self.layers[index:]))

    def without(self, index: int) -> Stack:
        return replace(self, layers=(*self.layers[:index], *self.layers[index + 1 :]))

    def with_moved(self, index: int, offset: int) -> Stack:
        target = index + offset
        if not (0 <= index < len(self.layers) and 0 <= target < len(self.layers)):
            return self
        layers = list(self.layers)
        layers[index], layers[target] = layers[target], layers[index]
        return replace(self, layers=tuple(layers))

    def with_input_shape(self, input_shape: Shape) -> Stack:
        return replace(self, input_shape=input_shape)


def propagate(input_shape: Shape, layers: tuple[Layer, ...]) -> list[LayerInfo]:
    infos: list[LayerInfo] = []
    shape: Shape | None = input_shape
    field_so_far = INPUT_FIELD
    failed_at: int | None = None
    for index, layer in enumerate(layers):
        if failed_at is not None or shape is None:
            infos.append(after_invalid(index, layer, failed_at))
            continue
        try:
            inference = layer.infer(shape)
        except ConvtuiError as error:
            failed_at = index
            infos.append(LayerInfo(index, layer, shape, status="invalid", error=error.message, error_field=error.field_name))
            continue
        field_so_far = field_so_far.through(inference.window)
        infos.append(layer_info(index, layer, shape, inference, field_so_far))
        shape = inference.output_shape
    return infos


def layer_info(index: int, layer: Layer, shape: Shape, inference: Inference, receptive_field: ReceptiveField) -> LayerInfo:
    return LayerInfo(
        index=index,
        layer=layer,
        input_shape=shape,
        output_shape=inference.output_shape,
        weights=inference.weights,
        macs=inference.macs,
        receptive_field=receptive_field,
    )


def after_invalid(index: int, layer: Layer, failed_at: int | None) -> LayerInfo:
    return LayerInfo(
        index,
        layer,
        None,
        status="after_invalid",
        error=f"follows an invalid layer (layer {failed_at}); fix that one first",
    )
