"""The keys, listed from the bindings themselves so the help never disagrees with the app."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from convtui.tui.bindings import key_text
from convtui.tui.screens.dialog import Dialog

HelpSection = tuple[str, Iterable[Binding]]


def keys_table(sections: Iterable[HelpSection]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, justify="right")
    table.add_column()
    for title, bindings in sections:
        table.add_row("", Text(title, style="bold underline"))
        for binding in bindings:
            table.add_row(key_text(binding), binding.description)
        table.add_row("", "")
    return table


class HelpScreen(Dialog[None]):
    """Every key of the app and of its views; any key listed under Close closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, sections: list[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(keys_table(self.sections), id="keys")
            yield Static("Every action is also in the command palette (ctrl+p). Esc closes.", classes="dialog-hint")
