"""Why a view has nothing to draw for the selected layer yet: still running, refused, or invalid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from convtui.tui.state import ViewState

if TYPE_CHECKING:
    from convtui.tui.forward_run import RunResult

NoticeKind = Literal["error", "muted", "progress"]
Notice = tuple[str, NoticeKind]


def run_notice(state: ViewState) -> Notice | None:
    """A sentence in place of the selected layer's output, or None when the output is there."""
    layer = state.layer
    if layer is not None and not layer.is_valid:
        return f"Layer {layer.index} cannot run: {layer.error}", "error" if layer.status == "invalid" else "muted"
    run, result = state.run, state.shown_run
    if not run.is_for(state.stack_info) or run.status == "idle" or (run.status == "running" and not shows_selected(state, result)):
        return "Running the forward pass ...", "progress"
    if result is None or result.image is None:
        return (result.message if result else "") or "The forward pass did not run.", "error"
    if state.selected_layer >= 0 and result.output(state.selected_layer) is None:
        return result.message or "This layer did not run.", "error"
    return None


def shows_selected(state: ViewState, result: RunResult | None) -> bool:
    """Whether `result` (an early look while the run goes on) holds the selected layer's output (the image for the input row)."""
    return result is not None and (result.output(state.selected_layer) is not None if state.selected_layer >= 0 else result.image is not None)
