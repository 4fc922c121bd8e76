"""From a serialised Keras model to a chain of layers: Sequential, or a functional graph that is one chain.

Both Keras 3 configs (inbound nodes of `__keras_tensor__` with a keras_history) and Keras 2 /
tf.keras ones (nested [name, node, tensor, kwargs] lists) are read. Whatever is not a single
chain becomes a problem attached to the layer where the chain breaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from convtui.interop.errors import Problems

INPUT_LAYER = "InputLayer"
SHAPE_KEYS = ("batch_shape", "batch_input_shape")
NESTED_MODELS = ("Sequential", "Functional", "Model")


@dataclass(frozen=True)
class KerasLayer:
    """One layer of the model as the file describes it.

    `position` counts the model's layers without InputLayer (convtui's index when all import);
    `saving_key` is where a .keras file keeps its weights: `layers/<saving_key>/vars`.
    """

    position: int
    name: str
    class_name: str
    config: Mapping[str, Any]
    saving_key: str

    @property
    def title(self) -> str:
        return f'layer {self.position} "{self.name}" ({self.class_name})'


@dataclass(frozen=True)
class KerasChain:
    """The model's name, its input shape without the batch axis (None if unknown), its layers in order."""

    model_name: str
    input_shape: tuple[Any, ...] | None
    layers: tuple[KerasLayer, ...]


def to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: "Conv2D" -> "conv2d", "ReLU" -> "re_lu"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def saving_keys(class_names: list[str]) -> list[str]:
    """Keras's `_get_unique_name` over the model's layers: conv2d, conv2d_1, ... per class, in order."""
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


def read_chain(model: Mapping[str, Any], problems: Problems) -> KerasChain:
    """The chain of layers; what breaks it (branches, nesting, no input shape) goes into `problems`."""
    config = model["config"]
    entries = [entry for entry in config.get("layers", []) if isinstance(entry, dict)]
    keys = saving_keys([str(entry.get("class_name")) for entry in entries])
    named = [(entry, key) for entry, key in zip(entries, keys) if entry.get("class_name") != INPUT_LAYER]
    layers = [
        KerasLayer(position, entry_name(entry), str(entry.get("class_name")), entry.get("config") or {}, key)
        for position, (entry, key) in enumerate(named)
    ]
    if model.get("class_name") != "Sequential":
        layers = functional_chain(layers, entries, config, problems)
    for layer in layers:
        if layer.class_name in NESTED_MODELS:
            problems.add(layer.title, "nested models are not supported; build one flat Sequential")
    shape = input_shape(config, entries)
    if shape is None:
        problems.model.append("its input shape is unknown; build the model with keras.Input(shape=(height, width, channels))")
    return KerasChain(str(config.get("name", "model")), shape, tuple(layers))


def input_shape(config: Mapping[str, Any], entries: list[Mapping[str, Any]]) -> tuple[Any, ...] | None:
    """The batch shape without its batch axis: InputLayer's, the first layer's (Keras 2), or the build config's."""
    inputs = [entry for entry in entries if entry.get("class_name") == INPUT_LAYER]
    for entry in inputs or entries[:1]:
        layer_config = entry.get("config") or {}
        for key in SHAPE_KEYS:
            if isinstance(layer_config.get(key), list):
                return tuple(layer_config[key][1:])
    if isinstance(config.get("build_input_shape"), list):
        return tuple(config["build_input_shape"][1:])
    build_config = entries[0].get("build_config") if entries else None
    if isinstance(build_config, dict) and isinstance(build_config.get("input_shape"), list):
        return tuple(build_config["input_shape"][1:])
    return None


# --- functional graphs ----------------------------------------------------------------------


def history_names(value: Any) -> Iterator[str]:
    """Layer names in a node: Keras 3's keras_history, or Keras 2's [name, node, tensor, kwargs]."""
    if isinstance(value, dict):
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
        if isinstance(history, list) and history and isinstance(history[0], str):
            yield history[0]
            return
        for item in value.values():
            yield from history_names(item)
    elif isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            yield value[0]
            return
        for item in value:
            yield from history_names(item)


def functional_chain(
    layers: list[KerasLayer], entries: list[Mapping[str, Any]], config: Mapping[str, Any], problems: Problems
) -> list[KerasLayer]:
    """The layers in chain order; every layer that merges, fans out or is shared is a problem."""
    by_name = {layer.name: layer for layer in layers}
    inputs = list(history_names(config.get("input_layers", [])))
    outputs = list(history_names(config.get("output_layers", [])))
    if len(inputs) != 1 or len(outputs) != 1:
        problems.model.append(f"it has {len(inputs)} inputs and {len(outputs)} outputs; convtui imports one input and one output")
    consumers: dict[str, list[str]] = {}
    for entry in entries:
        nodes = [list(history_names(node)) for node in entry.get("inbound_nodes", [])]
        for source in dict.fromkeys(source for node in nodes for source in node):
            consumers.setdefault(source, []).append(entry_name(entry))
        if entry_name(entry) in by_name:
            check_inbound(by_name[entry_name(entry)], nodes, problems)
    for source, targets in consumers.items():
        if len(targets) > 1 and source in by_name:
            problems.add(by_name[source].title, f"branching graphs are not supported (its output feeds {len(targets)} layers: {', '.join(targets)})")
    if problems:  # read_chain calls this first: every problem so far is the graph's
        return layers
    return follow_chain(inputs[0], consumers, by_name)


def check_inbound(layer: KerasLayer, nodes: list[list[str]], problems: Problems) -> None:
    if len(nodes) > 1:
        problems.add(layer.title, f"shared layers are not supported (it is called {len(nodes)} times)")
    elif nodes and len(nodes[0]) > 1:
        problems.add(layer.title, f"branching graphs are not supported (it merges {len(nodes[0])} inputs: {', '.join(nodes[0])})")


def follow_chain(start: str, consumers: Mapping[str, list[str]], by_name: Mapping[str, KerasLayer]) -> list[KerasLayer]:
    ordered = []
    current = start
    while consumers.get(current):
        current = consumers[current][0]
        ordered.append(replace(by_name[current], position=len(ordered)))
    return ordered
