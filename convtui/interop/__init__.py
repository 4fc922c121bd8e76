"""Interop with Keras and PyTorch: open Keras model files as stacks, export stacks as Keras or PyTorch code.

`is_model_file` says whether a path is a Keras model; `load_model_file` opens it as an
ImportedModel (stack, weights, notes); `save_imported` writes it as NAME.toml + NAME.npz;
`export_source` writes the code that builds a stack in Keras or PyTorch.

Importing this package is instant (no numpy): the CLI asks `is_model_file` before choosing
what to open, and the rest loads on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convtui.interop.errors import ModelImportError
    from convtui.interop.export import EXPORT_TARGETS, ExportTarget, export_source
    from convtui.interop.imported import ImportedModel
    from convtui.interop.keras_import import load_model_file
    from convtui.interop.save_import import save_imported

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json")

_LAZY = {
    "ModelImportError": "convtui.interop.errors",
    "EXPORT_TARGETS": "convtui.interop.export",
    "ExportTarget": "convtui.interop.export",
    "export_source": "convtui.interop.export",
    "ImportedModel": "convtui.interop.imported",
    "load_model_file": "convtui.interop.keras_import",
    "save_imported": "convtui.interop.save_import",
}

__all__ = [
    "EXPORT_TARGETS",
    "MODEL_SUFFIXES",
    "ExportTarget",
    "ImportedModel",
    "ModelImportError",
    "export_source",
    "is_model_file",
    "load_model_file",
    "save_imported",
]
"""Written out, not built from _LAZY, so that linters and editors read it; a test checks the two agree."""


def is_model_file(path: str | Path) -> bool:
    """A Keras model file by its suffix (.keras, .h5, .hdf5, .json); opening it checks the content."""
    return Path(path).suffix.lower() in MODEL_SUFFIXES


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'convtui.interop' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    """dir() lists the names loaded on first use too, as if they were imported already."""
    return sorted({*globals(), *__all__})
