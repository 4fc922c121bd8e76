"""`export_source`: the one entry point that turns a stack into runnable Keras or PyTorch code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from convtui.errors import ConvtuiError, EngineError
from convtui.model.stack import Stack

ExportTarget = Literal["keras", "pytorch"]
EXPORT_TARGETS: tuple[ExportTarget, ...] = ("keras", "pytorch")


def export_source(stack: Stack, target: ExportTarget, weights_path: str | None = None) -> str:
    """Python source whose `build_model()` builds the stack in `target`; with `weights_path`, loading that .npz.

    An absolute `weights_path` is written as is; a relative one is resolved, at run time, from the
    generated file's folder (so the .py and the .npz can move together).
    """
    stack_info = stack.infer()
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise ConvtuiError(
            f"{invalid.error}; fix it before exporting",
            layer_index=invalid.index,
            layer_type=invalid.layer.type_name,
            exit_code=1,
        )
    if target == "keras":
        from convtui.interop.export_keras import keras_source  # the writers load with the command that uses them

        return keras_source(stack, stack_info, weights_path)
    if target == "pytorch":
        from convtui.interop.export_pytorch import pytorch_source

        return pytorch_source(stack, stack_info, weights_path)
    raise ConvtuiError(f"export_source's target {target!r} is not one of {', '.join(map(repr, EXPORT_TARGETS))}; give one of those")


def path_in_code(weights: Path, output: Path | None) -> str:
    """How the code names its weights file: relative to the written .py file (the pair can move together); absolute when the code goes to stdout."""
    if output is None:
        return str(weights.resolve())
    try:
        return Path(os.path.relpath(weights.resolve(), output.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return str(weights.resolve())


def check_weights_file(path: str | Path, stack: Stack) -> None:
    """The exported code will load every weight of the stack from `path`: check now that each is there, in shape.

    The engine is imported here, not above, so that building the CLI's parser stays free of numpy.
    """
    from convtui.engine.weights import load_weights_and_missing

    _, missing = load_weights_and_missing(path, stack)  # refuses unreadable files, unknown keys and wrong shapes
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise EngineError(
            f"lacks {len(missing)} of the stack's weights ({shown}); give the .npz that `convtui import` or `convtui run --save` wrote for this stack",
            file=str(path),
        )
