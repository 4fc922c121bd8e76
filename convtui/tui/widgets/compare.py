"""Compare: the current stack set against a second one (a preset or a file), layer by layer, as
`convtui diff` shows them: the other stack on the left, the current one on the right, so the
changes read as what the current stack does differently. It follows every edit.

Where the pane is too narrow for the two stacks side by side, the shared renderable draws the
diff unified (a changed layer as a "-" and a "+" line), so nothing is squeezed or scrolled.
"""

from __future__ import annotations

from rich.console import Group, RenderableType

from convtui.model.diff import StackDiff, diff_stacks
from convtui.model.stack import StackInfo
from convtui.render.diff import diff_renderable
from convtui.tui.state import Comparison, ViewState
from convtui.tui.widgets.state_view import StateView

CURRENT_TITLE = "current"


class CompareView(StateView):
    """Thin: the shared diff renderable of (the compared stack, the current stack)."""

    shown: tuple[Comparison, StackInfo, StackDiff] | None = None

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
