"""One line under the views: a progress bar while a slow forward pass runs; otherwise, when the
stack came with weights and some layers start from the seed instead, the sentence that says which.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.tui.state import ViewState
from convtui.tui.widgets.state_view import VIEW_STATE

RUN_PROGRESS = "run_progress"


class RunStatus(Widget):
    """Thin: follows the App's `run_progress` (layers done, layers in all) and the finished run's weights note."""

    DEFAULT_CSS = """
    RunStatus { height: 1; display: none; padding: 0 1; color: $text-warning; }
    RunStatus.-running, RunStatus.-note { display: block; }
    """

    progress: reactive[tuple[int, int] | None] = reactive(None)
    weights_note: reactive[str] = reactive("")
    """Kept while a rerun goes on, so a quick rerun does not make the line blink."""

    def on_mount(self) -> None:
        self.watch(self.app, RUN_PROGRESS, self.follow_progress)
        self.watch(self.app, VIEW_STATE, self.follow_state)

    def follow_progress(self, progress: tuple[int, int] | None) -> None:
        self.progress = progress
        self.set_class(progress is not None, "-running")

    def follow_state(self, state: ViewState | None) -> None:
        if state is not None and state.run.status == "done" and state.run.is_for(state.stack_info) and state.run.result is not None:
            self.weights_note = state.run.result.weights_note
            self.set_class(bool(self.weights_note), "-note")

    def render(self) -> RenderableType:
        if self.progress is None:
            return Text(self.weights_note, no_wrap=True, overflow="ellipsis")
        done, total = self.progress
        line = Table.grid(padding=(0, 1), expand=True)
        line.add_column(no_wrap=True)
        line.add_column(ratio=1)
        step = "weights and image" if done == 0 else f"layer {done} of {total}"
        line.add_row(f"Forward pass: {step} (keys keep working; an edit restarts it)", ProgressBar(total=total, completed=done))
        return line
