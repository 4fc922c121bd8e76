"""Why a view has nothing to draw for the selected layer yet: still running, refused, or invalid."""

from __future__ import annotations

from typing import Literal

from convtui.tui.state import ViewState

NoticeKind = Literal["error", "muted", "progress"]
Notice = tuple[str, NoticeKind]
RUNNING: Notice = ("Running the forward pass ...", "progress")


def run_notice(state: ViewState) -> Notice | None:
    """A sentence in place of the selected layer's output, or None when the output is there."""
    layer = state.layer
    if layer is not None and not layer.is_valid:
        return f"Layer {layer.index} cannot run: {layer.error}", "error" if layer.status == "invalid" else "muted"
    run, result = state.run, state.shown_run
    if not run.is_for(state.stack_info) or run.status == "idle":
        return RUNNING
    still_running = run.status == "running"  # and, in a long run, the early look may not hold this layer yet
    if result is None or result.image is None:
        return RUNNING if still_running else ((result.message if result else "") or "The forward pass did not run.", "error")
    if state.selected_layer >= 0 and result.output(state.selected_layer) is None:
        return RUNNING if still_running else (result.message or "This layer did not run.", "error")
    return None
