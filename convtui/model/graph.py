"""The network as a graph, with Keras Functional semantics: nodes in file order, each with a
unique name, a layer and the names of its inputs ("input" is the network's input).

A chain is a graph whose every node takes the one before it: a node whose `inputs` is None
takes the node above it, so files without names and inputs mean what they always meant, and
inserting a layer into a chain keeps it a chain. File order is a topological order by
construction: a node may only take nodes above it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from convtui.errors import ConvtuiError, PresetError
from convtui.model.arguments import describe
from convtui.model.info import INPUT_FIELD, LayerInfo, ReceptiveField, next_field
from convtui.model.layers import Layer, Shape

INPUT_NAME = "input"
"""What `inputs` calls the network's input."""


@dataclass(frozen=True, slots=True)
class Node:
    """One layer of the graph: its name, its inputs' names (None: the node above) and its block."""

    layer: Layer
    name: str
    inputs: tuple[str, ...] | None = None
    block: str | None = None


def snake_case(type_name: str) -> str:
    """Keras's automatic name of a layer class: Conv2D -> conv2d, ReLU -> re_lu, MaxPooling2D -> max_pooling2d."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", type_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def fresh_name(layer: Layer, taken: Iterable[str]) -> str:
    """Keras's next automatic name for this type (conv2d, conv2d_1, ...) that no node has."""
    return first_free(snake_case(layer.type_name), {INPUT_NAME, *taken})


def first_free(name: str, taken: Collection[str]) -> str:
    """`name`, or the first of name_1, name_2, ... not taken: how Keras makes names unique."""
    if name not in taken:
        return name
    number = 1
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def automatic_names(layers: Sequence[Layer], names: Sequence[str | None]) -> list[str]:
    """Every node's name: its own, or Keras's automatic one given in file order, skipping names taken."""
    explicit = {name for name in names if name is not None}
    result: list[str] = []
    for layer, name in zip(layers, names):
        result.append(name if name is not None else fresh_name(layer, explicit | set(result)))
    return result


def resolved_inputs(nodes: Sequence[Node], index: int) -> tuple[str, ...]:
    """The names a node takes: its own list, or the node above it (the input for the first)."""
    inputs = nodes[index].inputs
    if inputs is not None:
        return inputs
    return (nodes[index - 1].name,) if index else (INPUT_NAME,)


def as_default_inputs(nodes: Sequence[Node]) -> tuple[Node, ...]:
    """Inputs that name just the node above are stored as None, so a chain stays a chain under edits."""
    result = []
    for index, node in enumerate(nodes):
        above = (nodes[index - 1].name,) if index else (INPUT_NAME,)
        result.append(Node(node.layer, node.name, None, node.block) if node.inputs == above else node)
    return tuple(result)


# --- structure ------------------------------------------------------------------------------


def check_name(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value and value.strip() == value and value != INPUT_NAME):
        return value
    if value == INPUT_NAME:
        raise ValueError('"input" is the network\'s input; choose another name')
    raise ValueError(f"expected a non-empty name without surrounding spaces, found {describe(value)}")


def check_inputs_value(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f'expected a list of layer names, e.g. ["conv2d", "input"], found {describe(value)}')


def check_structure(nodes: Sequence[Node], outputs: Sequence[str]) -> None:
    """Names unique, inputs naming nodes above, merges with enough inputs; a PresetError names the node."""
    seen: dict[str, int] = {}
    all_names = {node.name: index for index, node in enumerate(nodes)}
    for index, node in enumerate(nodes):
        where = {"layer_index": index, "layer_type": node.layer.type_name}
        if node.name in seen:
            raise PresetError(
                f'the name "{node.name}" is taken by layer {seen[node.name]}; names must be unique, rename one',
                field_name="name",
                **where,
            )
        inputs = resolved_inputs(nodes, index)
        for name in inputs:
            if name == node.name:
                above = nodes[index - 1].name if index else INPUT_NAME
                raise PresetError(own_output_message(name, above), field_name="inputs", **where)
            if name != INPUT_NAME and name not in seen:
                raise PresetError(unknown_input_message(name, index, all_names, seen), field_name="inputs", **where)
        check_input_count(node.layer, inputs, where)
        seen[node.name] = index
    for name in outputs:
        if name not in seen:
            raise PresetError(unknown_output_message(name, seen), field_name="outputs")


def own_output_message(name: str, above: str) -> str:
    """A layer naming itself in its inputs: a cycle, whatever the file order; say what it may take instead."""
    problem = f'"{name}" is this layer, and a layer cannot take its own output'
    if above == INPUT_NAME:
        return f'{problem}; the first layer takes "input", the network\'s input: write that, or leave inputs out'
    return f'{problem}; name a layer above it, or leave inputs out to take the one just above ("{above}")'


def unknown_input_message(name: str, index: int, all_names: dict[str, int], above: dict[str, int]) -> str:
    later = all_names.get(name)
    if later is not None:
        return f'"{name}" is layer {later}, below this one; a layer may only take layers above it, so move one of them'
    return unknown_name_message(name, above)


def unknown_name_message(name: str, known: dict[str, int]) -> str:
    guesses = difflib.get_close_matches(name, [INPUT_NAME, *known], n=1)
    hint = f'did you mean "{guesses[0]}"?' if guesses else 'give the name of a layer above it, or "input"'
    return f'no layer named "{name}" above it; {hint}'


def unknown_output_message(name: str, known: dict[str, int]) -> str:
    """The top-level `outputs` names layers of the whole file; the network's input cannot be its output (the Keras
    import refuses it too): there would be no layer between them."""
    if name == INPUT_NAME:
        return (
            '"input" is the network\'s input, which cannot also be its output: name a layer in outputs = [...],'
            " or leave outputs out for the last layer"
        )
    guesses = difflib.get_close_matches(name, list(known), n=1)
    hint = f'did you mean "{guesses[0]}"?' if guesses else "name a layer of the file, or leave outputs out for the last layer"
    return f'no layer named "{name}"; {hint}'


def check_input_count(layer: Layer, inputs: tuple[str, ...], where: dict[str, object]) -> None:
    count = len(inputs)
    if count >= layer.min_inputs and (layer.max_inputs is None or count <= layer.max_inputs):
        return
    if layer.max_inputs == 1:
        needs = "takes one input"
    elif layer.max_inputs == layer.min_inputs:
        needs = f"takes exactly {layer.min_inputs} inputs"
    else:
        needs = f"takes at least {layer.min_inputs} inputs"
    given = ", ".join(f'"{name}"' for name in inputs)
    raise PresetError(
        f"{layer.type_name} {needs}, given {count} ({given}); {input_count_advice(layer, count)}",
        field_name="inputs",
        **where,  # type: ignore[arg-type]
    )


def input_count_advice(layer: Layer, count: int) -> str:
    """What to do: a one-input layer given several keeps one or takes a merge of them; a merge needs more listed."""
    if layer.max_inputs == 1:
        return "keep one of them, or join them first with a merge layer (Add, Concatenate, Multiply, ...) and take that"
    if layer.max_inputs is not None and count > layer.max_inputs:
        return f"keep {layer.max_inputs} of them in inputs = [...]"
    return "list them in inputs = [...]"


def unused_nodes(nodes: Sequence[Node], outputs: Sequence[str]) -> tuple[int, ...]:
    """Nodes no path from the input to an output goes through: Keras would leave them out of the model."""
    index_of = {node.name: index for index, node in enumerate(nodes)}
    wanted = [index_of[name] for name in outputs] if outputs else [len(nodes) - 1] if nodes else []
    used = set()
    while wanted:
        index = wanted.pop()
        if index in used:
            continue
        used.add(index)
        wanted.extend(index_of[name] for name in resolved_inputs(nodes, index) if name != INPUT_NAME)
    return tuple(index for index in range(len(nodes)) if index not in used)


# --- propagation ----------------------------------------------------------------------------


def propagate(input_shape: Shape, nodes: Sequence[Node]) -> list[LayerInfo]:
    """Every node's info in file order; an invalid node marks the nodes that depend on it."""
    shapes: dict[str, Shape] = {INPUT_NAME: input_shape}
    fields: dict[str, ReceptiveField | None] = {INPUT_NAME: INPUT_FIELD}
    failed: dict[str, int] = {}
    infos: list[LayerInfo] = []
    for index, node in enumerate(nodes):
        inputs = resolved_inputs(nodes, index)
        where = {"name": node.name, "inputs": inputs, "block": node.block}
        broken = [failed[name] for name in inputs if name in failed]
        if broken:
            failed[node.name] = failed_origin = min(broken)
            infos.append(after_invalid(index, node.layer, failed_origin, where))
            continue
        input_shapes = tuple(shapes[name] for name in inputs)
        try:
            inference = node.layer.infer_inputs(input_shapes, inputs)
        except ConvtuiError as error:
            failed[node.name] = index
            infos.append(
                LayerInfo(
                    index, node.layer, input_shapes[0], status="invalid", error=error.message,
                    error_field=error.field_name, input_shapes=input_shapes, **where,  # type: ignore[arg-type]
                )
            )
            continue
        field = next_field([fields[name] for name in inputs], inference.window)
        shapes[node.name] = inference.output_shape
        fields[node.name] = field
        infos.append(
            LayerInfo(
                index=index,
                layer=node.layer,
                input_shape=input_shapes[0],
                output_shape=inference.output_shape,
                weights=inference.weights,
                macs=inference.macs,
                receptive_field=field,
                input_shapes=input_shapes,
                **where,  # type: ignore[arg-type]
            )
        )
    return infos


def after_invalid(index: int, layer: Layer, failed_at: int, where: dict[str, object]) -> LayerInfo:
    return LayerInfo(
        index,
        layer,
        None,
        status="after_invalid",
        error=f"follows an invalid layer (layer {failed_at}); fix that one first",
        **where,  # type: ignore[arg-type]
    )
