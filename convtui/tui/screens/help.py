"""The keys, listed from the bindings themselves so the help never disagrees with the app;
in two columns where the terminal is wide enough, so a 120x40 terminal shows them all without scrolling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from convtui.tui.bindings import EDIT_BINDINGS, FILE_BINDINGS, GRAPH_BINDINGS, TABLE_BINDINGS, TRAIN_BINDINGS, VIEW_BINDINGS, key_text
from convtui.tui.screens.dialog import Dialog

HelpSection = tuple[str, Iterable[Binding]]
SheetRow = tuple[str, str | None, str]
"""(section, keys, description) for one line of the sheet; keys None on the section's title line."""
TWO_COLUMNS_WIDTH = 90
"""Below this many cells, one column: two would wrap most descriptions."""
HINT = "Every action is also in the command palette (ctrl+p). Esc closes."
SCROLL_HINT = "More keys below: ↑↓ PgUp PgDn scroll. Every action is in the palette (ctrl+p). Esc closes."
END_HINT = "That is every key (↑ PgUp scroll back). Every action is in the palette (ctrl+p). Esc closes."
TABLE_SECTION = "Layer table (when focused)"
SECTION_LISTS = (EDIT_BINDINGS, GRAPH_BINDINGS, VIEW_BINDINGS, FILE_BINDINGS, TRAIN_BINDINGS, TABLE_BINDINGS)


def sheet_rows(sections: Iterable[HelpSection]) -> list[SheetRow]:
    """Every section as lines: its title, then its keys; a blank line between sections."""
    rows: list[SheetRow] = []
    for title, bindings in sections:
        if rows:
            rows.append((title, "", ""))
        rows.append((title, None, title))
        rows.extend((title, key_text(binding), binding.description) for binding in bindings)
    return rows


def paired(bindings: Iterable[Binding]) -> dict[str, str]:
    """Description -> the next one's, for neighbouring keys that undo each other: one action with opposite
    numbers (step_filter(1), step_filter(-1); move(-1, 0), move(1, 0)), and undo / redo."""
    import ast

    def opposite(first: str, second: str) -> bool:
        if first == "undo" or second == "undo":
            return {first, second} == {"undo", "redo"}
        name, _, arguments = first.partition("(")
        other, _, other_arguments = second.partition("(")
        if name != other or not arguments:
            return False
        try:
            values = ast.literal_eval(f"({arguments}")
            other_values = ast.literal_eval(f"({other_arguments}")
        except (ValueError, SyntaxError):
            return False
        first_values = values if isinstance(values, tuple) else (values,)
        second_values = other_values if isinstance(other_values, tuple) else (other_values,)
        numbers = all(isinstance(value, int) for value in (*first_values, *second_values))
        return numbers and len(first_values) == len(second_values) and all(a == -b for a, b in zip(first_values, second_values))

    listed = list(bindings)
    return {upper.description: lower.description for upper, lower in zip(listed, listed[1:]) if opposite(upper.action, lower.action)}


def kept_together(upper: SheetRow, lower: SheetRow, pairs: Mapping[str, str]) -> bool:
    """Two lines no column break goes between: a title and its first key, or the two keys of a pair."""
    return upper[1] is None or (upper[0] == lower[0] and pairs.get(upper[2]) == lower[2])


def split_in_two(rows: list[SheetRow], pairs: Mapping[str, str] | None = None) -> tuple[list[SheetRow], list[SheetRow]]:
    """Two columns as even as they go without parting a pair of keys ("] Next filter", "[ Previous filter")
    or a title from its keys; at a section's end when that is as even, else a section cut in two has its
    title again, "(continued)", on top of the second column. `pairs`: see `paired` (default: the app's keys').
    """
    if pairs is None:
        pairs = {key: value for bindings in SECTION_LISTS for key, value in paired(bindings).items()}

    def columns(cut: int) -> tuple[list[SheetRow], list[SheetRow]]:
        left, right = rows[:cut], rows[cut:]
        if right and right[0][1] == "":
            right = right[1:]
        elif right and right[0][1] is not None:
            section = right[0][0]
            right = [(section, None, f"{section} (continued)"), *right]
        return left, right

    def cost(cut: int) -> tuple[int, int]:
        left, right = columns(cut)
        at_section_end = rows[cut][1] == ""
        return max(len(left), len(right)), 0 if at_section_end else 1

    cuts = [cut for cut in range(1, len(rows)) if rows[cut - 1][1] != "" and not kept_together(rows[cut - 1], rows[cut], pairs)]
    return columns(min(cuts, key=cost)) if cuts else (rows, [])


class KeySheet:
    """Every section's keys: in two columns when there is room, else one."""

    def __init__(self, sections: Iterable[HelpSection]) -> None:
        listed = [(title, list(bindings)) for title, bindings in sections]
        self.rows = sheet_rows(listed)
        self.pairs = {key: value for _, bindings in listed for key, value in paired(bindings).items()}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width < TWO_COLUMNS_WIDTH:
            yield keys_table(self.rows)
            return
        columns = Table.grid(padding=(0, 4))
        columns.add_row(*(keys_table(half) for half in split_in_two(self.rows, self.pairs)))
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
        self.sections = with_table_keys(sections)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll(id="keys-scroll"):
                yield Static(KeySheet(self.sections), id="keys")
            yield Static(HINT, id="help-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.watch(self.query_one("#keys-scroll", VerticalScroll), "scroll_y", self.show_hint, init=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_hint)

    def show_hint(self) -> None:
        """Mention scrolling only while keys are left below: the hint follows the scroll position."""
        scroll = self.query_one("#keys-scroll", VerticalScroll)
        hint = HINT if scroll.max_scroll_y <= 0 else SCROLL_HINT if scroll.scroll_y < scroll.max_scroll_y else END_HINT
        self.query_one("#help-hint", Static).update(hint)


def with_table_keys(sections: list[HelpSection]) -> list[HelpSection]:
    """The layer table's own keys (Home, End, ctrl+home...) after the first section, the stack's keys."""
    if any(title == TABLE_SECTION for title, _ in sections):
        return sections
    return [*sections[:1], (TABLE_SECTION, TABLE_BINDINGS), *sections[1:]]
