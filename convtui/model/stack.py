"""A stack: an input shape and its layers in file order, each a named node of a graph.

`Stack` is immutable: edits return a new stack, so the app's undo history is a list of stacks.
`Stack.infer()` never raises for a bad layer: it marks it invalid, with the reason, and marks
every layer that depends on it. A malformed graph (an unknown or later input, a duplicate
name, a merge with too few inputs) is a PresetError when the stack is made.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from convtui.errors import PresetError
from convtui.model.arguments import MAX_SIZE, describe
from convtui.model.graph import (
    INPUT_NAME,
    Node,
    as_default_inputs,
    automatic_names,
    check_structure,
    fresh_name,
    propagate,
    resolved_inputs,
    unused_nodes,
)
from convtui.model.info import BYTES_PER_VALUE, INPUT_FIELD, LayerInfo, LayerNotFound, ReceptiveField, StackInfo, layer_position
from convtui.model.layers import Layer, Shape

__all__ = ["BYTES_PER_VALUE", "INPUT_FIELD", "LayerInfo", "LayerNotFound", "Node", "ReceptiveField", "Stack", "StackInfo", "check_input_shape"]


def relative_to_preset(path: str, source: str | os.PathLike[str] | None) -> Path:
    """A path a preset names, from the preset file's folder (a built-in's, or a stack made in code: the working folder)."""
    return Path(source).parent / path if source is not None else Path(path)


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
    """A network: the input shape (H, W, C) and its layers in file order.

    `names`, `inputs` and `blocks` run beside `layers`: a name None (or a short tuple) gets
    Keras's automatic name; inputs None takes the layer above; `outputs` empty means the last layer.
    `seed` and `source` come from the preset file and do not take part in equality: the same
    network read from two files is the same stack.
    """

    input_shape: Shape
    layers: tuple[Layer, ...] = ()
    name: str = "untitled"
    description: str = ""
    weights_file: str | None = field(default=None, compare=False)
    names: tuple[str, ...] = ()
    inputs: tuple[tuple[str, ...] | None, ...] = ()
    blocks: tuple[str | None, ...] = ()
    outputs: tuple[str, ...] = ()
    seed: int | None = field(default=None, compare=False)
    """The seed of the initial weights the preset names (`seed = N`); None: the default one."""
    source: str | None = field(default=None, compare=False)
    """The preset file it was read from (absolute) or a built-in's name; None for a stack made in code.
    `weights_file` is relative to its folder."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", check_input_shape(self.input_shape))
        layers = tuple(self.layers)
        count = len(layers)
        names = automatic_names(layers, padded(self.names, count))
        nodes = [Node(layer, name, inputs, block) for layer, name, inputs, block in zip(
            layers, names, padded(self.inputs, count), padded(self.blocks, count)
        )]
        self.set_nodes(as_default_inputs(nodes), tuple(self.outputs))

    def set_nodes(self, nodes: Sequence[Node], outputs: tuple[str, ...]) -> None:
        if outputs == tuple(node.name for node in nodes[-1:]):
            outputs = ()
        check_structure(nodes, outputs)
        object.__setattr__(self, "layers", tuple(node.layer for node in nodes))
        object.__setattr__(self, "names", tuple(node.name for node in nodes))
        object.__setattr__(self, "inputs", tuple(node.inputs for node in nodes))
        object.__setattr__(self, "blocks", tuple(node.block for node in nodes))
        object.__setattr__(self, "outputs", outputs)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(Node(*parts) for parts in zip(self.layers, self.names, self.inputs, self.blocks))

    @property
    def weights_path(self) -> Path | None:
        """The .npz `weights_file` names, found from the folder of the preset the stack was read from."""
        return relative_to_preset(self.weights_file, self.source) if self.weights_file else None

    def layer_index(self, layer: int | str) -> int:
        """The position of a layer given by index (negative from the end) or by name; a clear LookupError otherwise."""
        return layer_position(self.names, layer)

    def inputs_of(self, layer: int | str) -> tuple[str, ...]:
        """The names a layer (index or name) takes ("input" for the network's input)."""
        return resolved_inputs(self.nodes, self.layer_index(layer))

    def index_of(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None

    @property
    def is_chain(self) -> bool:
        return all(inputs is None for inputs in self.inputs) and not self.outputs

    def infer(self) -> StackInfo:
        """Propagate shapes through every layer; never raises for a bad layer."""
        nodes = self.nodes
        return StackInfo(
            self.input_shape, tuple(propagate(self.input_shape, nodes)), self.outputs, unused_nodes(nodes, self.outputs)
        )

    def with_nodes(self, nodes: Sequence[Node], outputs: tuple[str, ...] | None = None) -> Stack:
        """A stack with these nodes (a PresetError when they do not form a graph in file order)."""
        copy = replace(self)
        copy.set_nodes(as_default_inputs(nodes), self.outputs if outputs is None else outputs)
        return copy

    def fresh_name(self, layer: Layer) -> str:
        return fresh_name(layer, self.names)

    # Edits: each returns a new stack.
    def with_layer(self, index: int, layer: Layer) -> Stack:
        nodes = list(self.nodes)
        nodes[index] = replace(nodes[index], layer=layer)
        return self.with_nodes(nodes)

    def with_inserted(self, index: int, layer: Layer, inputs: tuple[str, ...] | None = None) -> Stack:
        """Insert before `index`; in a chain the layer below now takes the new one."""
        nodes = list(self.nodes)
        nodes.insert(index, Node(layer, self.fresh_name(layer), inputs))
        return self.with_nodes(nodes)

    def without(self, index: int, reconnect_to: str | None = None) -> Stack:
        """Delete a layer; whatever took it takes `reconnect_to` instead (default: the deleted layer's first input)."""
        nodes = list(self.nodes)
        removed = nodes[index]
        replacement = reconnect_to or self.inputs_of(index)[0]
        if index + 1 < len(nodes) and nodes[index + 1].inputs is None:
            nodes[index + 1] = replace(nodes[index + 1], inputs=(removed.name,))
        del nodes[index]
        nodes = [
            replace(node, inputs=tuple(replacement if name == removed.name else name for name in node.inputs))
            if node.inputs is not None else node
            for node in nodes
        ]
        outputs = tuple(replacement if name == removed.name else name for name in self.outputs)
        return self.with_nodes(nodes, () if outputs == (INPUT_NAME,) else outputs)

    def with_moved(self, index: int, offset: int) -> Stack:
        """Swap a layer with a neighbour; unchanged where that would put an input below its user."""
        target = index + offset
        if not (0 <= index < len(self.layers) and 0 <= target < len(self.layers)):
            return self
        nodes = list(self.nodes)
        nodes[index], nodes[target] = nodes[target], nodes[index]
        try:
            return self.with_nodes(nodes)
        except PresetError:
            return self

    def with_input_shape(self, input_shape: Shape) -> Stack:
        return replace(self, input_shape=input_shape)


def padded(values: Sequence[object], count: int) -> list:
    """`values` cut or filled with None to `count` items (a stack made from layers alone has none)."""
    return [*values[:count], *[None] * (count - len(values))]
