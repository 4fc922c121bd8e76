"""Presets: a stack as a TOML file. Loading validates everything, saving is atomic.

Every problem in a file is a PresetError whose one line names the file, the layer's index
and type, the field, what was expected and what was found.
"""

from __future__ import annotations

import difflib
import json
import numbers
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from convtui.errors import ConvtuiError, PresetError
from convtui.files import write_text_atomically
from convtui.model.arguments import describe
from convtui.model.graph import Node, automatic_names, check_inputs_value, check_name
from convtui.model.layers import layer_from_config, layer_to_config
from convtui.model.stack import Stack, relative_to_preset

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
    """What a preset file holds: the stack, and the seed of its initial weights (None: the file names none).

    The stack carries the seed too (`Stack.seed`); this pair stays for the callers that read it here.
    """

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


def preset_weights_path(stack: Stack, source: str | os.PathLike[str] | None = None) -> Path | None:
    """The .npz a preset names with `weights = "..."`, relative to the folder of `source` (default: the
    file the stack was read from; a built-in's or a stack made in code: the working folder)."""
    if not stack.weights_file:
        return None
    return relative_to_preset(stack.weights_file, stack.source if source is None else source)


def existing_preset_weights_path(stack: Stack, source: str | os.PathLike[str] | None = None) -> Path | None:
    """`preset_weights_path` for a command about to read it: a missing file names the preset and where it was looked for."""
    path = preset_weights_path(stack, source)
    if path is not None and not path.exists():
        raise PresetError(
            f'names "{stack.weights_file}", but there is no {path.absolute()} (the path is relative to the preset\'s folder);'
            " put the .npz there or correct the path",
            file=str(stack.source if source is None else source),
            field_name="weights",
        )
    return path


def checked_seed(value: object, error: type[ConvtuiError] = PresetError) -> int:
    """A seed as a preset's `seed`, --seed and the app take it: a whole number numpy's default_rng takes
    as one 32-bit word, so every way of giving a seed reaches the same weights."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= MAX_SEED:
        raise error(f"expected a whole number from 0 to {MAX_SEED:,}, found {describe(value)}", field_name="seed")
    return int(value)


def seed_to_use(given: object, named: int | None, error: type[ConvtuiError] = PresetError) -> int:
    """The seed a run uses, checked: the one given (--seed, an argument), else the one the preset names, else DEFAULT_SEED."""
    if given is None:
        given = DEFAULT_SEED if named is None else named
    return checked_seed(given, error)


# --- loading --------------------------------------------------------------------------------


def load_preset(source: str | os.PathLike[str]) -> Stack:
    """A stack from a built-in preset name or a path to a TOML file; it keeps the file's `seed` and
    where it was read from (`Stack.source`), so its `weights` file can be found."""
    return read_preset(source).stack


def read_preset(source: str | os.PathLike[str]) -> Preset:
    """`load_preset` with the file's seed, for whoever runs the stack (the app, `convtui run`)."""
    if is_builtin_name(source):
        entry = builtin_presets_folder() / f"{source}{PRESET_SUFFIX}"
        return parse_preset_file(entry.read_text(encoding="utf-8"), str(source), source=str(source))
    path = Path(source)
    return parse_preset_file(read_preset_text(path), str(path), source=str(path.absolute()))


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
    if is_keras_model_file(path):
        raise PresetError(
            "is a Keras model, not a preset; open it with convtui.interop.load_model_file(path) (its .stack and .weights),"
            " or write it as a preset with `convtui import`",
            file=str(path),
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PresetError("is not a text file (not UTF-8); give a TOML preset", file=str(path)) from None
    except OSError as error:
        raise PresetError(f"cannot be read ({error.strerror}); check its permissions", file=str(path)) from None


def is_keras_model_file(path: Path) -> bool:
    """Whether the CLI would open this file as a Keras model (interop's suffixes; that package imports nothing heavy)."""
    from convtui.interop import is_model_file

    return is_model_file(path)


def closest_builtin(text: str) -> str | None:
    """The built-in a mistyped name meant, whatever its case: VGG16 and vgg61 both mean vgg16."""
    names = {name.lower(): name for name in builtin_preset_names()}
    guesses = difflib.get_close_matches(text.lower(), names, n=1)
    return names[guesses[0]] if guesses else None


def parse_preset(text: str, file: str) -> Stack:
    return parse_preset_file(text, file).stack


def parse_preset_file(text: str, file: str, *, source: str | None = None) -> Preset:
    """`file` names the text in messages; `source` is where it was read from (None: text from elsewhere,
    as the app's recovery copies, whose `weights` stays relative to the working folder)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PresetError(f"is not valid TOML: {error}; fix the syntax there", file=file) from None
    try:
        stack = stack_from_document(document, source)
    except ConvtuiError as error:
        raise error.located(file=file) from None
    return Preset(stack, stack.seed)


def seed_field(document: Mapping[str, Any]) -> int | None:
    value = document.get("seed")
    return None if value is None else checked_seed(value)


def stack_from_document(document: Mapping[str, Any], source: str | None = None) -> Stack:
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
        seed=seed_field(document),
        source=source,
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
    """The TOML text of a stack; `parse_preset(preset_text(s))` gives back an equal stack, with its seed.

    `seed` (default: the stack's) is written only when it is not the default, so a file saved without
    one keeps meaning the same.
    """
    seed = stack.seed if seed is None else seed
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
    """Write atomically (see convtui.files): a crash never leaves half a preset.

    The seed (given, else the stack's) is kept, and `weights` still names the same file from the new folder.
    """
    seed = stack.seed if seed is None else seed
    saved = replace(stack, weights_file=weights_text_for(stack, Path(path)), seed=None if seed is None else checked_seed(seed))
    return write_text_atomically(path, preset_text(saved), PresetError)


def weights_text_for(stack: Stack, path: Path) -> str | None:
    """The `weights` a preset saved at `path` writes, so that it names the file the stack's own preset named.

    Unchanged for a stack made in code or from a built-in (its path means "beside wherever it is saved"), an absolute path
    and a save into the same folder (the app, having written NAME.npz beside the new preset, gives the
    stack that preset as its source). Otherwise relative to the new folder, or absolute when the two
    folders share only the root.
    """
    if stack.weights_file is None or stack.source is None or is_builtin_name(stack.source) or Path(stack.weights_file).is_absolute():
        return stack.weights_file  # a built-in names no weights: any it is given were given in code
    target, home = os.path.abspath(stack.weights_path), os.path.abspath(path.parent)  # type: ignore[arg-type]
    if home == os.path.abspath(Path(stack.source).parent):
        return stack.weights_file
    try:
        common = Path(os.path.commonpath([target, home]))
    except ValueError:  # on another drive
        return Path(target).as_posix()
    return Path(target).as_posix() if common == Path(common.anchor) else Path(os.path.relpath(target, home)).as_posix()
