"""Explain: the selected layer's worked formulas and, for convolutions, the drill-down of one
output value (filter k at position (i, j)) into what each input channel contributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.reactive import reactive

from convtui.model.blocks import folded_block
from convtui.model.convention import display_shape, shape_text
from convtui.model.units import counted
from convtui.render.summary import formulas_renderable
from convtui.tui.state import ViewState
from convtui.tui.widgets.drilldown import drilldown_renderable
from convtui.tui.widgets.notices import run_notice
from convtui.tui.widgets.state_view import StateView

if TYPE_CHECKING:
    import numpy as np


def block_summary(view: StateView, state: ViewState, inside: str) -> RenderableType | None:
    """On a folded row, what the block does as a whole, in place of its last layer's figures (which read "params: 0"
    for a block ending in an activation); None on a layer's own row. `inside`: what `z` shows of each layer."""
    row = state.folded_row
    if row is None:
        return None
    block = folded_block(state.stack_info, row)

    def named(names: tuple[str, ...], shapes: tuple[object, ...]) -> str:
        return ", ".join(f"{name} {shape_text(display_shape(shape, state.convention)) if shape else 'invalid'}" for name, shape in zip(names, shapes))

    first, last = row.layers[0], row.layers[-1]
    lines = [
        view.styled(f"Block {block.name}, folded: layers {first}-{last} ({counted(len(row.layers), 'layer')})", "title"),
        Text(f"  takes   {named(block.inputs, block.input_shapes)}"),
        Text(f"  gives   {named(block.outputs, block.output_shapes)}"),
        Text(f"  params  {block.params:,}"),
        Text(f"  MACs    {block.macs:,}"),
        view.styled(f"z expands the block, to show each layer's {inside}.", "muted"),
    ]
    return Group(*lines)


class ExplainView(StateView):
    """Thin: formulas from the model, drill-down from the engine's contributions."""

    can_focus = True
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Row up", show=False),
        Binding("down", "move(1, 0)", "Row down", show=False),
        Binding("left", "move(0, -1)", "Column left", show=False),
        Binding("right", "move(0, 1)", "Column right", show=False),
    ]

    position: reactive[tuple[int, int] | None] = reactive(None, layout=True)
    """The output position (i, j) of the drill-down; None until moved: the filter's strongest response."""

    def follow_state(self, state: ViewState | None) -> None:
        """A newly selected layer starts at its filter's strongest response again."""
        if state is None or self.state is None or state.selected_layer != self.state.selected_layer:
            self.position = None
        super().follow_state(state)

    def render_state(self, state: ViewState) -> RenderableType:
        from convtui.engine.contributions import supports_drilldown

        if state.layer is None:
            shape = shape_text(display_shape(state.stack_info.input_shape, state.convention))
            return self.styled(f"Input {shape}: the image every layer below starts from. Select a layer to see its formulas.", "muted")
        summary = block_summary(self, state, "formulas")
        if summary is not None:
            return summary
        parts: list[RenderableType] = [formulas_renderable(state.stack_info, state.selected_layer, state.convention)]
        if supports_drilldown(state.layer.layer):
            parts.append(self.drilldown(state))
        return Group(*parts)

    def on_focus(self) -> None:
        """The arrows move the drill-down: bring it up into view (below a layer's formulas it started out of sight), and say so."""
        self.refresh()
        state = self.state
        if state is None or state.layer is None or not isinstance(self.parent, ScrollableContainer):
            return
        formulas = formulas_renderable(state.stack_info, state.selected_layer, state.convention)
        lines = self.app.console.render_lines(formulas, self.app.console.options.update_width(max(1, self.content_region.width)), pad=False)
        self.parent.scroll_to(y=len(lines), animate=False)

    def on_blur(self) -> None:
        self.refresh()  # the hint says how to focus the view again

    def clamped_position(self, state: ViewState, filter_output: np.ndarray | None) -> tuple[int, int]:
        """The chosen position inside the output; before any move, where the filter responds most."""
        import numpy as np

        output_shape = state.layer.output_shape if state.layer else None
        if not output_shape or len(output_shape) != 3:
            return (0, 0)
        if self.position is None:
            if filter_output is None:
                return (output_shape[0] // 2, output_shape[1] // 2)
            row, column = np.unravel_index(int(np.argmax(filter_output)), filter_output.shape)
            return (int(row), int(column))
        return (min(self.position[0], output_shape[0] - 1), min(self.position[1], output_shape[1] - 1))

    def drilldown(self, state: ViewState) -> RenderableType:
        from convtui.engine.contributions import layer_drilldown

        info = state.layer
        assert info is not None
        filter_index = state.selected_filter
        hint = self.styled(
            "the arrows move (i, j), [ and ] choose the filter; Tab or Esc: back to the stack"
            if self.has_focus
            else "Tab or a click focuses this view; then the arrows move (i, j), [ and ] choose the filter",
            "muted",
        )
        notice = run_notice(state)
        result = state.shown_run
        if notice is not None or result is None:
            title = self.styled(f"\nDrill-down: filter {filter_index}", "title")
            return Group(title, hint, self.notice_text(notice) if notice else Text(""))
        layer_input, output = result.layer_input(info, state.stack_info), result.output(info.index)
        assert layer_input is not None and output is not None
        row, column = self.clamped_position(state, output[:, :, filter_index])
        drilldown = layer_drilldown(info.layer, layer_input, result.weights[info.index], filter_index, row, column)
        engine_value = float(output[row, column, filter_index])
        position = display_shape((row, column, filter_index), state.convention)
        channels = f"{len(drilldown.channels)} input channel{'s' if len(drilldown.channels) != 1 else ''}"
        made_of = f"{channels} and the bias" if drilldown.bias is not None else f"{channels} (no bias)"
        title = self.styled(f"\nDrill-down: output {position} = {engine_value:.4g}, made of its {made_of}", "title")
        activation = getattr(info.layer, "activation", None)
        how = [self.styled(drilldown.how, "muted")] if drilldown.how else []
        return Group(title, *how, hint, drilldown_renderable(drilldown, activation, engine_value, state.convention))

    def action_move(self, rows: int, columns: int) -> None:
        state = self.state
        result = state.shown_run if state is not None else None
        info = state.layer if state is not None else None
        if state is None or info is None or not info.output_shape or len(info.output_shape) != 3:
            return
        output = result.output(info.index) if result is not None else None
        filter_output = output[:, :, state.selected_filter] if output is not None else None
        row, column = self.clamped_position(state, filter_output)
        height, width = info.output_shape[:2]
        self.position = (max(0, min(row + rows, height - 1)), max(0, min(column + columns, width - 1)))
