"""The figures under the stack table (params, MACs, size) and, when a layer cannot apply, why."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.model.convention import Convention
from convtui.model.stack import StackInfo
from convtui.render.summary import totals_lines

SHOWN_TOTALS = 4
"""Total, trainable and non-trainable params (with their size), and MACs: the rest is in `convtui summary`."""
TWO_COLUMNS_WIDTH = 78


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
        pairs = totals_lines(self.stack_info, self.convention)[:SHOWN_TOTALS]
        per_row = 2 if self.size.width >= TWO_COLUMNS_WIDTH else 1
        figures = Table.grid(padding=(0, 1))
        for _ in range(per_row):
            figures.add_column(style=self.get_component_rich_style("stack-totals--label"), no_wrap=True)
            figures.add_column(no_wrap=True)
        for start in range(0, len(pairs), per_row):
            figures.add_row(*(cell for label, value in pairs[start : start + per_row] for cell in (label, value + "  ")))
        invalid = self.stack_info.first_invalid
        if invalid is None:
            return figures
        error = Text(f"Layer {invalid.index} ({invalid.layer.type_name}): {invalid.error}")
        error.stylize(self.get_component_rich_style("stack-totals--error"))
        return Group(figures, error)
