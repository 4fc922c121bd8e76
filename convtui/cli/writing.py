"""The files the writing commands (`import`, `export`, `run --save`, `train --save`) are asked to write: never replaced unasked."""

from __future__ import annotations

from pathlib import Path

from convtui.errors import ConvtuiError


def refuse_overwrite(paths: list[Path], option: str = "-o") -> None:
    """--force says to replace a file; a folder is never a file to write. `option` is the one that names the file."""
    for path in paths:
        if path.is_dir():
            raise ConvtuiError(f"is a folder; give the path of a file to write with {option}", file=str(path))
        if path.exists():
            raise ConvtuiError(f"already exists; pass --force to overwrite it, or choose another name with {option}", file=str(path))


def check_save_target(path: str | Path, *, force: bool, kind: str = "a file") -> None:
    """--save's file, checked before any work (a run or a training takes a while): its folder must exist, and an
    existing file, perhaps trained weights or the very --weights file read, is replaced only with --force."""
    from convtui.files import check_writable_place

    check_writable_place(path, "--save", kind)
    if not force:
        refuse_overwrite([Path(path)], "--save")
