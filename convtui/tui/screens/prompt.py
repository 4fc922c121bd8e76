"""A one-line question (input shape, seed, a path to open or save to), checked as it is typed.

The caller passes a `check` that turns the text into a value or raises ValueError with the
sentence to show; the screen dismisses with the value, or None when cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from convtui.tui.screens.dialog import Dialog, TypeaheadInput

Check = Callable[[str], Any]
Note = Callable[[str, Any], str]
"""What an acceptable answer will do, when the text alone does not say ("/tmp is a folder: writes net.toml in it")."""


class Prompt(Dialog[Any]):
    """Ask for one value; the reason it is not acceptable shows under the field."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, hint: str, value: str, check: Check, *, suggestions: Iterable[str] = (), note: Note | None = None
    ) -> None:
        super().__init__()
        self.note = note
        self.title_text = title
        self.hint = hint
        self.initial_value = value
        self.check_value = check
        self.suggestions = list(suggestions)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="prompt"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.hint, classes="dialog-description")
            suggester = SuggestFromList(self.suggestions, case_sensitive=False) if self.suggestions else None
            yield TypeaheadInput(self.initial_value, id="answer", suggester=suggester)
            yield Static(id="reason", classes="field-note", markup=False)  # the reason quotes what was typed: "[/x" is no markup
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="accept", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.checked()

    def checked(self) -> tuple[bool, Any]:
        """Whether the text is acceptable and its value; the reason shows when it is not."""
        reason = self.query_one("#reason", Static)
        text = self.query_one("#answer", Input).value
        try:
            value = self.check_value(text)
        except ValueError as error:
            reason.update(str(error))
            reason.set_class(True, "-error")
            self.query_one("#accept", Button).disabled = True
            return False, None
        reason.update(self.note(text, value) if self.note is not None else "")
        reason.set_class(False, "-error")
        self.query_one("#accept", Button).disabled = False
        return True, value

    @on(Input.Changed)
    def on_answer_changed(self) -> None:
        self.checked()

    @on(Input.Submitted)
    @on(Button.Pressed, "#accept")
    def accept(self) -> None:
        acceptable, value = self.checked()
        if acceptable:
            self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
