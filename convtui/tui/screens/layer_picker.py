"""The add-layer picker: every layer type with what it does; typing finds a type, choosing one opens the layer form."""

from __future__ import annotations

from rich.table import Table
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from convtui.model.convention import shape_text
from convtui.model.layers import LAYER_TYPES, Layer, Shape
from convtui.tui.screens.dialog import Dialog


NAME_WIDTH = max(len(layer_type.type_name) for layer_type in LAYER_TYPES) + 2
TYPES_BY_NAME = {layer_type.type_name: layer_type for layer_type in LAYER_TYPES}
HINT = "Type to find · ↑↓ move · Enter or click chooses · Esc cancels"
FIND_HINT = "Backspace deletes a letter · Esc clears the search · Enter chooses"


def type_prompt(layer_type: type[Layer]) -> Table:
    """The type's name in a column of its own, then what it does."""
    prompt = Table.grid()
    prompt.add_column(width=NAME_WIDTH, style="bold", no_wrap=True)
    prompt.add_column(style="dim")
    prompt.add_row(layer_type.type_name, layer_type.description)
    return prompt


def matching_types(typed: str) -> list[type[Layer]]:
    """The types whose name contains what was typed (any case), in the catalogue's order."""
    typed = typed.casefold()
    return [layer_type for layer_type in LAYER_TYPES if typed in layer_type.type_name.casefold()]


def best_match(typed: str, matches: list[type[Layer]]) -> int:
    """Where the cursor goes: the first name that starts with what was typed, else the first match."""
    typed = typed.casefold()
    return next((index for index, layer_type in enumerate(matches) if layer_type.type_name.casefold().startswith(typed)), 0)


def placement_note(layer_type: type[Layer], input_shape: Shape | None) -> str | None:
    """What a learner usually puts first: Dense after a spatial (H, W, C) output acts on each pixel alone."""
    if layer_type.type_name != "Dense" or input_shape is None or len(input_shape) != 3:
        return None
    return (
        f"Dense on {shape_text(input_shape)} acts on each pixel's {input_shape[-1]} channels separately; "
        "to classify the whole image, Flatten or GlobalAveragePooling2D usually comes first."
    )


class LayerPicker(Dialog[type[Layer] | None]):
    """Dismisses with the chosen layer type, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel / clear the search")]

    def __init__(self, position: int, input_shape: Shape | None = None) -> None:
        """`input_shape`: what the new layer will receive, for notes on what usually comes first."""
        super().__init__()
        self.position = position
        self.input_shape = input_shape
        self.typed = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="layer-picker"):
            yield Label(f"Add a layer at position {self.position}", classes="dialog-title")
            yield Static(id="picker-find", classes="dialog-hint", markup=False)
            yield OptionList(*self.options(LAYER_TYPES))
            yield Static(id="picker-note", markup=False)
            yield Static(HINT, id="picker-hint", classes="dialog-hint")

    def options(self, layer_types: list[type[Layer]]) -> list[Option]:
        return [Option(type_prompt(layer_type), id=layer_type.type_name) for layer_type in layer_types]

    def on_mount(self) -> None:
        self.show_search()

    def on_key(self, event: events.Key) -> None:
        """Letters and digits extend the search, Backspace shortens it; OptionList keeps the other keys."""
        if self.typeahead(event.key, event.character):
            event.stop()
            event.prevent_default()

    def typeahead(self, key: str, character: str | None) -> bool:
        """The search takes letters and digits, and Backspace, typed before the picker had the keyboard as after."""
        if character and character.isalnum():
            self.search(self.typed + character)
        elif key == "backspace" and self.typed:
            self.search(self.typed[:-1])
        else:
            return False
        return True

    def search(self, typed: str) -> None:
        """Show only the types that match, the cursor on the best one."""
        self.typed = typed
        matches = matching_types(typed)
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(self.options(matches))
        option_list.highlighted = best_match(typed, matches) if matches else None
        self.show_search()

    def show_search(self) -> None:
        find = self.query_one("#picker-find", Static)
        count = self.query_one(OptionList).option_count
        find.update(f"Find: {self.typed}  ({count} of {len(LAYER_TYPES)} types)" if count else f'Find: {self.typed}  (no layer type contains "{self.typed}")')
        find.display = bool(self.typed)
        self.query_one("#picker-hint", Static).update(FIND_HINT if self.typed else HINT)
        self.show_note()

    @on(OptionList.OptionHighlighted)
    def show_note(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        note = placement_note(TYPES_BY_NAME[option.id], self.input_shape) if option is not None and option.id else None
        picker_note = self.query_one("#picker-note", Static)
        picker_note.update(note or "")
        picker_note.display = note is not None

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(TYPES_BY_NAME[event.option.id])

    def action_cancel(self) -> None:
        """Esc clears a search first, then cancels."""
        if self.typed:
            self.search("")
        else:
            self.dismiss(None)
