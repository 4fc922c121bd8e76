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


class EditRefused(Exception):
    """An edit that would change what the user did not ask to change; `message` says why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
        match = completion(name, list(self.shapes_above))
        if match is not None and name not in self.taken:
            return f'no layer named "{name}" above it; did you mean "{match}"? (→ completes it)'
        above = {other: index for other, index in self.taken.items() if other in self.shapes_above and other != INPUT_NAME}
        return unknown_input_message(name, self.index, self.taken, above)


def completion(typed: str, names: Sequence[str]) -> str | None:
    """The name `typed` is the start of: the nearest above (the last in file order), so the inputs field's
    grey completion and its "did you mean" hint offer the same layer."""
    return next((name for name in reversed(names) if name.startswith(typed) and name != typed), None) if typed else None


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
    nodes.insert(position, Node(choice.layer, choice.name, choice.inputs, block_around(nodes, position)))
    above = name_above(stack, position)
    if aside or above not in choice.inputs:
        return stack.with_nodes(nodes)
    return stack.with_nodes(renamed_references(nodes, above, choice.name, start=position + 1), renamed_outputs(stack, above, choice.name))


def block_around(nodes: Sequence[Node], position: int) -> str | None:
    """The block of the nodes on both sides of `position` when they share one: a node put there joins it,
    so a block stays one run of consecutive layers (one folded row)."""
    above = nodes[position - 1].block if position > 0 else None
    below = nodes[position].block if position < len(nodes) else None
    return above if above == below else None


def settled_block(nodes: Sequence[Node], index: int) -> str | None:
    """The block of node `index` after it moved one place: its own while it still touches that block (or is all of
    it), else the block of the nodes around it when they share one (it moved into it), else none (it moved out)."""
    block = nodes[index].block
    neighbours = [nodes[other].block for other in (index - 1, index + 1) if 0 <= other < len(nodes)]
    if block is not None and (block in neighbours or sum(node.block == block for node in nodes) == 1):
        return block
    return block_around([*nodes[:index], *nodes[index + 1 :]], index)


def with_moved(stack: Stack, index: int, offset: int) -> Stack:
    """Layer `index` swapped with its neighbour `index + offset`. In a chain every layer takes the one above
    it, so moving reorders the chain; in a graph every layer keeps what it takes, and a move that would
    put a layer above one it takes is refused. The moved layer leaves or joins a block so that each stays one run.
    """
    target = index + offset
    nodes = list(stack.nodes) if stack.is_chain else spelled_out(stack)
    upper, lower = sorted((index, target))
    if nodes[upper].name in (nodes[lower].inputs or ()):
        moved, other = nodes[index].name, nodes[target].name
        side = "above" if offset < 0 else "below"
        taker, taken = (moved, other) if offset < 0 else (other, moved)
        raise EditRefused(f"{taker} takes {taken}: {moved} cannot move {side} it; change {nodes[lower].name}'s inputs (e) first")
    nodes[index], nodes[target] = nodes[target], nodes[index]
    nodes[target] = replace(nodes[target], block=settled_block(nodes, target))
    return stack.with_nodes(nodes, stack.outputs if stack.is_chain else stack.outputs or stack.names[-1:])


def block_source(stack: Stack, first: int, last: int) -> str:
    """What layers first..last (a block's run) take from outside them, the one layer that can take their
    place. Refused when they take several (which one would?) or a layer after them takes an inner one."""
    nodes = spelled_out(stack)
    run = nodes[first : last + 1]
    names = {node.name for node in run}
    block = run[-1].block or run[-1].name
    sources = list(dict.fromkeys(name for node in run for name in node.inputs or () if name not in names))
    if len(sources) != 1:
        raise EditRefused(f"{block} takes {', '.join(sources)} from outside it, so no one layer can take its place: expand it (z) and delete its layers one by one")
    inner = names - {run[-1].name}
    user = next(((node.name, name) for node in nodes[last + 1 :] for name in node.inputs or () if name in inner), None)
    if user is not None:
        raise EditRefused(f"{user[0]} takes {user[1]}, inside {block}: expand it (z) and delete its layers one by one")
    return sources[0]


def without_block(stack: Stack, first: int, last: int) -> Stack:
    """Layers first..last (a block's run) deleted at once: what took the last one takes what the run takes
    from outside it (`block_source`), as deleting one layer reconnects to its input."""
    source = block_source(stack, first, last)
    nodes = spelled_out(stack)
    kept = renamed_references(nodes[:first] + nodes[last + 1 :], nodes[last].name, source)
    outputs = renamed_outputs(stack, nodes[last].name, source)
    return stack.with_nodes(kept, () if outputs == (INPUT_NAME,) else outputs)


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


def common_input(stack: Stack, first: int, last: int) -> str:
    """Where the shortcut around layers first..last starts: the latest layer above them that every path
    into them comes from (their inputs' last common dominator; the network's input at worst)."""
    paths_through: dict[str, set[str]] = {INPUT_NAME: {INPUT_NAME}}
    for index, name in enumerate(stack.names[:first]):
        paths_through[name] = {name} | set.intersection(*(paths_through[source] for source in stack.inputs_of(index)))
    wrapped = set(stack.names[first : last + 1])
    sources = {source for index in range(first, last + 1) for source in stack.inputs_of(index) if source not in wrapped}
    common = set.intersection(*(paths_through[source] for source in sources))
    return max(common, key=lambda name: stack.names.index(name) if name != INPUT_NAME else -1)


def residual_plan(stack: Stack, stack_info: StackInfo, first: int, last: int) -> ResidualPlan:
    """What wrapping layers first..last adds, and why a projection is or is not offered."""
    shortcut = common_input(stack, first, last)
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
    it folds to one row, as an imported ResNet's blocks do. Layers of a block keep it, and the new layers
    join the block they are wrapped in (see `residual_block`).
    """
    nodes = spelled_out(stack)
    block = residual_block(stack, nodes, plan)
    if block is not None and block not in stack.blocks:  # a new block: the wrapped layers join it
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


def residual_block(stack: Stack, nodes: Sequence[Node], plan: ResidualPlan) -> str | None:
    """The block of the wrap's new layers: a new one when no wrapped layer is in a block; the block of all
    the wrapped layers when they share one; else the block they are put inside (or none), so that no block
    is split in two."""
    blocks = {node.block for node in nodes[plan.first : plan.last + 1]}
    if blocks == {None}:
        return new_block_name(stack)
    if len(blocks) == 1:
        return blocks.pop()
    return block_around(nodes, plan.last + 1)


def new_block_name(stack: Stack) -> str:
    """"residual", else the first "residual_N" (from 2) that names no block yet."""
    taken = set(stack.blocks)
    candidates = itertools.chain([RESIDUAL_BLOCK], (f"{RESIDUAL_BLOCK}_{number}" for number in itertools.count(2)))
    return next(name for name in candidates if name not in taken)
