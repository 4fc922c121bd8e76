"""Presets: a stack as a TOML file. Loading validates everything, saving is atomic.

Every problem in a file is a PresetError whose one line names the file, the layer's index
and type, the field, what was expected and what was found.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from convtui.errors import ConvtuiError, PresetError
from convtui.files import write_text_atomically
from convtui.model.arguments import describe
from convtui.model.graph import Node, automatic_names, check_inputs_value, check_name
from convtui.model.layers import layer_from_config, layer_to_config
from convtui.model.stack import Stack

TOP_LEVEL_KEYS = ("name", "description", "input_shape", "weights", "seed", "outputs", "layers")
NODE_KEYS = ("name", "inputs", "block")
"""Keys of a [[layers]] table that place the layer in the graph; the others are Keras arguments."""
PRESET_SUFFIX = ".toml"
DEFAULT_SEED = 0
"""The seed of a preset without `seed = N` (and of `--seed`'s default): such a file is saved without the key."""
MAX_SEED = 2**32 - 1
"""The largest seed numpy's default_rng takes as one 32-bit word; here, since the model must not import the engine."""


@dataclass(frozen=True)
class Preset:
    """What a preset file holds: the stack, and the seed of its initial weights (None: the file names none)."""

    stack: Stack
    seed: int | None = None


# --- built-in presets -----------------------------------------------------------------------


def builtin_presets_folder() -> Traversable:
    """The shipped presets: package data once installed, the repo's presets/ folder in a checkout."""
    try:
        return resources.files("convtui.presets")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "presets"


def builtin_preset_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(PRESET_SUFFIX)
        for entry in builtin_presets_folder().iterdir()
        if entry.name.endswith(PRESET_SUFFIX)
    )


def is_builtin_name(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and source in builtin_preset_names() and not Path(source).exists()


def preset_weights_path(stack: Stack, source: str | os.PathLike[str] | None) -> Path | None:
    """The .npz a preset names with `weights = "..."`, relative to the preset file's folder (a built-in's: here)."""
    if not stack.weights_file:
        return None
    folder = Path(source).parent if source is not None and not is_builtin_name(source) else Path(".")
    return folder / stack.weights_file


def existing_preset_weights_path(stack: Stack, source: str | os.PathLike[str] | None) -> Path | None:
    """`preset_weights_path` for a command about to read it: a missing file names the preset and where it was looked for."""
    path = preset_weights_path(stack, source)
    if path is not None and not path.exists():
        raise PresetError(
            f'names "{stack.weights_file}", but there is no {path.absolute()} (the path is relative to the preset\'s folder);'
            " put the .npz there or correct the path",
            file=str(source),
            field_name="weights",
        )
    return path


# --- loading --------------------------------------------------------------------------------


def load_preset(source: str | os.PathLike[str]) -> Stack:
    """A stack from a built-in preset name or a path to a TOML file."""
    return read_preset(source).stack


def read_preset(source: str | os.PathLike[str]) -> Preset:
    """`load_preset` with the file's seed, for whoever runs the stack (the app, `convtui run`)."""
    if is_builtin_name(source):
        entry = builtin_presets_folder() / f"{source}{PRESET_SUFFIX}"
        return parse_preset_file(entry.read_text(encoding="utf-8"), str(source))
    path = Path(source)
    return parse_preset_file(read_preset_text(path), str(path))


def preset_seed(source: str | os.PathLike[str]) -> int | None:
    """The seed a preset names, or None; a command whose --seed was not given uses it."""
    return read_preset(source).seed


def read_preset_text(path: Path) -> str:
    if not path.exists():
        hint = closest_builtin(str(path))
        suggestion = f'did you mean the built-in "{hint}"? ' if hint else ""
        raise PresetError(f"no such file or built-in preset; {suggestion}run `convtui presets` to list the built-ins", file=str(path))
    if path.is_dir():
        raise PresetError("is a folder; give a .toml preset file", file=str(path))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PresetError("is not a text file (not UTF-8); give a TOML preset", file=str(path)) from None
    except OSError as error:
        raise PresetError(f"cannot be read ({error.strerror}); check its permissions", file=str(path)) from None


def closest_builtin(text: str) -> str | None:
    """The built-in a mistyped name meant, whatever its case: VGG16 and vgg61 both mean vgg16."""
    names = {name.lower(): name for name in builtin_preset_names()}
    guesses = difflib.get_close_matches(text.lower(), names, n=1)
    return names[guesses[0]] if guesses else None


def parse_preset(text: str, file: str) -> Stack:
    return parse_preset_file(text, file).stack


def parse_preset_file(text: str, file: str) -> Preset:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PresetError(f"is not valid TOML: {error}; fix the syntax there", file=file) from None
    try:
        return Preset(stack_from_document(document), seed_field(document))
    except ConvtuiError as error:
        raise error.located(file=file) from None


def seed_field(document: Mapping[str, Any]) -> int | None:
    value = document.get("seed")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise PresetError(f"expected a whole number from 0 to {MAX_SEED:,}, found {describe(value)}", field_name="seed")
    return value


def stack_from_document(document: Mapping[str, Any]) -> Stack:
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            raise PresetError(unknown_key_message(key, TOP_LEVEL_KEYS, "a preset"), field_name=key)
    if "input_shape" not in document:
        raise PresetError("missing; add input_shape = [height, width, channels], e.g. [28, 28, 1]", field_name="input_shape")
    layers = document.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(table, dict) for table in layers):
        raise PresetError(f"expected [[layers]] tables, found {describe(layers)}", field_name="layers")
    nodes = list(build_nodes(layers))
    return Stack(
        input_shape=document["input_shape"],
        layers=tuple(node.layer for node in nodes),
        name=text_field(document, "name", "untitled"),
        description=text_field(document, "description", ""),
        weights_file=text_field(document, "weights", None),
        names=tuple(node.name or None for node in nodes),  # type: ignore[misc]
        inputs=tuple(node.inputs for node in nodes),
        blocks=tuple(node.block for node in nodes),
        outputs=outputs_field(document),
    )


def build_nodes(tables: list[dict[str, Any]]) -> Iterator[Node]:
    """Each table's layer and its place in the graph (name "" when it gets Keras's automatic name)."""
    for index, table in enumerate(tables):
        try:
            layer = layer_from_config({key: value for key, value in table.items() if key not in NODE_KEYS})
            yield Node(
                layer,
                node_field(table, "name", check_name) or "",
                node_field(table, "inputs", check_inputs_value),
                node_field(table, "block", check_name),
            )
        except ConvtuiError as error:
            raise PresetError(
                error.message, layer_index=index, layer_type=error.layer_type or describe_type(table), field_name=error.field_name
            ) from None


def node_field(table: Mapping[str, Any], key: str, check: Any) -> Any:
    try:
        return check(table.get(key))
    except ValueError as error:
        raise PresetError(str(error), field_name=key) from None


def outputs_field(document: Mapping[str, Any]) -> tuple[str, ...]:
    value = document.get("outputs")
    try:
        return check_inputs_value(value) or ()
    except ValueError as error:
        raise PresetError(str(error).replace("layer names", "output layer names"), field_name="outputs") from None


def describe_type(table: Mapping[str, Any]) -> str | None:
    kind = table.get("type")
    return kind if isinstance(kind, str) else None


def text_field(document: Mapping[str, Any], key: str, default: str | None) -> Any:
    value = document.get(key, default)
    if value is not None and not isinstance(value, str):
        raise PresetError(f"expected a string, found {describe(value)}", field_name=key)
    return value


def unknown_key_message(key: str, known: tuple[str, ...], owner: str) -> str:
    guesses = difflib.get_close_matches(key, known, n=1)
    hint = f'did you mean "{guesses[0]}"?' if guesses else f"{owner} has: {', '.join(known)}"
    return f'unknown key "{key}"; {hint}'


# --- saving ---------------------------------------------------------------------------------


def preset_text(stack: Stack, seed: int | None = None) -> str:
    """The TOML text of a stack; `parse_preset(preset_text(s))` gives back an equal stack.

    `seed` is written only when it is not the default, so a file saved without one keeps meaning the same.
    """
    lines = [f"name = {toml_value(stack.name)}"]
    if stack.description:
        lines.append(f"description = {toml_value(stack.description)}")
    lines.append(f"input_shape = {toml_value(stack.input_shape)}")
    if stack.weights_file:
        lines.append(f"weights = {toml_value(stack.weights_file)}")
    if seed is not None and seed != DEFAULT_SEED:
        lines.append(f"seed = {toml_value(seed)}")
    if stack.outputs:
        lines.append(f"outputs = {toml_value(stack.outputs)}")
    written = names_to_write(stack)
    for node, name in zip(stack.nodes, written):
        lines += ["", "[[layers]]"]
        config = layer_to_config(node.layer)
        lines.append(f"type = {toml_value(config.pop('type'))}")
        if name is not None:
            lines.append(f"name = {toml_value(name)}")
        if node.inputs is not None:
            lines.append(f"inputs = {toml_value(node.inputs)}")
        if node.block is not None:
            lines.append(f"block = {toml_value(node.block)}")
        lines += [f"{key} = {toml_value(compact(value))}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def names_to_write(stack: Stack) -> list[str | None]:
    """The names a file must spell out so that loading it gives every node its name back; the
    others are Keras's automatic names, which a reader need not see.
    """
    written: list[str | None] = [None] * len(stack.names)
    while True:
        reloaded = automatic_names(stack.layers, written)
        missing = [index for index, name in enumerate(stack.names) if reloaded[index] != name]
        if not missing:
            return written
        for index in missing:
            written[index] = stack.names[index]


def compact(value: Any) -> Any:
    """Write (3, 3) as 3 and ((1, 1), (1, 1)) as 1, as a person would.

    Inner pairs are compacted first, and merged only when each became one number: ((0, 1), (0, 1))
    stays nested, since [0, 1] would mean 0 rows and 1 column on each side.
    """
    if not isinstance(value, tuple) or not value:
        return value
    items = [compact(item) for item in value]
    if all(not isinstance(item, tuple) for item in items):
        return items[0] if all(item == items[0] for item in items) else tuple(items)
    return value


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):  # TOML basic strings take JSON's escapes, and DEL escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def save_preset(stack: Stack, path: str | os.PathLike[str], *, seed: int | None = None) -> Path:
    """Write atomically (see convtui.files): a crash never leaves half a preset."""
    return write_text_atomically(path, preset_text(stack, seed), PresetError)
