"""The stack as a table: the input row on top, one row per layer, drawn from `stack.infer()`.

Rows come from the summary's own row builder, so the app and `convtui summary` never disagree;
only the weights cell is written shorter, on one line, to fit beside the views.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from convtui.model.convention import Convention, display_weight, shape_text
from convtui.model.stack import LayerInfo, StackInfo
from convtui.render.summary import COLUMNS, input_row, layer_row

SHOWN_COLUMNS = ("#", "Layer", "Output shape", "Weights", "Params")
"""The summary's columns the table shows; MACs and receptive fields are in the Explain view."""
WEIGHTS_COLUMN = COLUMNS.index("Weights")


def weight_shapes_text(info: LayerInfo, convention: Convention) -> str:
    """Shapes only, repeated ones counted: "(3, 3, 32, 64) (64,)", "4x(64,)" for BatchNormalization."""
    shapes = Counter(shape_text(display_weight(weight, convention)[1]) for weight in info.weights)
    return " ".join(shape if count == 1 else f"{count}x{shape}" for shape, count in shapes.items())


class StackTable(DataTable[Text]):
    """One row per layer; the row under the cursor is the selected layer (-1 is the input)."""

    COMPONENT_CLASSES = {"stack-table--invalid", "stack-table--after-invalid", "stack-table--input"}
    # Cells take only the component's own attributes (partial styles), so no translucent colours
    # here: they would not be blended with the background. Dim reads in dark and light themes.
    DEFAULT_CSS = """
    StackTable > .stack-table--invalid { color: $error; text-style: bold; }
    StackTable > .stack-table--after-invalid { text-style: dim; }
    StackTable > .stack-table--input { text-style: italic; }
    """

    class LayerHighlighted(Message):
        """The cursor moved to a layer (index -1: the input row)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class LayerChosen(Message):
        """Enter or a click on a row that is already selected: edit that layer."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        for name in SHOWN_COLUMNS:
            self.add_column(name, key=name)

    @property
    def selected_index(self) -> int:
        return self.cursor_row - 1

    def show(self, stack_info: StackInfo, convention: Convention, selected: int) -> None:
        """Replace every row; keep the cursor on `selected`."""
        self.clear()
        self.add_row(*self.cells(input_row(stack_info, convention), "stack-table--input"), key="input")
        for info in stack_info.layers:
            row = layer_row(info, convention)
            row[WEIGHTS_COLUMN] = weight_shapes_text(info, convention)
            style = {"ok": "", "invalid": "stack-table--invalid", "after_invalid": "stack-table--after-invalid"}[info.status]
            self.add_row(*self.cells(row, style), key=str(info.index))
        self.move_cursor(row=selected + 1, animate=False, scroll=True)

    def cells(self, row: list[str], component: str) -> list[Text]:
        """The shown columns of a summary row, as styled text."""
        # Partial: only the component's own colour, so the cursor's background still shows.
        style = self.get_component_rich_style(component, partial=True) if component else ""
        return [
            Text(row[COLUMNS.index(name)], style=style, justify="right" if name in ("#", "Params") else "left", no_wrap=True)
            for name in SHOWN_COLUMNS
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Pass on where the cursor is; a stale event (from refilling the rows) is dropped."""
        event.stop()
        if event.cursor_row == self.cursor_row:
            self.post_message(self.LayerHighlighted(event.cursor_row - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.LayerChosen(event.cursor_row - 1))
