"""What the commands print alike: the console of their output, and notes and warnings on stderr, one line each,
so that stdout stays the command's output."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from convtui.model.info import StackInfo

PIPE_WIDTH = 200
"""Width of tables written to a file or a pipe: wide enough that no column wraps."""
SHOWN_UNUSED = 6


def output_console() -> Console:
    """A terminal's own width; a pipe or file gets lines wide enough for the whole table.

    COLUMNS is not taken for a pipe: libraries and test runners set it (80) in children's environments
    without anyone asking for that width.
    """
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def print_notes(notes: tuple[str, ...]) -> None:
    """What an import changed goes to stderr, one line each."""
    for note in notes:
        print(f"convtui: note: {note}", file=sys.stderr)


def warn_unused(stack_info: StackInfo, source: str) -> None:
    """One line on stderr naming the layers nothing uses on the way to the output: a warning, not an error,
    as in Keras, which would leave them out of the model."""
    if not stack_info.unused:
        return
    named = [f"{index} ({stack_info.layers[index].name})" for index in stack_info.unused]
    shown = ", ".join(named[:SHOWN_UNUSED]) + (f" and {len(named) - SHOWN_UNUSED} more" if len(named) > SHOWN_UNUSED else "")
    which = f"layer {shown} is" if len(named) == 1 else f"layers {shown} are"
    print(
        f"convtui: warning: {source}: {which} not used on the way to the output; Keras would leave "
        f"{'it' if len(named) == 1 else 'them'} out of the model: connect or delete {'it' if len(named) == 1 else 'them'}",
        file=sys.stderr,
    )
