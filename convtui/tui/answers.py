"""Turning what a person types in a prompt into a value, or a ValueError with the sentence to show.

Kept apart from the screens so each rule is one small, testable function.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.engine.weights import MAX_SEED
from convtui.errors import ConvtuiError
from convtui.interop import MODEL_SUFFIXES, is_model_file
from convtui.model.preset import PRESET_SUFFIX, is_builtin_name, load_preset
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
    stripped = text.strip()
    if not stripped.isdigit() or int(stripped) > MAX_SEED:
        raise ValueError(f"type a whole number from 0 to {MAX_SEED:,}")
    return int(stripped)


def preset_answer(text: str) -> tuple[str, Stack]:
    """A built-in name or a TOML path, loaded, so the prompt shows why a file will not do."""
    source = text.strip()
    if not source:
        raise ValueError("type a built-in preset name or the path to a .toml file")
    try:
        return source, load_preset(source)
    except ConvtuiError as error:
        raise ValueError(str(error)) from None


@dataclass(frozen=True)
class OpenedStack:
    """What the open and compare prompts give: the stack and, for a Keras model, its weights and import notes."""

    source: str
    stack: Stack
    weights: StackWeights | None = None
    notes: tuple[str, ...] = ()

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
    source = text.strip()
    if not source:
        raise ValueError(f"type a built-in preset name, or the path to a .toml file or a Keras model ({', '.join(MODEL_SUFFIXES)})")
    if not is_model_file(source):
        return OpenedStack(*preset_answer(source))
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


def export_path_answer(text: str) -> Path:
    """A .py file to write (".py" added when there is no suffix); a folder or a missing folder is refused."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("type the path of the .py file to write")
    path = Path(stripped).expanduser()
    if not path.suffix:
        path = path.with_name(path.name + ".py")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; type a file name")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist")
    return path


def save_path_answer(text: str) -> Path:
    """A path to write; ".toml" is added when missing, and a folder is refused."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("type the path of the .toml file to write")
    path = Path(stripped).expanduser()
    if path.suffix != PRESET_SUFFIX:
        path = path.with_name(path.name + PRESET_SUFFIX)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; type a file name")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist")
    return path


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
    if source is None or is_builtin_name(source) or is_model_file(source):
        return user_copy_path(stack, folder), True
    return Path(source), False
