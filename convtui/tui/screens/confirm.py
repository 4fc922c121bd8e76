"""Questions with a safe default: replace files that exist (before a save or an export), delete a folded block."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from convtui.tui.screens.dialog import Dialog


class Confirm(Dialog[bool]):
    """A question with two answers: do it (its key, or its button), or not (Esc, or Enter: the safe button has the focus)."""

    AUTO_FOCUS = "#keep"
    BINDINGS = [Binding("escape", "answer(False)", "Keep")]

    def __init__(self, title: str, description: str, *, keep: str, act: str) -> None:
        """`keep` and `act`: the buttons' labels, with their keys: "Keep (Esc)", "Replace (r)"."""
        super().__init__()
        self.question, self.details, self.keep, self.act = title, description, keep, act

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="unsaved"):
            yield Label(self.question, classes="dialog-title", markup=False)
            yield Static(self.details, classes="dialog-description", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.keep, variant="primary", id="keep", compact=True)
                yield Button(self.act, variant="error", id="act", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "act")

    def action_answer(self, act: bool) -> None:
        self.dismiss(act)


class ReplaceFile(Confirm):
    """Dismisses with True to replace the files (r), False to keep them."""

    BINDINGS = [Binding("r", "answer(True)", "Replace")]

    def __init__(self, paths: Sequence[Path]) -> None:
        listed = ", ".join(str(path) for path in paths)
        one = len(paths) == 1
        description = f"{listed} already exist{'s' if one else ''}; writing would replace what {'it holds' if one else 'they hold'}."
        super().__init__(f"Replace {' and '.join(path.name for path in paths)}?", description, keep="Keep (Esc)", act="Replace (r)")
        self.paths = tuple(paths)


class DeleteBlock(Confirm):
    """Asked by d on a folded block's row: True deletes its layers (d), False keeps them."""

    BINDINGS = [Binding("d", "answer(True)", "Delete")]

    def __init__(self, block: str, count: int, source: str) -> None:
        description = f"Its {count} layers go, in one step (u undoes it); what took its output takes {source}, what it takes. z expands it instead, to delete one layer."
        super().__init__(f"Delete the whole block {block}?", description, keep="Keep (Esc)", act="Delete (d)")
