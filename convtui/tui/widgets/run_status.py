"""A one-line progress bar under the views, shown only while a slow forward pass runs."""

from __future__ import annotations

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from textual.reactive import reactive
from textual.widget import Widget

RUN_PROGRESS = "run_progress"


class RunStatus(Widget):
    """Thin: follows the App's `run_progress` (layers done, layers in all)."""

    DEFAULT_CSS = """
    RunStatus { height: 1; display: none; padding: 0 1; color: $text-warning; }
    RunStatus.-running { display: block; }
    """

    progress: reactive[tuple[int, int] | None] = reactive(None)

    def on_mount(self) -> None:
        self.watch(self.app, RUN_PROGRESS, self.follow_progress)

    def follow_progress(self, progress: tuple[int, int] | None) -> None:
        self.progress = progress
        self.set_class(progress is not None, "-running")

    def render(self) -> RenderableType:
        if self.progress is None:
            return ""
        done, total = self.progress
        line = Table.grid(padding=(0, 1), expand=True)
        line.add_column(no_wrap=True)
        line.add_column(ratio=1)
        step = "weights and image" if done == 0 else f"layer {done} of {total}"
        line.add_row(f"Forward pass: {step} (keys keep working; an edit restarts it)", ProgressBar(total=total, completed=done))
        return line
