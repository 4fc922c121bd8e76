"""Graph edits on top of Stack's own: insert a layer in line or aside, edit a node (layer, name,
inputs), wrap layers in a residual connection, and what the dialogs need to offer them.

Pure functions from one immutable stack to the next, so the app records each as an undoable
edit and the tests check them without a terminal. They work on nodes whose inputs are all
spelled out; `Stack.with_nodes` turns "the layer above" back into the chain's default.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from convtui.model import layers as catalogue
from convtui.model.convention import shape_text
from convtui.model.graph import INPUT_NAME, Node, fresh_name, unknown_input_message
from convtui.model.layers import Layer, Shape
from convtui.model.stack import Stack, StackInfo


@dataclass(frozen=True)
class NodeChoice:
    """What the layer form gives back: the layer, its name and the names of what it takes."""

    layer: Layer
    name: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class NodeContext:
    """Where a layer sits (or will sit) in the graph: what the form checks its name and inputs against."""

    index: int
    name: str
    inputs: tuple[str, ...]
    shapes_above: dict[str, Shape | None]
    """"input" and every layer above it, in file order, with its output shape (None: invalid)."""
    below: tuple[str, ...]
    """The names of the layers below it, for "a layer may only take layers above it"."""
    inserting: bool = False
    """A new layer at `index`: the layers below keep the numbers the table shows them with (from `index`, not after it)."""

    @property
    def taken(self) -> dict[str, int]:
        """Every other layer's name and its number in the table (the input's is -1)."""
        above = {name: index - 1 for index, name in enumerate(self.shapes_above)}
        first_below = self.index if self.inserting else self.index + 1
        return above | {name: first_below + offset for offset, name in enumerate(self.below)}

    def input_problem(self, name: str) -> str | None:
        """Why this layer cannot take `name`, or None when it is above it."""
        if name in self.shapes_above:
            return None
        if name == self.name:
            return f'"{name}" is this layer; a layer takes layers above it'
        above = {other: index for other, index in self.taken.items() if other in self.shapes_above and other != INPUT_NAME}
        return unknown_input_message(name, self.index, self.taken, above)


def spelled_out(stack: Stack) -> list[Node]:
    """The stack's nodes with every input named, so moving nodes never changes what one takes."""
    return [replace(node, inputs=stack.inputs_of(index)) for index, node in enumerate(stack.nodes)]


def name_above(stack: Stack, position: int) -> str:
    """What a layer inserted at `position` takes by default: the layer above it, or the input."""
    return stack.names[position - 1] if position > 0 else INPUT_NAME


def node_context(stack: Stack, stack_info: StackInfo, index: int, *, inserting: bool, layer_type: type[Layer]) -> NodeContext:
    """The form's context for the layer at `index`, or for a new one inserted there (taking the layer above)."""
    shapes: dict[str, Shape | None] = {INPUT_NAME: stack.input_shape}
    shapes |= {info.name: info.output_shape for info in stack_info.layers[:index]}
    if inserting:
        name = fresh_name(layer_type, stack.names)  # type: ignore[arg-type]  # only the type's name is read
        return NodeContext(index, name, (name_above(stack, index),), shapes, stack.names[index:], inserting=True)
    return NodeContext(index, stack.names[index], stack.inputs_of(index), shapes, stack.names[index + 1 :])


def renamed_references(nodes: Sequence[Node], old: str, new: str, start: int = 0) -> list[Node]:
    """Nodes from `start` on take `new` wherever they took `old`."""
    return [
        replace(node, inputs=tuple(new if name == old else name for name in node.inputs or ())) if index >= start else node
        for index, node in enumerate(nodes)
    ]


def renamed_outputs(stack: Stack, old: str, new: str) -> tuple[str, ...]:
    return tuple(new if name == old else name for name in stack.outputs)


def with_node(stack: Stack, index: int, choice: NodeChoice) -> Stack:
    """Layer `index` becomes `choice`; a new name is followed by every layer that took the old one."""
    nodes = spelled_out(stack)
    old = nodes[index].name
    nodes[index] = Node(choice.layer, choice.name, choice.inputs, nodes[index].block)
    nodes = renamed_references(nodes, old, choice.name, start=index + 1)
    return stack.with_nodes(nodes, renamed_outputs(stack, old, choice.name))


def with_new_node(stack: Stack, position: int, choice: NodeChoice, *, aside: bool = False) -> Stack:
    """Insert `choice` at `position`. In line (a layer that takes the layer above it), it takes that
    layer's place: whatever took the layer above now takes the new one. Aside (a branch), nothing changes below.
    """
    nodes = spelled_out(stack)
    nodes.insert(position, Node(choice.layer, choice.name, choice.inputs))
    above = name_above(stack, position)
    if aside or above not in choice.inputs:
        return stack.with_nodes(nodes)
    return stack.with_nodes(renamed_references(nodes, above, choice.name, start=position + 1), renamed_outputs(stack, above, choice.name))


def consumers(stack: Stack, name: str) -> list[int]:
    """The indices of the layers that take `name`."""
    return [index for index in range(len(stack.layers)) if name in stack.inputs_of(index)]


def reconnect_choices(stack: Stack, index: int) -> tuple[str, ...]:
    """The inputs to choose from when deleting layer `index` is ambiguous (a merge something uses); else ()."""
    inputs = tuple(dict.fromkeys(stack.inputs_of(index)))
    name = stack.names[index]
    used = bool(consumers(stack, name)) or name in stack.outputs
    return inputs if len(inputs) > 1 and used else ()


def merge_inputs(stack: Stack, position: int) -> tuple[str, ...]:
    """A new merge's inputs at `position`: the layer above and every branch end above it that
    nothing takes yet (in file order); else the layer above and what it takes.
    """
    above = name_above(stack, position)
    ends = [name for name in stack.names[:position] if name != above and not consumers(stack, name) and name not in stack.outputs]
    if ends:
        return (*ends, above)
    index = stack.index_of(above)
    return (above, stack.inputs_of(index)[0]) if index is not None else (above, above)


# --- the residual wrap ----------------------------------------------------------------------


@dataclass(frozen=True)
class ResidualPlan:
    """An Add after layers first..last taking their output and their input (the shortcut), and the
    1x1 projection that makes the shortcut's shape equal when it is not; `reason` says why.
    """

    first: int
    last: int
    shortcut: str
    projection: catalogue.Conv2D | None
    reason: str


def projection_strides(source: Shape, target: Shape) -> tuple[int, int] | None:
    """The strides of a 1x1 convolution ("valid": ceil(n / s) out) taking source's sides to target's; None when none does."""
    strides = []
    for side, wanted in zip(source[:2], target[:2]):
        stride = next((s for s in range(1, side + 1) if math.ceil(side / s) == wanted), None)
        if stride is None:
            return None
        strides.append(stride)
    return (strides[0], strides[1])


def residual_plan(stack: Stack, stack_info: StackInfo, first: int, last: int) -> ResidualPlan:
    """What wrapping layers first..last adds, and why a projection is or is not offered."""
    shortcut = stack.inputs_of(first)[0]
    main_name = stack.names[last]
    main = stack_info.layers[last].output_shape
    side = stack.input_shape if shortcut == INPUT_NAME else stack_info.layers[stack.names.index(shortcut)].output_shape
    if main is None or side is None:
        return ResidualPlan(first, last, shortcut, None, "The shapes are unknown until the invalid layer above is fixed; the Add goes in without a projection.")
    given = f"{main_name} gives {shape_text(main)}, {shortcut} gives {shape_text(side)}"
    if main == side:
        return ResidualPlan(first, last, shortcut, None, f"{given}: equal, so a plain Add (no weights) joins them.")
    if len(main) != 3 or len(side) != 3:
        return ResidualPlan(first, last, shortcut, None, f"Add needs equal shapes: {given}; a 1x1 projection needs (height, width, channels) maps on both sides.")
    strides = projection_strides(side, main)
    projection = catalogue.Conv2D(filters=main[2], kernel_size=1, strides=strides or 1)
    if catalogue.broadcast_shapes((main, side)) is not None:
        reason = (
            f"{given}: Add broadcasts the sides of 1, so every channel would get the same shortcut;"
            f" a {projection.label} on the shortcut gives each channel its own, as ResNet does."
        )
        return ResidualPlan(first, last, shortcut, projection, reason)
    reason = f"Add needs equal shapes: {given}. A {projection.label} on the shortcut makes them equal"
    if strides is None:
        reason += (
            f" in channels only: {side[0]}x{side[1]} -> {main[0]}x{main[1]} is no stride (padding, not striding, shrank the maps);"
            ' give the wrapped layers padding "same" or the Add stays invalid.'
        )
    else:
        reason += ", as ResNet does when a block changes the channels or the size."
    return ResidualPlan(first, last, shortcut, projection, reason)


RESIDUAL_BLOCK = "residual"


def with_residual(stack: Stack, plan: ResidualPlan, *, project: bool) -> Stack:
    """Insert the Add (and the projection when asked) after the wrapped layers; what took their output takes the Add.

    Wrapped layers in no block become a block with the Add (and the projection), "residual", "residual_2" ...:
    it folds to one row, as an imported ResNet's blocks do.
    """
    nodes = spelled_out(stack)
    block = new_block_name(stack) if all(node.block is None for node in nodes[plan.first : plan.last + 1]) else None
    if block is not None:
        nodes[plan.first : plan.last + 1] = [replace(node, block=block) for node in nodes[plan.first : plan.last + 1]]
    main = nodes[plan.last].name
    taken = list(stack.names)
    shortcut = plan.shortcut
    added: list[Node] = []
    if project and plan.projection is not None:
        shortcut = fresh_name(plan.projection, taken)
        taken.append(shortcut)
        added.append(Node(plan.projection, shortcut, (plan.shortcut,), block))
    add = catalogue.Add()
    add_name = fresh_name(add, taken)
    added.append(Node(add, add_name, (main, shortcut), block))
    position = plan.last + 1
    nodes[position:position] = added
    nodes = renamed_references(nodes, main, add_name, start=position + len(added))
    return stack.with_nodes(nodes, renamed_outputs(stack, main, add_name))


def new_block_name(stack: Stack) -> str:
    """"residual", else the first "residual_N" (from 2) that names no block yet."""
    taken = set(stack.blocks)
    candidates = itertools.chain([RESIDUAL_BLOCK], (f"{RESIDUAL_BLOCK}_{number}" for number in itertools.count(2)))
    return next(name for name in candidates if name not in taken)
