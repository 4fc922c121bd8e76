"""The keys, listed from the bindings themselves so the help never disagrees with the app;
in two columns where the terminal is wide enough, so a 120x40 terminal shows them all without scrolling.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from convtui.tui.bindings import key_text
from convtui.tui.screens.dialog import Dialog

HelpSection = tuple[str, Iterable[Binding]]
SheetRow = tuple[str, str | None, str]
"""(section, keys, description) for one line of the sheet; keys None on the section's title line."""
TWO_COLUMNS_WIDTH = 90
"""Below this many cells, one column: two would wrap most descriptions."""
HINT = "Every action is also in the command palette (ctrl+p). Esc closes."
SCROLL_HINT = "More keys below: ↑↓ PgUp PgDn scroll. Every action is in the palette (ctrl+p). Esc closes."


def sheet_rows(sections: Iterable[HelpSection]) -> list[SheetRow]:
    """Every section as lines: its title, then its keys; a blank line between sections."""
    rows: list[SheetRow] = []
    for title, bindings in sections:
        if rows:
            rows.append((title, "", ""))
        rows.append((title, None, title))
        rows.extend((title, key_text(binding), binding.description) for binding in bindings)
    return rows


def split_in_two(rows: list[SheetRow]) -> tuple[list[SheetRow], list[SheetRow]]:
    """Two columns of even length: a section cut in two has its title again, "(continued)", on top of the second."""
    cut = (len(rows) + 1) // 2
    if rows[cut - 1][1] is None:
        cut -= 1
    left, right = rows[:cut], rows[cut:]
    if right and right[0][1] == "":
        right = right[1:]
    elif right and right[0][1] is not None:
        section = right[0][0]
        right = [(section, None, f"{section} (continued)"), *right]
    return left, right


class KeySheet:
    """Every section's keys: in two columns when there is room, else one."""

    def __init__(self, sections: Iterable[HelpSection]) -> None:
        self.rows = sheet_rows(sections)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width < TWO_COLUMNS_WIDTH:
            yield keys_table(self.rows)
            return
        columns = Table.grid(padding=(0, 4))
        columns.add_row(*(keys_table(half) for half in split_in_two(self.rows)))
        yield columns


def keys_table(rows: Iterable[SheetRow]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, justify="right")
    table.add_column()
    for _, keys, description in rows:
        table.add_row(keys or "", Text(description, style="bold underline") if keys is None else description)
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
            with VerticalScroll(id="keys-scroll"):
                yield Static(KeySheet(self.sections), id="keys")
            yield Static(HINT, id="help-hint", classes="dialog-hint")

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_hint)

    def show_hint(self) -> None:
        """Mention scrolling only when the keys do not all fit."""
        scrolls = self.query_one("#keys-scroll", VerticalScroll).max_scroll_y > 0
        self.query_one("#help-hint", Static).update(SCROLL_HINT if scrolls else HINT)
