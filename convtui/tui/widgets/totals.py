"""The figures under the stack table (params, MACs, size) and, when a layer cannot apply, why."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.model.convention import Convention
from convtui.model.stack import StackInfo
from convtui.render.summary import totals_lines

SHOWN_TOTALS = 4
"""Total, trainable and non-trainable params (with their size), and MACs: the rest is in `convtui summary`."""
NO_BREAK = "\u00a0"


class StackTotals(Widget):
    """Thin: renders the summary's totals for the app's current stack."""

    COMPONENT_CLASSES = {"stack-totals--label", "stack-totals--error"}
    DEFAULT_CSS = """
    StackTotals { height: auto; }
    StackTotals > .stack-totals--label { color: $text-muted; }
    StackTotals > .stack-totals--error { color: $error; text-style: bold; }
    """

    stack_info: reactive[StackInfo | None] = reactive(None, layout=True)
    convention: reactive[Convention] = reactive("keras", layout=True)

    def render(self) -> RenderableType:
        if self.stack_info is None:
            return ""
        label_style = self.get_component_rich_style("stack-totals--label")
        figures = Text()
        for number, (label, value) in enumerate(totals_lines(self.stack_info, self.convention)[:SHOWN_TOTALS]):
            if number:
                figures.append("  ·  ")
            # Non-breaking spaces inside a figure: lines wrap between figures, never inside one.
            figures.append(f"{label} ".replace(" ", NO_BREAK), style=label_style)
            figures.append(value.replace(" ", NO_BREAK))
        invalid = self.stack_info.first_invalid
        if invalid is None:
            return figures
        error = Text(f"Layer {invalid.index} ({invalid.layer.type_name}): {invalid.error}")
        error.stylize(self.get_component_rich_style("stack-totals--error"))
        return Group(figures, error)
