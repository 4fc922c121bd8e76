"""Turning what a person types in a prompt into a value, or a ValueError with the sentence to show.

Kept apart from the screens so each rule is one small, testable function.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.errors import ConvtuiError
from convtui.model.preset import PRESET_SUFFIX, is_builtin_name, read_preset
from convtui.model.layers import Shape
from convtui.model.stack import Stack, check_input_shape

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights
    from convtui.interop import ImportedModel

SHAPE_SEPARATORS = re.compile(r"[\s,x×()\[\]]+")
STACK_HINT = "a built-in preset name, or the path to a .toml file or a Keras model (.keras, .h5, .json)"


def input_shape_answer(text: str) -> Shape:
    """ "28, 28, 1", "28x28x1" or "(28, 28, 1)" -> (28, 28, 1)."""
    parts = [part for part in SHAPE_SEPARATORS.split(text.strip()) if part]
    if not all(part.isdigit() for part in parts):
        raise ValueError("type three whole numbers: height, width, channels (e.g. 28, 28, 1)")
    try:
        return check_input_shape([int(part) for part in parts])
    except ConvtuiError as error:
        raise ValueError(error.message) from None


def seed_answer(text: str) -> int:
    from convtui.model.preset import MAX_SEED

    stripped = text.strip()
    if not stripped.isdigit() or int(stripped) > MAX_SEED:
        raise ValueError(f"type a whole number from 0 to {MAX_SEED:,}")
    return int(stripped)


def preset_answer(text: str) -> tuple[str, Stack]:
    """A built-in name or a TOML path, loaded, so the prompt shows why a file will not do."""
    answer = opened_preset(text)
    return answer.source, answer.stack


def opened_preset(text: str) -> OpenedStack:
    """`preset_answer` with the seed the file names."""
    source = text.strip()
    if not source:
        raise ValueError("type a built-in preset name or the path to a .toml file")
    try:
        preset = read_preset(source)
    except ConvtuiError as error:
        raise ValueError(str(error)) from None
    return OpenedStack(source, preset.stack, seed=preset.seed)


@dataclass(frozen=True)
class OpenedStack:
    """What the open and compare prompts give: the stack and, for a Keras model, its weights and import notes."""

    source: str
    stack: Stack
    weights: StackWeights | None = None
    notes: tuple[str, ...] = ()
    seed: int | None = None
    """The seed a preset names (`seed = N`); None: keep the app's."""

    @property
    def title(self) -> str:
        """A built-in preset's name, a file's name."""
        return self.source if is_builtin_name(self.source) else Path(self.source).name


@lru_cache(maxsize=1)
def imported_model(path: str, modified: int, size: int) -> ImportedModel:
    """Read once, though the prompt checks its text at every key and again on Enter (keyed by mtime and size)."""
    from convtui.interop import load_model_file

    return load_model_file(path)


def stack_answer(text: str) -> OpenedStack:
    """A built-in name, a TOML path or a Keras model file (.keras, .h5, .json), loaded: the prompt shows why one will not do."""
    from convtui.interop import MODEL_SUFFIXES, is_model_file

    source = text.strip()
    if not source:
        raise ValueError(f"type a built-in preset name, or the path to a .toml file or a Keras model ({', '.join(MODEL_SUFFIXES)})")
    if not is_model_file(source):
        return opened_preset(source)
    path = Path(source).expanduser()
    try:
        status = path.stat()
        imported = imported_model(str(path), status.st_mtime_ns, status.st_size)
    except FileNotFoundError:
        raise ValueError(f"{source}: no such file") from None
    except OSError as error:
        raise ValueError(f"{source}: cannot be read ({error.strerror or error})") from None
    except ConvtuiError as error:
        raise ValueError(str(error)) from None
    return OpenedStack(source, imported.stack, imported.weights, imported.notes)


def export_path_answer(text: str, default_name: str | None = None) -> Path:
    """A .py file to write (".py" added when there is no suffix); in a folder, `default_name` there."""
    return file_path_answer(text, ".py", default_name, keep_other_suffix=True)


def save_path_answer(text: str, default_name: str | None = None) -> Path:
    """A .toml file to write (".toml" added when missing); in a folder, `default_name` there."""
    return file_path_answer(text, PRESET_SUFFIX, default_name, keep_other_suffix=False)


def file_path_answer(text: str, suffix: str, default_name: str | None, *, keep_other_suffix: bool) -> Path:
    """The file that typing `text` means: a folder (existing, or typed with a trailing slash) is where
    `default_name` goes, never a name to add the suffix to ("/tmp" is not "/tmp.toml").
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"type the path of the {suffix} file to write")
    path = Path(stripped).expanduser()
    if path.is_dir() or stripped.endswith(("/", os.sep)):
        return file_in_folder(path, default_name)
    if path.suffix != suffix and not (keep_other_suffix and path.suffix):
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        return file_in_folder(path, default_name)
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist")
    return path


def file_in_folder(folder: Path, default_name: str | None) -> Path:
    """`default_name` inside an existing folder; a folder that does not exist, or no name to give, is refused."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; type it without the final /")
    if not folder.is_dir():
        raise ValueError(f"the folder {folder} does not exist; create it first, or type a file name")
    if default_name is None:
        raise ValueError(f"{folder} is a folder; type a file name")
    return folder / default_name


def folder_note(text: str, path: Path) -> str:
    """What the prompt says when the typed path is a folder: which file in it will be written."""
    return f"{text.strip()} is a folder: writes {path.name} in it" if path.parent == Path(text.strip()).expanduser() else ""


def user_copy_path(stack: Stack, folder: Path) -> Path:
    """Where saving a built-in preset writes instead: the user's own copy in `folder`, named after
    the stack, with -2, -3... when a preset or weights file of that name is already there (never
    replaced unasked).
    """
    from convtui.interop.save_import import weights_path_for

    candidates = (folder / f"{stack.name}{'' if number == 1 else f'-{number}'}{PRESET_SUFFIX}" for number in itertools.count(1))
    return next(path for path in candidates if not path.exists() and not weights_path_for(path).exists())


def save_target(source: str | None, stack: Stack, folder: Path) -> tuple[Path, bool]:
    """The file a plain save writes, and whether it is a new copy (a built-in, a Keras model file or a new stack)."""
    from convtui.interop import is_model_file

    if source is None or is_builtin_name(source) or is_model_file(source):
        return user_copy_path(stack, folder), True
    return Path(source), False
