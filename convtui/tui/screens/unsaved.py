"""Asked before unsaved changes would be lost (quitting, opening another stack): save, discard or stay."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from convtui.tui.screens.dialog import Dialog

UnsavedChoice = Literal["save", "discard"]


class UnsavedChanges(Dialog[UnsavedChoice | None]):
    """Dismisses with "save", "discard", or None to stay."""

    BINDINGS = [
        Binding("escape", "stay", "Stay"),
        Binding("s", "choose('save')", "Save first"),
        Binding("d", "choose('discard')", "Discard changes"),
    ]

    def __init__(self, stack_name: str, verb: str) -> None:
        super().__init__()
        self.stack_name = stack_name
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="unsaved"):
            yield Label("Unsaved changes", classes="dialog-title")
            yield Static(f"{self.stack_name} has changes that are not saved.", classes="dialog-description")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"Save and {self.verb} (s)", variant="primary", id="save", compact=True)
                yield Button(f"{self.verb.capitalize()} without saving (d)", variant="error", id="discard", compact=True)
                yield Button("Stay (Esc)", id="stay", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: UnsavedChoice) -> None:
        self.dismiss(choice)

    def action_stay(self) -> None:
        self.dismiss(None)
