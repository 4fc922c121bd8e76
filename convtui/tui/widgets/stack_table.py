"""The stack as a table: the input row on top, one row per layer (or per folded block), drawn from
`stack.infer()`; for a graph, a gutter of branch lanes beside the rows, as `git log --graph` draws.

Layer rows come from the summary's own row builder, so the app and `convtui summary` never
disagree; the weights cell is written shorter, on one line, to fit beside the views. A merge's
row has a second line with the shapes it joins; a folded block's, the shapes that enter it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable

from convtui.model import layers as catalogue
from convtui.model.blocks import EVERY_BLOCK, FoldedBlock, TableRow, folded_block, layer_range, table_rows
from convtui.model.convention import Convention, display_shape, display_weight, shape_text
from convtui.model.layers import Shape
from convtui.model.stack import LayerInfo, StackInfo
from convtui.model.units import counted
from convtui.render.summary import COLUMNS, input_row, layer_row
from convtui.render.text import packed

if TYPE_CHECKING:
    from convtui.render.graph import GutterCell

SHOWN_COLUMNS = ("#", "Name", "Layer", "Output shape", "Weights", "Params")
"""The table's columns (a graph's gutter comes after "#"); MACs and receptive fields are in the Explain view."""
SUMMARY_COLUMNS = ("#", "Layer", "Output shape", "Weights", "Params")
"""The columns taken from the summary's rows."""
GUTTER_COLUMN = "graph"


def weight_shapes_text(info: LayerInfo, convention: Convention) -> str:
    """Shapes only, repeated ones counted: "(3, 3, 32, 64) (64,)", "4x(64,)" for BatchNormalization."""
    shapes = Counter(shape_text(display_weight(weight, convention)[1]) for weight in info.weights)
    return " ".join(shape if count == 1 else f"{count}x{shape}" for shape, count in shapes.items())


def shapes_joined(shapes: Collection[Shape | None], joiner: str, convention: Convention) -> str:
    return f" {joiner} ".join(shape_text(display_shape(shape, convention)) if shape else "invalid" for shape in shapes)


def graph_lanes(stack_info: StackInfo, rows: list[TableRow]) -> list[GutterCell]:
    """A graph's gutter; its module loads with the first graph shown, so a chain's first frame does without it."""
    from convtui.render.graph import graph_gutter

    return graph_gutter(stack_info, rows)


def layer_cells(info: LayerInfo, convention: Convention) -> dict[str, str]:
    """A layer's row by column; a merge's Layer cell has a second line with the shapes it joins."""
    row = layer_row(info, convention)
    cells = {name: row[COLUMNS.index(name)] for name in SUMMARY_COLUMNS}
    cells["Name"] = info.name
    cells["Weights"] = weight_shapes_text(info, convention)
    if info.layer.is_merge and info.input_shapes:
        joiner = info.layer.symbol if isinstance(info.layer, catalogue.ElementwiseMerge) else "|"
        cells["Layer"] += "\n" + shapes_joined(info.input_shapes, joiner, convention)
    return cells


def folded_cells(block: FoldedBlock, row: TableRow, convention: Convention) -> dict[str, str]:
    """A folded block's row: its layers' range, name and totals; the shapes entering it on a second line."""
    return {
        "#": layer_range(row.layers[0], row.layers[-1]),
        "Name": f"▸ {block.name}",
        "Layer": f"{counted(len(row.layers), 'layer')}, folded\nfrom {shapes_joined(block.input_shapes, '|', convention)}",
        "Output shape": shapes_joined(block.output_shapes, "|", convention),
        "Weights": "",
        "Params": f"{block.params:,}",
    }


EXPANDED_MARKS = ("▾ ", "┆ ", "└ ")
"""Before the names of an expanded block's layers: its first (▾, as a folded block's ▸ turned down), the ones
between, its last; so the rows say where the block starts and ends."""


def expanded_marks(stack_info: StackInfo, folded: Collection[str]) -> dict[int, str]:
    """Layer index -> the mark before its name, for the layers of every block that is not folded."""
    first, between, last = EXPANDED_MARKS
    marks: dict[int, str] = {}
    for row in table_rows(stack_info, EVERY_BLOCK):
        if row.is_folded and row.block not in folded:
            marks |= dict.fromkeys(row.layers, between) | {row.layers[-1]: last, row.layers[0]: first}
    return marks


def input_cells(stack_info: StackInfo, convention: Convention) -> dict[str, str]:
    row = input_row(stack_info, convention)
    return {name: row[COLUMNS.index(name)] for name in SUMMARY_COLUMNS} | {"Name": "input", "Layer": "Input"}


ROW_STYLES = {"ok": "", "invalid": "stack-table--invalid", "after_invalid": "stack-table--after-invalid"}

ShownRow = tuple[dict[str, str], str, "GutterCell | None", str]
"""A row's cells by column, its style component, its gutter cell and its key."""


@dataclass(frozen=True)
class TableFit:
    """One form of the table: its columns, whether brackets lose the spaces after their commas, whether counts
    are rounded, and whether layer labels and names may wrap (else only the shapes a merge joins do, when the
    width runs short)."""

    columns: tuple[str, ...]
    tight: bool = True
    short_params: bool = False
    wrap_labels: bool = False
    wrap_names: bool = False

    def cells(self, cells: dict[str, str]) -> dict[str, str]:
        """A row's full cells (by column) written as this form writes them."""
        shown = {name: inside_brackets_tight(text) for name, text in cells.items()} if self.tight else dict(cells)
        if self.short_params:
            shown["Params"] = short_count(cells["Params"])
        return shown

    def row(self, cells: dict[str, str]) -> list[str]:
        """A row's full cells (by column) as this form shows them, column by column."""
        shown = self.cells(cells)
        return [shown[name] for name in self.columns]


def without(*names: str) -> tuple[str, ...]:
    return tuple(name for name in SHOWN_COLUMNS if name not in names)


FITS = (
    TableFit(SHOWN_COLUMNS, tight=False),
    TableFit(SHOWN_COLUMNS),
    TableFit(without("Weights")),
    TableFit(without("Weights", "Name")),
    TableFit(without("Weights", "Name"), short_params=True),
)
"""Widest first: the table takes the first that fits. Exact parameter counts are what learners check, so a
narrower table first loses the weight shapes (the Kernels and Explain views show them), then the names (the #
says which layer; the Explain view names it), and only then rounds the counts."""
GRAPH_FITS = (
    *FITS[:3],
    TableFit(without("Weights"), wrap_labels=True, wrap_names=True),
    TableFit(without("Weights"), short_params=True, wrap_labels=True, wrap_names=True),
    FITS[4],
)
"""A graph's: its names go last, since its inputs and merges are read by name: its names and layer labels wrap (at
the widths that take the fewest lines: `TableWidths`), then its counts are rounded, before that."""
CELL_PADDING = 1
"""DataTable's default: one cell each side of every column."""
JOIN_BREAK = re.compile(r"(?<=[)d]) (?=[^\s(]+ [(i])")
"""Where a line of joined shapes may break: before a joiner ("|", "+", "max"...) between two shapes (or "invalid")."""
LABEL_BREAK = re.compile(r"(?<=[(,])")
"""Where a layer's label may break: after a bracket or a comma, "Conv2D(128," / "3x3,same,relu)"."""
NAME_BREAK = re.compile(r"(?<=[_\-./])")
"""Where a name may break: after an underscore, a hyphen, a dot or a slash, "bottleneck_" / "conv1"."""


def inside_brackets_tight(text: str) -> str:
    """No space after the commas inside brackets: "(56,56,256)", "Conv2D(64,3x3,same)"; "2 layers, folded" keeps its."""
    return re.sub(r",\s(?=[^()]*\))", ",", text)


def short_count(text: str) -> str:
    """ "14,714,688" -> "14.7M", "18,496" -> "18.5K": three digits, for a narrow Params column; other text unchanged."""
    digits = text.replace(",", "")
    if not digits.isdigit():
        return text
    value, unit = float(digits), ""
    for larger in ("K", "M", "G", "T"):
        if value < 999.5:
            break
        value, unit = value / 1000, larger
    return f"{value:.3g}{unit}" if unit else digits


def wrapped_label(text: str, width: int) -> str:
    """A Layer cell within `width`: a label breaks after its brackets and commas; the shapes a merge joins (or that
    enter a folded block) before their joiners, so one wide Concatenate does not widen the column for every row."""
    label, *joins = text.split("\n")
    lines = packed(LABEL_BREAK.split(label), width, "")
    return "\n".join(lines + [line for joined in joins for line in packed(JOIN_BREAK.split(joined), width, " ")])


def wrapped_name(text: str, width: int) -> str:
    """A Name cell within `width`, broken after its separators (a name with none stays whole)."""
    return "\n".join(packed(NAME_BREAK.split(text), width, ""))


@dataclass(frozen=True)
class TableWidths:
    """The widths the Name and Layer columns are wrapped to (None: Name is not wrapped)."""

    name: int | None
    layer: int

    def wrapped(self, rows: list[ShownRow]) -> list[ShownRow]:
        """`rows` with their Layer cells (and Name cells, when they wrap) within these widths."""
        return [({**cells, **self.cells_wrapped(cells)}, *rest) for cells, *rest in rows]

    def cells_wrapped(self, cells: dict[str, str]) -> dict[str, str]:
        wrapped = {"Layer": wrapped_label(cells["Layer"], self.layer)}
        if self.name is not None:
            wrapped["Name"] = wrapped_name(cells["Name"], self.name)
        return wrapped

    def lines(self, rows: list[ShownRow]) -> int:
        """Lines the table takes at these widths: each row as tall as its tallest cell."""
        return sum(max(text.count("\n") + 1 for text in {**cells, **self.cells_wrapped(cells)}.values()) for cells, *_ in rows)


def column_width(rows: list[ShownRow], name: str) -> int:
    """The widest line of a column, its header included."""
    return max(cell_len(name), *(cell_len(line) for cells, *_ in rows for line in cells[name].split("\n")))


def rows_width(rows: list[ShownRow], columns: tuple[str, ...], has_gutter: bool) -> int:
    """Cells the table needs for `rows` in `columns`, headers and padding included."""
    widths = [column_width(rows, name) for name in columns]
    if has_gutter:
        widths.append(max(cell_len(line.plain) for _, _, gutter, _ in rows if gutter is not None for line in gutter.lines(1)))
    return sum(widths) + 2 * CELL_PADDING * len(widths)


@dataclass(frozen=True)
class LayerSpan:
    """A fit's Layer and Name columns: the Layer column's width with nothing wrapped and the narrowest it may take,
    the Name column's likewise (both its full width when names do not wrap), and the cells every other column takes."""

    widest: int
    narrowest: int
    others: int
    names_widest: int = 0
    names_narrowest: int = 0

    @property
    def narrowest_table(self) -> int:
        return self.others + self.narrowest + self.names_narrowest


def layer_span(rows: list[ShownRow], fit: TableFit, has_gutter: bool) -> LayerSpan:
    """How wide `fit`'s Layer and Name columns can be, and what the rest of the table needs beside them (their padding included)."""
    labels = max(cell_len(cells["Layer"].partition("\n")[0]) for cells, *_ in rows)
    narrowest = column_width(TableWidths(None, 0 if fit.wrap_labels else labels).wrapped(rows), "Layer")
    widest = max(narrowest, column_width(rows, "Layer"))
    flexible = ("Layer", "Name") if fit.wrap_names else ("Layer",)
    others = rows_width(rows, tuple(name for name in fit.columns if name not in flexible), has_gutter) + 2 * CELL_PADDING * len(flexible)
    if not fit.wrap_names:
        return LayerSpan(widest, narrowest, others)
    pieces = max(cell_len(piece) for cells, *_ in rows for piece in NAME_BREAK.split(cells["Name"]))
    return LayerSpan(widest, narrowest, others, column_width(rows, "Name"), max(cell_len("Name"), pieces))


def fewest_lines(rows: list[ShownRow], span: LayerSpan, budget: int) -> TableWidths:
    """The Name and Layer widths within `budget` that take the fewest lines, the widest names among equals: a long
    name or two wrapped rather than every convolution's label ("Conv2D(32,3x3,same," / "relu)") beside a wide Name."""
    best: tuple[int, TableWidths] | None = None
    for name in range(span.names_widest, span.names_narrowest - 1, -1):
        widths = TableWidths(name, max(span.narrowest, min(span.widest, budget - span.others - name)))
        lines = widths.lines(rows)
        if best is None or lines < best[0]:
            best = (lines, widths)
        if lines == len(rows):
            break  # nothing wraps: no narrower name does better
    assert best is not None
    return best[1]


class StackTable(DataTable[Text]):
    """One row per layer or folded block; the row under the cursor is the selected layer (-1 is the
    input; a folded block's row selects its last layer, its output). An expanded block's names are marked
    (EXPANDED_MARKS), as a folded one's is (▸).
    """

    COMPONENT_CLASSES = {"stack-table--invalid", "stack-table--after-invalid", "stack-table--input", "stack-table--second-line"}
    # Cells take only the component's own attributes (partial styles), so no translucent colours
    # here: they would not be blended with the background. Dim reads in dark and light themes.
    DEFAULT_CSS = """
    StackTable > .stack-table--invalid { color: $error; text-style: bold; }
    StackTable > .stack-table--after-invalid { text-style: dim; }
    StackTable > .stack-table--input { text-style: italic; }
    StackTable > .stack-table--second-line { text-style: dim; }
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

    BINDINGS = [
        Binding("home", "first_layer", "First layer", show=False),
        Binding("end", "scroll_bottom", "Last layer", show=False),
    ]
    """DataTable's Home and End move between columns, which a row cursor does not have: here they go to the first and last layer."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.shown_rows: list[TableRow] = []
        self.shown: tuple[StackInfo, Convention, Collection[str]] | None = None
        self.fit = FITS[0]
        self.widths = TableWidths(None, 0)
        self.fits = FITS
        self.forms: dict[TableFit, list[ShownRow]] = {}
        self.spans: dict[TableFit, LayerSpan] = {}
        self.fitted: dict[int, tuple[TableFit, TableWidths]] = {}
        """The fit and widths found for each width budget, for the stack shown (a layout asks again and again)."""

    def action_first_layer(self) -> None:
        """The first layer's row (ctrl+home still goes to the input row above it)."""
        self.move_cursor(row=min(1, self.row_count - 1), scroll=True)

    def layer_at(self, row: int) -> int:
        """The layer a table row selects: -1 for the input row, a folded block's last layer."""
        return self.shown_rows[row - 1].layers[-1] if 0 < row <= len(self.shown_rows) else -1

    def row_of(self, layer: int) -> int:
        return next((row + 1 for row, shown in enumerate(self.shown_rows) if layer in shown.layers), 0)

    @property
    def selected_index(self) -> int:
        return self.layer_at(self.cursor_row)

    def select(self, layer: int) -> None:
        self.move_cursor(row=self.row_of(layer), animate=False, scroll=True)

    def show(self, stack_info: StackInfo, convention: Convention, selected: int, folded: Collection[str] = ()) -> None:
        """Replace every row (the gutter column only for a graph) in the widest form that fits; keep the cursor on `selected`."""
        self.shown = (stack_info, convention, folded)
        self.shown_rows = table_rows(stack_info, folded)
        gutter = None if stack_info.is_chain else graph_lanes(stack_info, self.shown_rows)
        full = list(self.rows_of(stack_info, convention, gutter, expanded_marks(stack_info, folded)))
        self.fits = FITS if gutter is None else GRAPH_FITS
        self.forms = {fit: [(fit.cells(cells), *rest) for cells, *rest in full] for fit in self.fits}
        self.spans = {fit: layer_span(self.forms[fit], fit, gutter is not None) for fit in self.fits}
        self.fitted = {}
        self.fit, self.widths = self.widest_fit()
        self.clear(columns=True)
        for name in self.fit.columns:
            self.add_column(name, key=name)
            if name == "#" and gutter is not None:
                self.add_column("", key=GUTTER_COLUMN)
        for cells, component, cell, key in self.widths.wrapped(self.forms[self.fit]):
            self.add(cells, component, cell, key)
        self.select(selected)

    def reveal_block(self, layer: int) -> None:
        """Scroll so that the run of rows of `layer`'s block shows whole (from its first row, when taller than the table)."""
        rows = [self.row_of(index) for run in table_rows(self.shown[0], EVERY_BLOCK) if layer in run.layers for index in run.layers] if self.shown else []
        if rows:
            self.call_after_refresh(self.scroll_rows_into_view, min(rows), max(rows))

    def scroll_rows_into_view(self, first: int, last: int) -> None:
        top, bottom = self._get_row_region(first), self._get_row_region(last)
        self.scroll_to_region(top.union(bottom), spacing=self._get_fixed_offset(), animate=False, force=True)

    def rows_of(
        self, stack_info: StackInfo, convention: Convention, gutter: list[GutterCell] | None, marks: dict[int, str]
    ) -> Iterator[ShownRow]:
        """The input row, then one per layer or folded block: cells, style, gutter cell, key; `marks` go before
        the names of an expanded block's layers."""
        yield input_cells(stack_info, convention), "stack-table--input", gutter[0] if gutter else None, "input"
        for position, row in enumerate(self.shown_rows):
            cell = gutter[position + 1] if gutter else None
            if row.is_folded:
                block = folded_block(stack_info, row)
                yield folded_cells(block, row, convention), ROW_STYLES[block.status], cell, f"block-{row.layers[0]}"
            else:
                info = stack_info.layers[row.layers[0]]
                cells = layer_cells(info, convention)
                cells["Name"] = marks.get(info.index, "") + cells["Name"]
                yield cells, ROW_STYLES[info.status], cell, str(info.index)

    def widest_fit(self) -> tuple[TableFit, TableWidths]:
        """The first of the stack's fits (FITS, GRAPH_FITS) within the width the table may take (the last when none is),
        with the Layer column's width: what the other columns leave, up to what its lines need unwrapped (and, in a
        fit whose names wrap, the Name column's: see `fewest_lines`)."""
        budget = self.width_budget()
        if budget not in self.fitted:
            fit = next((fit for fit in self.fits if self.spans[fit].narrowest_table <= budget), self.fits[-1])
            span = self.spans[fit]
            if fit.wrap_names:
                self.fitted[budget] = (fit, fewest_lines(self.forms[fit], span, budget))
            else:
                self.fitted[budget] = (fit, TableWidths(None, max(span.narrowest, min(span.widest, budget - span.others))))
        return self.fitted[budget]

    def width_budget(self) -> int:
        """Cells the rows may take: the pane's max-width when it sizes to the table (beside the views), else its
        width (the screen's before the first layout); less the vertical scrollbar when there is one.
        """
        pane = self.parent
        assert isinstance(pane, Widget)
        styles = pane.styles
        if styles.width is not None and styles.width.is_auto and styles.max_width is not None and pane.parent is not None:
            container = pane.parent.size if isinstance(pane.parent, Widget) and pane.parent.size else self.app.size
            width = int(styles.max_width.resolve(container, self.app.size)) - styles.gutter.width
        else:
            width = pane.size.width or self.app.size.width
        return width - (self.styles.scrollbar_size_vertical if self.show_vertical_scrollbar else 0)

    def on_mount(self) -> None:
        super().on_mount()
        self.screen.screen_layout_refresh_signal.subscribe(self, self.refit)

    def refit(self, _: object = None) -> None:
        """After a layout (a resized terminal, the views beside or below): redraw when another form fits better."""
        if self.shown is not None and self.widest_fit() != (self.fit, self.widths):
            self.show(*self.shown[:2], self.selected_index, self.shown[2])

    def add(self, cells: dict[str, str], component: str, gutter: GutterCell | None, key: str) -> None:
        """One row, as tall as its tallest cell, with the gutter's lanes carried down its further lines."""
        height = max(text.count("\n") + 1 for text in cells.values())
        row = [self.cell(cells[name], name, component) for name in self.fit.columns]
        if gutter is not None:
            row.insert(1, Text("\n").join(gutter.lines(height)))
        self.add_row(*row, key=key, height=height)

    def cell(self, text: str, column: str, component: str) -> Text:
        """Styled text; a second line (a merge's or a block's input shapes) dimmed."""
        # Partial: only the component's own colour, so the cursor's background still shows.
        style = self.get_component_rich_style(component, partial=True) if component else ""
        first, newline, rest = text.partition("\n")
        cell = Text(first, style=style, justify="right" if column in ("#", "Params") else "left", no_wrap=True)
        if newline:
            cell.append("\n" + rest, self.get_component_rich_style("stack-table--second-line", partial=True))
        return cell

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Pass on where the cursor is; a stale event (from refilling the rows) is dropped."""
        event.stop()
        if event.cursor_row == self.cursor_row:
            self.post_message(self.LayerHighlighted(self.layer_at(event.cursor_row)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.LayerChosen(self.layer_at(event.cursor_row)))
