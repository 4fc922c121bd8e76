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
    as in Keras, which would leave them out of the model (and out of the totals, render.summary.unused_note)."""
    if not stack_info.unused:
        return
    from convtui.render.summary import unused_layers_text

    them = "it" if len(stack_info.unused) == 1 else "them"
    print(
        f"convtui: warning: {source}: {unused_layers_text(stack_info)} not used on the way to the output; Keras would leave "
        f"{them} out of the model and the totals do not count {them}: connect or delete {them}",
        file=sys.stderr,
    )
