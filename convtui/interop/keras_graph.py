"""From a serialised Keras model to a graph of layers in topological order, ready to be a stack.

Sequential and Functional models are read, in Keras 3's config (inbound nodes of
`__keras_tensor__`s with a keras_history) and in Keras 2 / tf.keras's (nested [name, node,
tensor, kwargs] lists). Nested Sequential and Functional sub-models are flattened into the one
graph; Keras 3 operations (`x + 3.0`, `inputs + x`) are nodes like layers, their constants kept
among their arguments. What the graph cannot be (a shared layer, several inputs, an unknown
input) is a problem attached to the layer, collected, never raised here.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convtui.interop.errors import Problems
from convtui.model.graph import INPUT_NAME, first_free

INPUT_LAYER = "InputLayer"
SHAPE_KEYS = ("batch_shape", "batch_input_shape")
NESTED_MODELS = ("Sequential", "Functional", "Model")
OPERATION_MODULE = "keras.src.ops"
"""Keras 3 saves a tensor operation (`x + 3.0` is keras.src.ops.numpy.Add) as a node of this module."""

Source = int
"""Where a tensor comes from: a node's position in the flattened graph, or NETWORK_INPUT."""
NETWORK_INPUT: Source = -1
Argument = Source | float | tuple[float, ...]
"""One argument of a call: a tensor, or a constant (an operation's number or list of numbers)."""
Reference = tuple[str, int]
"""A tensor as a config names it: (layer name, tensor index)."""


@dataclass(frozen=True)
class KerasLayer:
    """One node of the flattened graph, as the file describes it.

    `position` is its index in the graph (convtui's layer index); `name` its node name: Keras's,
    prefixed with its sub-model's name only where that name is taken; `arguments` its call's
    tensors (by node name, "input" for the network's input) and constants, in call order;
    `saving_key` is where a .keras file keeps its weights (`<saving_key>/vars`), `legacy_key` where
    a legacy .h5 does (its name, or "<outermost sub-model>/<its name>").
    """

    position: int
    name: str
    class_name: str
    config: Mapping[str, Any]
    saving_key: str
    legacy_key: str
    arguments: tuple[str | float | tuple[float, ...], ...] = ()
    module: str = ""
    block: str | None = None
    keras_name: str = ""
    """Its name in Keras, where `name` had to differ (empty when they are the same)."""

    @property
    def title(self) -> str:
        return f'layer {self.position} "{self.name}" ({self.class_name})'

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(argument for argument in self.arguments if isinstance(argument, str))

    @property
    def is_operation(self) -> bool:
        return self.module.startswith(OPERATION_MODULE)


@dataclass(frozen=True)
class KerasGraph:
    """The model's name, its input shape without the batch axis (None if unknown), its nodes in
    topological order, and its outputs by node name."""

    model_name: str
    input_shape: tuple[Any, ...] | None
    layers: tuple[KerasLayer, ...]
    outputs: tuple[str, ...]


@dataclass
class RawNode:
    """A node while the graph is flattened: where it came from, before it has its final name."""

    keras_name: str
    class_name: str
    module: str
    config: Mapping[str, Any]
    scope: tuple[str, ...]
    """The names of the sub-models it sits in, outermost first (empty at the top level)."""
    saving_key: str
    arguments: list[Argument] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    calls: int = 1


# --- names ----------------------------------------------------------------------------------


def to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: "Conv2D" -> "conv2d", "ReLU" -> "re_lu"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def saving_keys(class_names: Sequence[str]) -> list[str]:
    """Keras's `_get_unique_name` over a model's layers: conv2d, conv2d_1, ... per class, in order."""
    used: dict[str, int] = {}
    keys = []
    for class_name in class_names:
        base = to_snake_case(class_name)
        used[base] = used[base] + 1 if base in used else 0
        keys.append(f"{base}_{used[base]}" if used[base] else base)
    return keys


def entry_name(entry: Mapping[str, Any]) -> str:
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    return str(entry.get("name") or config.get("name"))


def entry_module(entry: Mapping[str, Any]) -> str:
    """The entry's module; Keras 3's legacy .h5 leaves it out, and there an operation is the entry of a
    Keras 3 node whose config has no dtype (a layer's always has; an operation's holds its name and arguments)."""
    module = str(entry.get("module") or "")
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    nodes = entry.get("inbound_nodes") or []
    if not module and "dtype" not in config and nodes and isinstance(nodes[0], dict):
        return OPERATION_MODULE
    return module


def is_automatic(name: str, class_name: str) -> bool:
    """Keras's automatic name for the class (conv2d, conv2d_3, add_1): it says nothing about a block."""
    return re.fullmatch(re.escape(to_snake_case(class_name)) + r"(_\d+)?", name) is not None


def unique_names(nodes: Sequence[RawNode]) -> list[str]:
    """Keras's names; a sub-model's node whose name another node has (or "input") gets its sub-models'
    names in front (encoder_conv2d), and a number after if even that is taken."""
    counts = Counter(node.keras_name for node in nodes)
    taken = {INPUT_NAME} | {node.keras_name for node in nodes if not node.scope}
    names = []
    for node in nodes:
        name = node.keras_name
        if node.scope and (counts[name] > 1 or name == INPUT_NAME):
            name = "_".join((*node.scope, name))
        if node.scope or name == INPUT_NAME:
            name = first_free(name, taken)
        taken.add(name)
        names.append(name)
    return names



# --- blocks ---------------------------------------------------------------------------------


def name_segments(name: str) -> list[str]:
    """A name's parts at underscores, a bare number kept with the word before it when that word has
    no digit: "expanded_conv_1_expand" -> expanded, conv_1, expand; "conv2_block1_1_conv" -> conv2,
    block1, 1, conv (there the 1 is a step inside block1)."""
    segments: list[str] = []
    for token in name.split("_"):
        if token.isdigit() and segments and not any(char.isdigit() for char in segments[-1]):
            segments[-1] += f"_{token}"
        else:
            segments.append(token)
    return segments


def is_unit(segment: str) -> bool:
    """A numbered unit (block1, conv2, block_1, stage_0, block2a): letters and a digit."""
    return any(char.isdigit() for char in segment) and any(char.isalpha() for char in segment)


def name_block(segments: Sequence[str], names: set[str], groups: Mapping[str, set[str]], bases: set[str]) -> str | None:
    """The first numbered prefix of a name, passing over stages: a prefix whose members hold numbered
    units that are not layers themselves (conv2 holds conv2_block1, conv2_block2: the block is
    conv2_block1; block1 of VGG holds the layers block1_conv1, block1_conv2: the block is block1).
    A prefix in `bases` counts as numbered: expanded_conv, whose next blocks are expanded_conv_1, ..."""
    block = None
    for end in range(1, len(segments)):
        prefix = "_".join(segments[:end])
        if not (is_unit(segments[end - 1]) or prefix in bases):
            continue
        block = prefix
        if not any(is_unit(unit) and f"{block}_{unit}" not in names for unit in groups.get(block, ())):
            return block
    return block


def unnumbered_firsts(rests: Mapping[str, set[str]]) -> set[str]:
    """Prefixes without a number whose layers are named as a numbered block's: the first block of a
    repeat that Keras leaves unnumbered (MobileNetV2's expanded_conv_depthwise, expanded_conv_project
    beside block_1_depthwise, block_1_project). `rests` maps a prefix to the rest of its names."""
    numbered = [members for prefix, members in rests.items() if is_unit(name_segments(prefix)[-1])]
    return {
        prefix
        for prefix, members in rests.items()
        if not any(map(is_unit, name_segments(prefix))) and any(members <= other for other in numbered)
    }


def keras_blocks(names: Sequence[str], automatic: Sequence[bool]) -> list[str | None]:
    """Blocks from Keras's naming: conv2_block1_1_conv -> "conv2_block1", expanded_conv_1_expand ->
    "expanded_conv_1" (and expanded_conv_project -> "expanded_conv", in MobileNetV3 beside
    expanded_conv_1, in MobileNetV2 beside block_1_project), block2a_se_excite -> "block2a",
    block1_conv1 -> "block1".

    A node named as a block joins it (Conv_1 beside Conv_1_bn); a block of one node is none; a node
    without a block between two nodes of one block is in it (MobileNetV3's `add` inside its
    squeeze-excite). Automatic names (conv2d_3, add_1) take no block of their own.
    """
    named = {name for name, auto in zip(names, automatic) if not auto}
    groups: dict[str, set[str]] = {}
    rests: dict[str, set[str]] = {}
    for name in named:
        segments = name_segments(name)
        for end in range(1, len(segments)):
            prefix = "_".join(segments[:end])
            groups.setdefault(prefix, set()).add(segments[end])
            rests.setdefault(prefix, set()).add("_".join(segments[end:]))
    bases = {prefix.rsplit("_", 1)[0] for prefix in groups if re.search(r"[A-Za-z]_\d+$", prefix)} | unnumbered_firsts(rests)
    blocks = [None if auto else name_block(name_segments(name), named, groups, bases) for name, auto in zip(names, automatic)]
    chosen = set(blocks)
    blocks = [name if name in chosen else block for name, block in zip(names, blocks)]
    sizes = Counter(blocks)
    blocks = [block if block is not None and sizes[block] > 1 else None for block in blocks]
    return fill_gaps(blocks)


def fill_gaps(blocks: list[str | None]) -> list[str | None]:
    """A node without a block between two nodes of the same block is in that block."""
    filled = list(blocks)
    last: tuple[int, str] | None = None
    for index, block in enumerate(blocks):
        if block is None:
            continue
        if last is not None and last[1] == block:
            filled[last[0] + 1 : index] = [block] * (index - last[0] - 1)
        last = (index, block)
    return filled


# --- reading the config ---------------------------------------------------------------------


def references(value: Any) -> Iterator[Reference | float | tuple[float, ...]]:
    """The tensors and constants of a call, in order: Keras 3's keras_history, Keras 2's
    [name, node, tensor, kwargs], and numbers (an operation's constant)."""
    if isinstance(value, dict):
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
        if isinstance(history, list) and len(history) >= 3 and isinstance(history[0], str):
            yield history[0], int(history[2])
        elif value.get("class_name") != "__keras_tensor__":
            for item in value.values():
                yield from references(item)
    elif isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            yield value[0], int(value[2])
        elif value and all(is_number(item) for item in value):
            yield tuple(float(item) for item in value)
        else:
            for item in value:
                yield from references(item)
    elif is_number(value):
        yield float(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_reference(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], int)


def node_arguments(node: Any) -> list[Reference | float | tuple[float, ...]]:
    """A Keras 3 node's args (its kwargs hold only options), or a Keras 2 node's list of inputs."""
    if isinstance(node, dict):
        return list(references(node.get("args", [])))
    return [item for item in references(node) if is_reference(item)]


def entry_dependencies(entry: Mapping[str, Any]) -> set[str]:
    nodes = entry.get("inbound_nodes") or []
    return {item[0] for node in nodes for item in node_arguments(node) if is_reference(item)}  # type: ignore[index]


def topological(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries in an order where each follows what it takes, as close to the file's as possible
    (the file's own when it is one); entries on a cycle keep the file's order, last."""
    names = [entry_name(entry) for entry in entries]
    position = {name: index for index, name in enumerate(names)}
    waiting = [{name for name in entry_dependencies(entry) if name in position} for entry in entries]
    users: dict[str, list[int]] = {}
    for index, dependencies in enumerate(waiting):
        for name in dependencies:
            users.setdefault(name, []).append(index)
    ready = [index for index, dependencies in enumerate(waiting) if not dependencies]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for user in users.get(names[index], []):
            waiting[user].discard(names[index])
            if not waiting[user]:
                heapq.heappush(ready, user)
    placed = set(order)
    return [entries[index] for index in order + [index for index in range(len(entries)) if index not in placed]]


@dataclass(frozen=True)
class Missing:
    """A tensor a call names but the model does not have."""

    name: str


Resolved = Source | float | tuple[float, ...] | Missing


@dataclass
class Flattener:
    """Walks a model and its sub-models depth first, appending every layer and operation as a node."""

    nodes: list[RawNode] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Problems of the whole model (several inputs, a shared sub-model)."""

    def model(self, model: Mapping[str, Any], inputs: list[Source], scope: tuple[str, ...], saving_path: str) -> list[Source]:
        """Append the model's nodes, its inputs bound to `inputs`; returns its outputs.

        `saving_path` is where a .keras file keeps the model's layers: "" at the top, then
        "layers/<key>/" for each sub-model (Keras's `_save_state` walks `model.layers`).
        """
        config = model.get("config") or {}
        entries = [entry for entry in config.get("layers", []) if isinstance(entry, dict)]
        if model.get("class_name") == "Sequential":
            return self.sequential(entries, inputs, scope, saving_path)
        return self.functional(config, entries, inputs, scope, saving_path)

    def sequential(self, entries: list[Mapping[str, Any]], inputs: list[Source], scope: tuple[str, ...], saving_path: str) -> list[Source]:
        layers = [entry for entry in entries if entry.get("class_name") != INPUT_LAYER]
        keys = saving_keys([str(entry.get("class_name")) for entry in layers])  # Sequential.layers leaves its InputLayer out
        current: list[Source] = inputs[:1]
        for entry, key in zip(layers, keys):
            current = self.entry(entry, list(current), scope, f"{saving_path}layers/{key}")
        return current

    def functional(
        self, config: Mapping[str, Any], entries: list[Mapping[str, Any]], inputs: list[Source], scope: tuple[str, ...], saving_path: str
    ) -> list[Source]:
        input_names = [item[0] for item in references(config.get("input_layers", [])) if is_reference(item)]  # type: ignore[index]
        if len(input_names) > 1 and not scope:
            self.problems.append(f"it has {len(input_names)} inputs ({', '.join(input_names)}); convtui imports models with one input")
        layer_entries = [entry for entry in entries if not entry_module(entry).startswith(OPERATION_MODULE)]
        keys = dict(zip(map(id, layer_entries), saving_keys([str(entry.get("class_name")) for entry in layer_entries])))
        tensors: dict[Reference, Source] = {(name, 0): source for name, source in zip(input_names, inputs)}
        for entry in topological(entries):
            if entry.get("class_name") == INPUT_LAYER:
                tensors.setdefault((entry_name(entry), 0), NETWORK_INPUT)
                continue
            nodes = entry.get("inbound_nodes") or [[]]
            arguments = [resolve(item, tensors) for item in node_arguments(nodes[0])]
            outputs = self.entry(entry, arguments, scope, f"{saving_path}layers/{keys.get(id(entry), '')}", calls=len(nodes))
            tensors.update({(entry_name(entry), index): source for index, source in enumerate(outputs)})
        return [tensors.get(item, NETWORK_INPUT) for item in references(config.get("output_layers", [])) if is_reference(item)]  # type: ignore[call-overload]

    def entry(self, entry: Mapping[str, Any], arguments: list[Resolved], scope: tuple[str, ...], saving_key: str, calls: int = 1) -> list[Source]:
        """One layer or operation appended as a node, or a sub-model flattened; returns its outputs."""
        name = entry_name(entry)
        if entry.get("class_name") in NESTED_MODELS:
            if calls > 1:
                self.problems.append(f'its sub-model "{name}" is shared: called {calls} times; convtui imports each sub-model called once')
            sources = [argument for argument in arguments if isinstance(argument, int)]
            return self.model(entry, sources, (*scope, name), f"{saving_key}/")
        self.nodes.append(
            RawNode(
                name,
                str(entry.get("class_name")),
                entry_module(entry),
                entry.get("config") or {},
                scope,
                saving_key,
                [argument for argument in arguments if not isinstance(argument, Missing)],
                [argument.name for argument in arguments if isinstance(argument, Missing)],
                calls,
            )
        )
        return [len(self.nodes) - 1]


def resolve(item: Reference | float | tuple[float, ...], tensors: Mapping[Reference, Source]) -> Resolved:
    """A tensor as its source (Missing when the model has no such tensor); a constant as itself."""
    if not is_reference(item):
        return item  # type: ignore[return-value]
    return tensors[item] if item in tensors else Missing(item[0])  # type: ignore[index]


def read_graph(model: Mapping[str, Any], problems: Problems) -> KerasGraph:
    """The flattened graph; a layer called several times, an unknown input or several model inputs go into `problems`."""
    flattener = Flattener()
    outputs = flattener.model(model, [NETWORK_INPUT], (), "")
    problems.model.extend(flattener.problems)
    names = unique_names(flattener.nodes)
    blocks = keras_blocks(names, [is_automatic(node.keras_name, node.class_name) for node in flattener.nodes])
    layers = []
    for position, (node, name, block) in enumerate(zip(flattener.nodes, names, blocks)):
        layer = KerasLayer(
            position,
            name,
            node.class_name,
            node.config,
            node.saving_key,
            legacy_key(node),
            tuple(argument_name(argument, names) for argument in node.arguments),
            node.module,
            node.scope[0] if node.scope else block,
            node.keras_name if node.keras_name != name else "",
        )
        layers.append(layer)
        node_problems(layer, node, problems)
    output_names = tuple(str(argument_name(source, names)) for source in outputs)
    if INPUT_NAME in output_names:
        problems.model.append("an output of the model is its input; convtui needs a layer between them")
    config = model.get("config") or {}
    return KerasGraph(str(config.get("name", "model")), input_shape(model), tuple(layers), output_names)


def rename_note(layer: KerasLayer) -> str | None:
    """Why a node is not named as in Keras, in words the same for every node renamed for that reason, so that
    the notes of a big model group into one line each; the node's title names it as it now is."""
    if not layer.keras_name:
        return None
    if layer.keras_name == INPUT_NAME:
        return f'its Keras name "{INPUT_NAME}" is what convtui calls the model\'s input: renamed'
    return "its Keras name is another layer's too: renamed with its sub-model's name in front"


def legacy_key(node: RawNode) -> str:
    """A legacy .h5 keeps a layer's weights under its name, a sub-model's layer's under the outermost sub-model's."""
    return f"{node.scope[0]}/{node.keras_name}" if node.scope else node.keras_name


def argument_name(argument: Argument, names: Sequence[str]) -> str | float | tuple[float, ...]:
    if isinstance(argument, int):
        return INPUT_NAME if argument == NETWORK_INPUT else names[argument]
    return argument


def node_problems(layer: KerasLayer, node: RawNode, problems: Problems) -> None:
    if node.calls > 1:
        problems.add(layer.title, f"it is shared: called {node.calls} times; convtui imports each layer called once, so give each call its own layer")
    for name in node.unresolved:
        problems.add(layer.title, f'its input "{name}" is not a layer of the model; save the model again with model.save(...)')
    if not layer.inputs and not node.unresolved:
        problems.add(layer.title, "it takes no tensor; convtui imports layers that take the model's input or another layer")


def input_shape(model: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The batch shape without its batch axis: the (first) InputLayer's, the first layer's (Keras 2), or a build config's."""
    config = model.get("config") or {}
    entries = [entry for entry in config.get("layers", []) if isinstance(entry, dict)]
    inputs = [entry for entry in entries if entry.get("class_name") == INPUT_LAYER]
    for entry in inputs or entries[:1]:
        layer_config = entry.get("config") or {}
        for key in SHAPE_KEYS:
            if isinstance(layer_config.get(key), list):
                return tuple(layer_config[key][1:])
        if entry.get("class_name") in NESTED_MODELS and not inputs:
            return input_shape(entry)
    if isinstance(config.get("build_input_shape"), list):
        return tuple(config["build_input_shape"][1:])
    build_config = entries[0].get("build_config") if entries else None
    if isinstance(build_config, dict) and isinstance(build_config.get("input_shape"), list):
        return tuple(build_config["input_shape"][1:])
    return None
