"""The editing actions of the App: each builds the next immutable stack and hands it to `edit`,
so every one of them can be undone. A mixin, so the bindings and the palette find them on the App.
"""

from __future__ import annotations

from convtui.model.layers import Layer
from convtui.model.stack import Stack
from convtui.tui.answers import input_shape_answer, seed_answer
from convtui.tui.history import EditHistory
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.layer_picker import LayerPicker
from convtui.tui.screens.prompt import Prompt
from convtui.tui.state import ViewState


class EditingActions:
    """Add, edit, delete, move, input shape, seed, undo, redo."""

    history: EditHistory
    stack: Stack
    view_state: ViewState
    seed: int

    def action_add_layer(self) -> None:
        position = self.view_state.selected_layer + 1

        def chosen(layer_type: type[Layer] | None) -> None:
            if layer_type is not None:
                self.push_screen(LayerForm(layer_type, input_shape=self.shape_before(position)), added)

        def added(layer: Layer | None) -> None:
            if layer is not None:
                self.edit(self.stack.with_inserted(position, layer), select=position)

        self.push_screen(LayerPicker(position), chosen)

    def shape_before(self, position: int) -> tuple[int, ...] | None:
        """The shape a layer at `position` receives (None after an invalid layer)."""
        if position == 0:
            return self.stack.input_shape
        return self.view_state.stack_info.layers[position - 1].output_shape

    def action_edit_layer(self) -> None:
        index = self.view_state.selected_layer
        if index < 0:
            self.action_input_shape()
            return
        layer = self.stack.layers[index]

        def edited(new_layer: Layer | None) -> None:
            if new_layer is not None:
                self.edit(self.stack.with_layer(index, new_layer), select=index)

        self.push_screen(LayerForm(type(layer), layer=layer, input_shape=self.shape_before(index)), edited)

    def action_delete_layer(self) -> None:
        index = self.view_state.selected_layer
        if index < 0:
            self.notify("Select a layer to delete (the input row stays).", severity="warning")
            return
        self.edit(self.stack.without(index), select=min(index, len(self.stack.layers) - 2))

    def action_move_layer(self, offset: int) -> None:
        index = self.view_state.selected_layer
        if 0 <= index and 0 <= index + offset < len(self.stack.layers):
            self.edit(self.stack.with_moved(index, offset), select=index + offset)

    def action_input_shape(self) -> None:
        current = ", ".join(map(str, self.stack.input_shape))
        prompt = Prompt("Input shape", "height, width, channels (Keras order, whatever the convention shown)", current, input_shape_answer)

        def chosen(shape: tuple[int, ...] | None) -> None:
            if shape is not None:
                self.edit(self.stack.with_input_shape(shape))

        self.push_screen(prompt, chosen)

    def action_seed(self) -> None:
        def chosen(seed: int | None) -> None:
            if seed is not None and seed != self.seed:
                self.seed = seed
                self.start_run()

        self.push_screen(Prompt("Seed", "the seed of the initial weights (Keras initialisers)", str(self.seed), seed_answer), chosen)

    def action_undo(self) -> None:
        if self.history.undo():
            self.stack_changed()
        else:
            self.notify("Nothing to undo.")

    def action_redo(self) -> None:
        if self.history.redo():
            self.stack_changed()
        else:
            self.notify("Nothing to redo.")

