"""The figures under the stack table (params, MACs, size) and, when a layer cannot apply, why."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.model.convention import Convention
from convtui.model.stack import StackInfo
from convtui.render.summary import totals_lines, unused_count_text

SHOWN_TOTALS = 4
"""Total, trainable and non-trainable params (with their size), and MACs: the rest is in `convtui summary`."""
SEPARATOR = "  ·  "


class StackTotals(Widget):
    """Thin: renders the summary's totals for the app's current stack."""

    COMPONENT_CLASSES = {"stack-totals--label", "stack-totals--error", "stack-totals--warning"}
    DEFAULT_CSS = """
    StackTotals { height: auto; }
    StackTotals > .stack-totals--label { color: $text-muted; }
    StackTotals > .stack-totals--error { color: $error; text-style: bold; }
    StackTotals > .stack-totals--warning { color: $text-warning; }
    """

    stack_info: reactive[StackInfo | None] = reactive(None, layout=True)
    convention: reactive[Convention] = reactive("keras", layout=True)

    def render(self) -> RenderableType:
        if self.stack_info is None:
            return ""
        label_style = self.get_component_rich_style("stack-totals--label")
        figures = [
            Text.assemble((f"{label} ", label_style), value)
            for label, value in totals_lines(self.stack_info, self.convention)[:SHOWN_TOTALS]
        ]
        parts: list[RenderableType] = [join_figures(figures, self.size.width)]
        invalid = self.stack_info.first_invalid
        if invalid is not None:
            error = Text(f"Layer {invalid.index} ({invalid.layer.type_name}): {invalid.error}")
            error.stylize(self.get_component_rich_style("stack-totals--error"))
            parts.append(error)
        if self.stack_info.unused:
            left_out = Text(left_out_line(self.stack_info), style=self.get_component_rich_style("stack-totals--warning"))
            left_out.no_wrap, left_out.overflow = True, "ellipsis"
            parts.append(left_out)
        return Group(*parts)


def left_out_line(stack_info: StackInfo) -> str:
    """One line for the layers drawn hollow (○): Keras leaves them out of the model, so the totals do too
    (`convtui summary` says it at length, render.summary.unused_note); one line keeps the views their room at 80x24."""
    params = f": {stack_info.unused_params:,} params" if stack_info.unused_params else ""
    return f"○ {unused_count_text(stack_info)}, left out as Keras does{params}"


def join_figures(figures: list[Text], width: int) -> Text:
    """Figures side by side, a line break only between two figures, never inside one."""
    joined = Text()
    line_length = 0
    for figure in figures:
        if line_length and line_length + len(SEPARATOR) + figure.cell_len > width:
            joined.append("\n")
            line_length = 0
        elif line_length:
            joined.append(SEPARATOR)
            line_length += len(SEPARATOR)
        joined.append_text(figure)
        line_length += figure.cell_len
    return joined
