"""Compare: the current stack set against a second one (a preset or a file), layer by layer, as
`convtui diff` shows them: the other stack on the left, the current one on the right, so the
changes read as what the current stack does differently. It follows every edit.

The table is never drawn narrower than MIN_TABLE_WIDTH: in a narrow terminal the pane scrolls
sideways (left and right when the view has focus, or the mouse) rather than squeezing layer
names to a few letters.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.measure import Measurement
from textual.binding import Binding
from textual.geometry import Size
from textual.widget import Widget

from convtui.model.diff import StackDiff, diff_stacks
from convtui.model.stack import StackInfo
from convtui.render.diff import diff_renderable
from convtui.tui.state import Comparison, ViewState
from convtui.tui.widgets.state_view import StateView

CURRENT_TITLE = "current"
UNBOUNDED_WIDTH = 1000
"""Measured at this width, the table says how wide it wants to be rather than what the terminal allows."""
MIN_TABLE_WIDTH = 100
"""Below this the shared diff table cuts layer names short; wider, it only wraps them."""
SIDEWAYS_STEP = 10


class CompareView(StateView):
    """Thin: the shared diff renderable of (the compared stack, the current stack)."""

    can_focus = True
    BINDINGS = [
        Binding("left", "sideways(-1)", "Scroll left", show=False),
        Binding("right", "sideways(1)", "Scroll right", show=False),
    ]
    shown: tuple[Comparison, StackInfo, StackDiff] | None = None

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The pane's width; more (up to the table's natural width, at most MIN_TABLE_WIDTH) when the pane is narrow."""
        state = self.state
        if state is None or state.compared is None:
            return container.width
        console = self.app.console
        table = diff_renderable(self.diff(state.compared, state.stack_info), state.convention, titles=(state.compared.title, CURRENT_TITLE))
        natural = Measurement.get(console, console.options.update_width(UNBOUNDED_WIDTH), table).maximum
        return max(container.width, min(natural, MIN_TABLE_WIDTH))

    def action_sideways(self, direction: int) -> None:
        if isinstance(self.parent, Widget):
            self.parent.scroll_relative(x=direction * SIDEWAYS_STEP, animate=False)

    def render_state(self, state: ViewState) -> RenderableType:
        compared = state.compared
        if compared is None:
            return self.styled(
                "Pick a stack to compare this one with: v (a built-in preset name, a .toml file or a Keras model), or"
                ' "Compare with preset: ..." in the command palette (ctrl+p). The comparison follows your edits.',
                "muted",
            )
        header = self.styled(f"{compared.title} -> {CURRENT_TITLE}", "title")
        header.append_text(self.styled(f"   what the current stack changes from {compared.title}; v compares with another", "muted"))
        header.no_wrap, header.overflow = True, "ellipsis"
        return Group(header, diff_renderable(self.diff(compared, state.stack_info), state.convention, titles=(compared.title, CURRENT_TITLE)))

    def diff(self, compared: Comparison, stack_info: StackInfo) -> StackDiff:
        """Computed once per edit (a finished run redraws the view without changing the stacks)."""
        shown = self.shown
        if shown is None or shown[0] is not compared or shown[1] is not stack_info:
            shown = self.shown = (compared, stack_info, diff_stacks(compared.stack_info, stack_info))
        return shown[2]
