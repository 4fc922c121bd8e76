"""The editing actions of the App: each builds the next immutable stack and hands it to `edit`,
so every one of them can be undone. A mixin, so the bindings and the palette find them on the App.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from convtui.errors import PresetError
from convtui.model import layers as catalogue
from convtui.model.blocks import TableRow
from convtui.model.graph import INPUT_NAME
from convtui.model.layers import Layer, Shape
from convtui.model.stack import Stack
from convtui.tui.answers import input_shape_answer, seed_answer
from convtui.tui.history import EditHistory, Version
from convtui.tui.state import ViewState

if TYPE_CHECKING:
    from convtui.tui.graph_edits import EditRefused, NodeChoice
    from convtui.tui.screens.choose_node import NodeOption
    from convtui.tui.screens.residual import WrapChoice


class EditingActions:
    """Add, branch, wrap, concatenate, edit, delete, move, input shape, seed, undo, redo."""

    history: EditHistory[Version]
    stack: Stack
    view_state: ViewState
    seed: int
    selection: Callable[[], int]
    edit_version: Callable[[Version, int | None], None]
    version_changed: Callable[[Stack, int | None], None]

    def edit_graph(self, build: Callable[[], Stack], select: int) -> None:
        """Make the stack `build` gives current (undoable); a graph it would break, or an edit that would change
        more than asked, is refused with the reason."""
        from convtui.tui.graph_edits import EditRefused

        try:
            stack = build()
        except PresetError as error:
            self.notify(error.message, title="Edit refused", severity="error", timeout=10)
            return
        except EditRefused as refusal:
            self.refuse(refusal)
            return
        self.record_edit(self.history.current.with_stack(stack), select)

    def record_edit(self, version: Version, select: int | None = None) -> None:
        """Make `version` current, remembering for undo the layer selected now (the one the edit touches) and
        for redo the one it selects, so that undo and redo select the layer the edit changed."""
        here = self.selection()
        self.history.current = replace(self.history.current, selected=here)  # compare=False: still the same version
        self.edit_version(replace(version, selected=here if select is None else select), select)

    def selected_fold(self) -> TableRow | None:
        """The folded block whose row is selected (the table selects its last layer), else None: the keys
        that act on one layer must not act, unseen, on a layer inside a fold."""
        return self.view_state.folded_row

    def refuse(self, refusal: EditRefused) -> None:
        self.notify(refusal.message, title="Edit refused", severity="warning", timeout=10)

    def folded_refusal(self, row: TableRow, doing: str) -> None:
        """Say that the selected row is a folded block, so a key meant for one layer does nothing unseen inside it."""
        block = row.block
        self.notify(f"{block} is a folded block of {len(row.layers)} layers: z expands it, then {doing} one of its layers.", title=f"{block} is folded")

    def node_options(self, count: int) -> list[NodeOption]:
        """The input and the first `count` layers, as the node choosers list them."""
        layers = self.view_state.stack_info.layers[:count]
        return [(INPUT_NAME, "the network's input", self.stack.input_shape)] + [
            (info.name, info.layer.label, info.output_shape) for info in layers
        ]

    def open_layer_form(self, layer_type: type[Layer], position: int, *, inputs: tuple[str, ...] | None = None, aside: bool = False) -> None:
        """The form for a new layer at `position` (taking the layer above unless `inputs` says otherwise)."""
        from convtui.tui.graph_edits import node_context, with_new_node
        from convtui.tui.screens.layer_form import LayerForm

        context = node_context(self.stack, self.view_state.stack_info, position, inserting=True, layer_type=layer_type)
        if inputs is not None:
            context = replace(context, inputs=inputs)

        def added(choice: NodeChoice | None) -> None:
            if choice is not None:
                self.edit_graph(lambda: with_new_node(self.stack, position, choice, aside=aside), position)

        self.push_screen(LayerForm(layer_type, context), added)

    def action_add_layer(self) -> None:
        from convtui.tui.graph_edits import merge_inputs
        from convtui.tui.screens.layer_picker import LayerPicker

        position = self.selection() + 1

        def chosen(layer_type: type[Layer] | None) -> None:
            if layer_type is not None:
                inputs = merge_inputs(self.stack, position) if layer_type.min_inputs > 1 else None
                self.open_layer_form(layer_type, position, inputs=inputs)

        self.push_screen(LayerPicker(position, self.output_shape_of(self.selection())), chosen)

    def output_shape_of(self, source: int | str) -> Shape | None:
        """What a layer taking `source` (a layer index or node name; -1 or "input" for the model's input) receives."""
        stack_info = self.view_state.stack_info
        info = stack_info.named(source) if isinstance(source, str) else (stack_info.layers[source] if 0 <= source < len(stack_info.layers) else None)
        return stack_info.input_shape if info is None else info.output_shape

    def action_branch(self) -> None:
        """A layer after the selected one that takes an earlier layer: the layers below keep what they take."""
        from convtui.tui.screens.choose_node import ChooseNode
        from convtui.tui.screens.layer_picker import LayerPicker

        position = self.selection() + 1
        chooser = ChooseNode(
            f"Branch: what does the new layer at position {position} take?",
            "The output of the layer you choose. The layers below keep what they take, until a merge (w, +) joins the branch back.",
            self.node_options(position),
            highlighted=position,
        )

        def source_chosen(source: str | None) -> None:
            if source is not None:
                self.push_screen(LayerPicker(position, self.output_shape_of(source)), lambda layer_type: type_chosen(source, layer_type))

        def type_chosen(source: str, layer_type: type[Layer] | None) -> None:
            if layer_type is not None:
                self.open_layer_form(layer_type, position, inputs=(source,), aside=True)

        self.push_screen(chooser, source_chosen)

    def action_add_concatenate(self) -> None:
        from convtui.tui.graph_edits import merge_inputs

        position = self.selection() + 1
        self.open_layer_form(catalogue.Concatenate, position, inputs=merge_inputs(self.stack, position))

    def action_wrap_residual(self) -> None:
        from convtui.tui.graph_edits import residual_plan, with_residual
        from convtui.tui.screens.residual import ResidualDialog

        last = self.selection()
        if last < 0:
            self.notify("Select the last layer to wrap in a residual connection.", severity="warning")
            return
        stack, stack_info = self.stack, self.view_state.stack_info
        dialog = ResidualDialog(self.node_options(last + 1)[1:], lambda first: residual_plan(stack, stack_info, first, last))

        def wrapped(choice: WrapChoice | None) -> None:
            if choice is not None:
                plan, project = choice
                select = last + (2 if project else 1)
                self.edit_graph(lambda: with_residual(stack, plan, project=project), select)

        self.push_screen(dialog, wrapped)

    def action_edit_layer(self) -> None:
        from convtui.tui.graph_edits import node_context, with_node
        from convtui.tui.screens.layer_form import LayerForm

        index = self.selection()
        if index < 0:
            self.action_input_shape()
            return
        folded = self.selected_fold()
        if folded is not None:
            self.folded_refusal(folded, "e edits")
            return
        layer = self.stack.layers[index]
        context = node_context(self.stack, self.view_state.stack_info, index, inserting=False, layer_type=type(layer))

        def edited(choice: NodeChoice | None) -> None:
            if choice is not None:
                self.edit_graph(lambda: with_node(self.stack, index, choice), index)
                if choice.name != context.name and self.stack.names[index] == choice.name:
                    self.tell_reseeded(context.name, choice.name)

        self.push_screen(LayerForm(type(layer), context, layer=layer), edited)

    def tell_reseeded(self, old: str, new: str) -> None:
        """A renamed layer whose weights come from the seed gets new ones (they are drawn by name, as `convtui run`
        draws them from the saved file): say so, since every map after it changes too."""
        opened = self.history.current.weights
        if opened is not None and old in (info.name for info in opened.stack_info.layers):
            return  # loaded or trained weights follow a rename (opened_weights.carry_weights)
        self.notify(
            f"{old} is now {new}: seeded weights are drawn by a layer's name, so its weights are new ones, as they will be"
            " for the saved file; u undoes the rename.",
            title="Renamed",
            timeout=8,
        )

    def action_delete_layer(self) -> None:
        """Delete; what took the layer takes its input, or the input the user picks when a merge makes that ambiguous."""
        from convtui.tui.graph_edits import reconnect_choices
        from convtui.tui.screens.choose_node import ChooseNode

        index = self.selection()
        if index < 0:
            self.notify("Select a layer to delete (the input row stays).", severity="warning")
            return
        folded = self.selected_fold()
        if folded is not None:
            self.delete_block(folded)
            return
        select = min(index, len(self.stack.layers) - 2)
        choices = reconnect_choices(self.stack, index)
        if not choices:
            self.edit_graph(lambda: self.stack.without(index), select)
            return
        name = self.stack.names[index]
        shapes = {option[0]: option for option in self.node_options(index)}
        chooser = ChooseNode(
            f"Delete {name}: what takes its place?",
            f"{name} joins {len(choices)} inputs; the layers that took it will take the one you choose.",
            [shapes[choice] for choice in choices],
        )

        def chosen(replacement: str | None) -> None:
            if replacement is not None:
                self.edit_graph(lambda: self.stack.without(index, reconnect_to=replacement), select)

        self.push_screen(chooser, chosen)

    def delete_block(self, row: TableRow) -> None:
        """d on a folded row: the whole block, once the user confirms, or why it cannot go at once."""
        from convtui.tui.graph_edits import EditRefused, block_source, without_block
        from convtui.tui.screens.confirm import DeleteBlock

        first, last = row.layers[0], row.layers[-1]
        try:
            source = block_source(self.stack, first, last)
        except EditRefused as refusal:
            self.refuse(refusal)
            return

        def answered(delete: bool | None) -> None:
            if delete:
                self.edit_graph(lambda: without_block(self.stack, first, last), min(first, len(self.stack.layers) - len(row.layers) - 1))

        self.push_screen(DeleteBlock(row.block or "", len(row.layers), source), answered)

    def action_move_layer(self, offset: int) -> None:
        """K / J: in a graph every layer keeps what it takes (see graph_edits.with_moved); a folded block stays put."""
        from convtui.tui.graph_edits import with_moved

        index = self.selection()
        folded = self.selected_fold()
        if folded is not None:
            self.folded_refusal(folded, "K and J move")
        elif 0 <= index and 0 <= index + offset < len(self.stack.layers):
            self.edit_graph(lambda: with_moved(self.stack, index, offset), index + offset)

    def action_input_shape(self) -> None:
        from convtui.tui.screens.prompt import Prompt

        current = ", ".join(map(str, self.stack.input_shape))
        prompt = Prompt("Input shape", "height, width, channels (Keras order, whatever the convention shown)", current, input_shape_answer)

        def chosen(shape: tuple[int, ...] | None) -> None:
            if shape is not None:
                self.record_edit(self.history.current.with_stack(self.stack.with_input_shape(shape)))

        self.push_screen(prompt, chosen)

    def action_seed(self) -> None:
        from convtui.tui.screens.prompt import Prompt

        def chosen(seed: int | None) -> None:
            if seed is not None:
                self.record_edit(replace(self.history.current, seed=seed))  # undoable, and unsaved until saved

        self.push_screen(Prompt("Seed", "the seed of the initial weights (Keras initialisers)", str(self.seed), seed_answer), chosen)

    def action_undo(self) -> None:
        self.step_history(self.history.undo, "Nothing to undo.")

    def action_redo(self) -> None:
        self.step_history(self.history.redo, "Nothing to redo.")

    def step_history(self, step: Callable[[], bool], nothing: str) -> None:
        """Undo or redo, selecting the layer the edit undone or redone touched (Version.selected)."""
        before = self.stack
        if step():
            self.version_changed(before, self.history.current.selected)
        else:
            self.notify(nothing)

