"""Asked before a save or an export replaces a file that exists: replace it, or choose another path."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ReplaceFile(ModalScreen[bool]):
    """Dismisses with True to replace the file (r), False to keep it (Esc)."""

    BINDINGS = [
        Binding("escape", "answer(False)", "Keep it"),
        Binding("r", "answer(True)", "Replace"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="unsaved"):
            yield Label(f"Replace {self.path.name}?", classes="dialog-title")
            yield Static(f"{self.path} already exists; writing would replace what it holds.", classes="dialog-description")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Replace (r)", variant="error", id="replace", compact=True)
                yield Button("Keep it (Esc)", id="keep", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "replace")

    def action_answer(self, replace: bool) -> None:
        self.dismiss(replace)
