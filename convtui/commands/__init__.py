"""The command handlers beside `convtui.cli`, and what several of them print alike."""

from __future__ import annotations

import sys

from convtui.model.info import StackInfo

SHOWN_UNUSED = 6


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
