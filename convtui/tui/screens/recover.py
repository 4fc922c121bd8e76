"""Asked at start when a session ended without saving its edits: open its recovery copy, discard it, or decide later."""

from __future__ import annotations

import time
from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from convtui.tui.recovery_copies import RecoveryCopy
from convtui.tui.screens.dialog import Dialog

RecoverChoice = Literal["open", "discard"]


class RecoverCopy(Dialog[RecoverChoice | None]):
    """Dismisses with "open", "discard", or None for later (the copy stays for the next start). Open has the focus."""

    AUTO_FOCUS = "#open"
    BINDINGS = [
        Binding("escape", "later", "Later"),
        Binding("o", "choose('open')", "Open it"),
        Binding("d", "choose('discard')", "Discard it"),
    ]

    def __init__(self, copy: RecoveryCopy, others: int = 0) -> None:
        """`others`: how many more copies wait after this one."""
        super().__init__()
        self.copy = copy
        self.others = others

    def compose(self) -> ComposeResult:
        when = time.strftime("%d %b %H:%M", time.localtime(self.copy.written))
        more = f" {self.others} more {'copy waits' if self.others == 1 else 'copies wait'} after this one." if self.others else ""
        where = self.copy.where
        what = where if self.copy.stack_name in where else f"{self.copy.stack_name} ({where})"
        with Vertical(id="dialog", classes="recover"):
            yield Label("Unsaved edits recovered", classes="dialog-title")
            yield Static(
                f"convtui ended on {when} with unsaved edits to {what}, kept in {self.copy.manifest.parent}. "
                f"Open them as unsaved edits of {where}, discard them, or decide at the next start.{more}",
                classes="dialog-description",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open (o)", variant="primary", id="open", compact=True)
                yield Button("Discard (d)", variant="error", id="discard", compact=True)
                yield Button("Later (Esc)", id="later", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "later" else event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: RecoverChoice) -> None:
        self.dismiss(choice)

    def action_later(self) -> None:
        self.dismiss(None)
