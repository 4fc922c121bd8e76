"""Asked before a save or an export replaces files that exist: replace them, or keep them (the default)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from convtui.tui.screens.dialog import Dialog


class ReplaceFile(Dialog[bool]):
    """Dismisses with True to replace the files (r), False to keep them (Esc, or Enter: Keep has the focus)."""

    AUTO_FOCUS = "#keep"
    BINDINGS = [
        Binding("escape", "answer(False)", "Keep"),
        Binding("r", "answer(True)", "Replace"),
    ]

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        self.paths = tuple(paths)

    def compose(self) -> ComposeResult:
        names = " and ".join(path.name for path in self.paths)
        with Vertical(id="dialog", classes="unsaved"):
            yield Label(f"Replace {names}?", classes="dialog-title")
            listed = ", ".join(str(path) for path in self.paths)
            one = len(self.paths) == 1
            yield Static(f"{listed} already exist{'s' if one else ''}; writing would replace what {'it holds' if one else 'they hold'}.", classes="dialog-description", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep (Esc)", variant="primary", id="keep", compact=True)
                yield Button("Replace (r)", variant="error", id="replace", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "replace")

    def action_answer(self, replace: bool) -> None:
        self.dismiss(replace)
