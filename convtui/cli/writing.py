"""The files the writing commands (`import`, `export`) are asked to write: never replaced unasked."""

from __future__ import annotations

from pathlib import Path

from convtui.errors import ConvtuiError


def refuse_overwrite(paths: list[Path]) -> None:
    """--force says to replace a file; a folder is never a file to write."""
    for path in paths:
        if path.is_dir():
            raise ConvtuiError("is a folder; give the path of a file to write with -o", file=str(path))
        if path.exists():
            raise ConvtuiError("already exists; pass --force to overwrite it, or choose another name with -o", file=str(path))
