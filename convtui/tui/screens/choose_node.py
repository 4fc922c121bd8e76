"""Choose one node of the graph from a list (the layer to branch from, the input to reconnect to),
each shown with its output shape so the learner picks by what it gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from convtui.model.convention import shape_text
from convtui.model.layers import Shape
from convtui.tui.screens.dialog import Dialog

NodeOption = tuple[str, str, Shape | None]
"""A node's name, what it is (its layer's label, or "the network's input") and its output shape."""


def option_texts(option: NodeOption) -> tuple[str, str, str]:
    name, what, shape = option
    return name, shape_text(shape) if shape is not None else "invalid", what


def node_prompts(options: Sequence[NodeOption]) -> list[Option]:
    """One option per node: name, shape and what it is, in columns as wide as the widest."""
    rows = [option_texts(option) for option in options]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    prompts = []
    for row in rows:
        prompt = Table.grid(padding=(0, 2))
        prompt.add_column(width=widths[0], style="bold", no_wrap=True)
        prompt.add_column(width=widths[1], no_wrap=True)
        prompt.add_column(style="dim")
        prompt.add_row(*row)
        prompts.append(Option(prompt, id=row[0]))
    return prompts


class ChooseNode(Dialog[str | None]):
    """Dismisses with the chosen node's name, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, description: str, options: Sequence[NodeOption], highlighted: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.description = description
        self.options = list(options)
        self.highlighted = highlighted

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="choose-node"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.description, classes="dialog-description")
            yield OptionList(*node_prompts(self.options))
            yield Static("Enter or click chooses, Esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = self.highlighted

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index][0])

    def action_cancel(self) -> None:
        self.dismiss(None)
