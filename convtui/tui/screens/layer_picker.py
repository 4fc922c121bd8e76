"""The add-layer picker: every layer type with what it does; choosing one opens the layer form."""

from __future__ import annotations

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from convtui.model.layers import LAYER_TYPES, Layer
from convtui.tui.screens.dialog import Dialog


NAME_WIDTH = max(len(layer_type.type_name) for layer_type in LAYER_TYPES) + 2


def type_prompt(layer_type: type[Layer]) -> Table:
    """The type's name in a column of its own, then what it does."""
    prompt = Table.grid()
    prompt.add_column(width=NAME_WIDTH, style="bold", no_wrap=True)
    prompt.add_column(style="dim")
    prompt.add_row(layer_type.type_name, layer_type.description)
    return prompt


class LayerPicker(Dialog[type[Layer] | None]):
    """Dismisses with the chosen layer type, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, position: int) -> None:
        super().__init__()
        self.position = position

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="layer-picker"):
            yield Label(f"Add a layer at position {self.position}", classes="dialog-title")
            yield OptionList(*(Option(type_prompt(layer_type), id=layer_type.type_name) for layer_type in LAYER_TYPES))
            yield Static("Enter or click chooses, Esc cancels", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(LAYER_TYPES[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
