"""The summary of a stack, in the spirit of Keras's model.summary() and torchinfo, with more in it.

One set of rows feeds the Rich table (terminal and app) and Markdown; JSON and CSV share one record
per layer, under the same keys.
A graph's table draws its lanes in a gutter (`convtui.render.graph`) and lists, under a layer
that does not simply take the row above, its inputs with their shapes (Keras's "Connected to");
every format carries each layer's name, inputs and block; the table and Markdown fold blocks
when given `rows` from `convtui.model.blocks`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convtui.model.convention import Convention, display_shape, display_weight, shape_text
from convtui.model.blocks import EVERY_BLOCK, FoldedBlock, TableRow, folded_block, layer_range, output_names, shape_of, table_rows
from convtui.model.graph import INPUT_NAME
from convtui.model.info import Status
from convtui.model.layers import Shape
from convtui.model.stack import LayerInfo, ReceptiveField, StackInfo
from convtui.model.units import counted, readable_count, readable_size

if TYPE_CHECKING:
    from convtui.render.graph import GutterCell

COLUMNS = ("#", "Layer", "Output shape", "Weights", "Params", "MACs", "RF")
"""The cells of `layer_row` and `input_row`, which the app's stack table shares."""
TEXT_COLUMNS = ("#", "Name", "Layer", "Inputs", "Block", "Output shape", "Weights", "Params", "MACs", "RF")
"""Markdown: each layer's name, inputs and block beside the table's columns."""


def receptive_field_text(field: ReceptiveField | None) -> str:
    if field is None:
        return "-"
    if field.is_global:
        return "global"
    return "x".join(f"{side:g}" for side in field.size)


def weights_text(info: LayerInfo, convention: Convention, *, compact: bool = False) -> str:
    """One weight a line: "kernel (3, 3, 32, 64)"; when space is short only the shapes, a repeated one counted
    ("4x(64,)" for BatchNormalization)."""
    named = [display_weight(weight, convention) for weight in info.weights]
    if not compact:
        return "\n".join(f"{name} {shape_text(shape)}" for name, shape in named)
    counted = Counter(tight(shape_text(shape)) for _, shape in named)
    return "\n".join(shape if count == 1 else f"{count}x{shape}" for shape, count in counted.items())


def tight(text: str) -> str:
    """A shape without the spaces after its commas, "(56,56,256)": three columns saved twice a row in a narrow table."""
    return text.replace(", ", ",")


def shapes_text(shapes: Sequence[Shape | None], convention: Convention, *, compact: bool = False) -> str:
    texts = (shape_text(display_shape(shape, convention) if shape else None) for shape in shapes)
    return "\n".join(tight(text) if compact else text for text in texts)


def figures_row(
    number: str, label: str, status: Status, output_shapes: str, weights: str, params: int, macs: int,
    field: ReceptiveField | None, *, compact: bool,
) -> list[str]:  # fmt: skip
    """The COLUMNS cells; a row that cannot apply shows why in place of its figures."""
    if status != "ok":
        return [number, label, "invalid" if status == "invalid" else "-", "", "", "", ""]
    macs_text = readable_count(macs) if compact else f"{macs:,}"
    return [number, label, output_shapes, weights, f"{params:,}", macs_text, receptive_field_text(field)]


def layer_row(info: LayerInfo, convention: Convention, *, compact: bool = False) -> list[str]:
    return figures_row(
        str(info.index), info.layer.label, info.status, shapes_text([info.output_shape], convention, compact=compact),
        weights_text(info, convention, compact=compact), info.params, info.macs, info.receptive_field, compact=compact,
    )  # fmt: skip


def block_row(block: FoldedBlock, convention: Convention, *, compact: bool = False) -> list[str]:
    """A folded block: its layers' index range, the shapes that leave it, its layers' totals."""
    return figures_row(
        layer_range(block.layers[0].index, block.layers[-1].index), f"block of {counted(len(block.layers), 'layer')}", block.status,
        shapes_text(block.output_shapes, convention, compact=compact),
        "", block.params, block.macs, block.receptive_field, compact=compact,
    )  # fmt: skip


def input_row(stack_info: StackInfo, convention: Convention, *, compact: bool = False) -> list[str]:
    return ["", "Input", shapes_text([stack_info.input_shape], convention, compact=compact), "", "0", "0", "1x1"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the summary: its COLUMNS cells, and where it sits in the graph."""

    cells: list[str]
    name: str
    inputs: tuple[str, ...] = ()
    input_shapes: tuple[Shape | None, ...] = ()
    outputs: tuple[str, ...] = ()
    block: str | None = None
    status: Status = "ok"
    unused: bool = False
    folded: bool = False


def entries(
    stack_info: StackInfo, convention: Convention, rows: Sequence[TableRow] | None = None, *, compact: bool = False
) -> list[Entry]:
    """The input row, then each row (default: every layer; a folded block is one)."""
    found = [Entry(input_row(stack_info, convention, compact=compact), INPUT_NAME, outputs=(INPUT_NAME,))]
    for row in table_rows(stack_info) if rows is None else rows:
        if row.is_folded:
            block = folded_block(stack_info, row)
            cells = block_row(block, convention, compact=compact)
            found.append(Entry(cells, block.name, block.inputs, block.input_shapes, block.outputs, block.name, block.status, folded=True))
            continue
        info = stack_info.layers[row.layers[0]]
        shapes = tuple(shape_of(stack_info, name) for name in info.inputs)
        unused = info.index in stack_info.unused
        cells = layer_row(info, convention, compact=compact)
        found.append(Entry(cells, info.name, info.inputs, shapes, (info.name,), info.block, info.status, unused))
    return found


def totals_lines(stack_info: StackInfo, convention: Convention) -> list[tuple[str, str]]:
    """The figures under the table, as (label, value) pairs."""
    non_trainable_label = "Non-trainable params" if convention == "keras" else "Buffers (Keras: non-trainable params)"
    lines = [
        ("Total params", f"{stack_info.total_params:,} ({readable_size(stack_info.params_bytes)})"),
        ("Trainable params", f"{stack_info.trainable_params:,} ({readable_size(stack_info.trainable_params * 4)})"),
        (non_trainable_label, f"{stack_info.non_trainable_params:,} ({readable_size(stack_info.non_trainable_params * 4)})"),
        ("Total MACs", f"{stack_info.total_macs:,} ({readable_count(stack_info.total_macs)})"),
        ("Activations, forward (all outputs)", readable_size(stack_info.activation_bytes)),
        ("Forward/backward pass size (torchinfo)", readable_size(stack_info.forward_backward_bytes)),
        ("Estimated total size (training)", readable_size(stack_info.training_total_bytes)),
    ]
    return lines


SHOWN_LAYERS = 6
"""Layers named one by one in a note; the rest are counted."""


def listed(layers: Sequence[str]) -> str:
    """'2, 7, 10', or the first SHOWN_LAYERS and 'and 47 more': a note on ResNet50's 53 BatchNormalizations stays one line."""
    more = len(layers) - SHOWN_LAYERS
    return ", ".join(layers[:SHOWN_LAYERS]) + (f" and {more} more" if more > 0 else "")


def unused_layers_text(stack_info: StackInfo) -> str:
    """'layer 3 (conv2d_2) is' or 'layers 3 (conv2d_2), 4 (add) are', the first SHOWN_LAYERS named."""
    named = [f"{index} ({stack_info.layers[index].name})" for index in stack_info.unused]
    return f"layer {listed(named)} is" if len(named) == 1 else f"layers {listed(named)} are"


def unused_count_text(stack_info: StackInfo) -> str:
    """"2 layers unused by the output": the short form of unused_note, for a line or a cell."""
    return f"{counted(len(stack_info.unused), 'layer')} unused by the output"


def unused_note(stack_info: StackInfo) -> str | None:
    """Why the totals leave some layers out (Keras's model has only the layers on the way to an output); None when none is left out."""
    if not stack_info.unused:
        return None
    them, their = ("it", "its") if len(stack_info.unused) == 1 else ("them", "their")
    counted = f"so the totals do not count {their} {stack_info.unused_params:,} params" if stack_info.unused_params else "which changes no total (no params)"
    return f"{unused_layers_text(stack_info).capitalize()} not on the way to the output: Keras leaves {them} out of the model, {counted}; connect or delete {them}."


def notes(stack_info: StackInfo, convention: Convention) -> list[str]:
    """Sentences that explain what the figures hide: invalid layers, layers left out of the model, non-trainable parameters."""
    found = []
    invalid = stack_info.first_invalid
    if invalid is not None:
        found.append(f"layer {invalid.index} ({invalid.layer.type_name}): {invalid.error}")
    unused = unused_note(stack_info)
    if unused is not None:
        found.append(unused)
    if stack_info.non_trainable_params:
        indices = [str(info.index) for info in stack_info.layers if info.non_trainable_params]
        where = ("layer " if len(indices) == 1 else "layers ") + listed(indices)
        if convention == "torch":
            found.append(f"BatchNormalization running_mean and running_var ({where}) are buffers in PyTorch, not parameters; Keras counts them as non-trainable params.")
        else:
            found.append(f"Non-trainable params are BatchNormalization's moving_mean and moving_variance ({where}): updated while training, not by gradients. PyTorch counts them as buffers, not parameters.")
    return found


WIDE_TABLE = 110
"""Below this many columns the table drops weight names and abbreviates MACs, so shapes never split."""
NARROW_TABLE = 90
"""Below this many columns the table leaves out receptive fields (--explain and the app's Explain view have them),
so the names keep room at 80 columns."""
LAYER_MIN_WIDTH = 12
"""The Layer column wraps at spaces, then folds long names ("MaxPooling2D" fits); every other column keeps its width."""
LEFT_OUT_FIRST = ("RF", "Weights", "MACs", "Params", "Output shape")
"""What a table too wide for its console leaves out, one column at a time, least needed first (the totals keep the
MACs, --json every figure): a column Rich narrowed would show part of each number as if it were the number."""
UNBOUNDED = 1_000_000
"""A width no table reaches: measured within it, a table's minimum is the width its columns need whole."""
ASCII_SIMPLE_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
"""SIMPLE_HEAD drawn in ASCII: Rich keeps its "─" on a dumb terminal and swaps in a bordered box for an ASCII encoding."""


Pieces = list[Text]
"""One line of a Layer cell as pieces that stay whole where they fit, each with the space or underscore after it."""


def pieces(text: str, style: str = "") -> Pieces:
    """Break points after spaces and underscores: names fold as conv2_block1_ / 0_conv, never mid-word."""
    return [Text(piece, style=style) for piece in re.findall(r"[^ _]+[ _]*|[ _]+", text)]


def layer_lines(
    entry: Entry, previous: Entry | None, convention: Convention, *, graph: bool, ascii: bool, compact: bool
) -> list[Pieces]:
    """Name, then label; in a graph, the inputs with their shapes where they are not simply the row above
    (always for a folded block: they are its input shapes)."""
    lines = [pieces(entry.name), pieces(entry.cells[1])]
    if graph and previous is not None and (entry.folded or entry.inputs != previous.outputs[-1:]):
        arrow = "<-" if ascii else "←"
        for name, shape in zip(entry.inputs, entry.input_shapes):
            lines.append([*pieces(f"{arrow} {name} ", "dim"), Text(shapes_text([shape], convention, compact=compact), style="dim")])
    return lines


CONTINUATION = "  "
"""The indent of a line a cell had to break."""


def wrapped(line: Pieces, width: int) -> list[Text]:
    """The pieces on as few lines as fit, a broken line going on indented; a piece wider than the cell folds."""
    lines = [Text()]
    for piece in line:
        if lines[-1].cell_len and lines[-1].cell_len + len(piece.plain.rstrip()) > width:
            lines.append(Text(CONTINUATION))
        room = max(1, width - lines[-1].cell_len)
        first, *rest = piece.divide(range(room, len(piece), width)) if len(piece.plain.rstrip()) > room else [piece]
        lines[-1].append_text(first)
        lines += rest
    for text in lines:
        text.rstrip()
    return lines


def note_pieces(note: str) -> Pieces:
    """Break points at spaces, none inside a shape: "(24, 24, 64)" stays on one line, for the eye and for grep."""
    return [Text(piece) for piece in re.findall(r"\S*\(\d[^()]*\)\S*\s*|\S+\s*", note)]


class Note:
    """A sentence under the table, wrapped at the console's width between words, a broken line going on indented;
    one line where the console wraps nothing (a pipe without COLUMNS, cli.output), for grep."""

    def __init__(self, text: str, style: str) -> None:
        self.text = text
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = note_pieces(self.text)
        for text in [Text.assemble(*line)] if options.no_wrap else wrapped(line, options.max_width):
            text.style = self.style
            yield text


class LayerCell:
    """The Layer column's cell: the graph's gutter beside the layer's lines, its lanes drawn the whole row down."""

    def __init__(self, lines: list[Pieces], gutter: GutterCell | None, *, height: int) -> None:
        self.lines = lines
        self.gutter = gutter
        self.height = height

    @property
    def offset(self) -> int:
        return self.gutter.node.cell_len + 1 if self.gutter else 0

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        narrowest = max((len(piece.plain.rstrip()) for line in self.lines for piece in line), default=1)
        widest = max((len("".join(piece.plain for piece in line).rstrip()) for line in self.lines), default=1)
        return Measurement(narrowest + self.offset, widest + self.offset).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - self.offset)
        lines = [text for line in self.lines for text in wrapped(line, width)]
        count = max(len(lines), self.height)
        gutters = self.gutter.lines(count) if self.gutter else []
        for number in range(count):
            line = lines[number] if number < len(lines) else Text()
            yield Text.assemble(gutters[number], " ", line) if self.gutter else line


def row_style(entry: Entry) -> str:
    if entry.status != "ok":
        return "bold red" if entry.status == "invalid" else "dim"
    return "dim" if entry.unused else ""


def summary_table(
    stack_info: StackInfo,
    convention: Convention = "keras",
    *,
    title: str | None = None,
    compact: bool = False,
    rows: Sequence[TableRow] | None = None,
    ascii: bool = False,
    columns: Sequence[str] = COLUMNS,
) -> Table:
    """The table; a graph gets its gutter; only the Layer column wraps; shapes and numbers keep their full width."""
    from convtui.render.graph import graph_gutter, gutter_width  # only where a table is drawn: the app's rows need none of it

    found = entries(stack_info, convention, rows, compact=compact)
    graph = not stack_info.is_chain
    cells = graph_gutter(stack_info, rows, ascii=ascii) if graph else []
    gutters: Sequence[GutterCell | None] = cells or [None] * len(found)
    table = Table(
        title=Text(title, no_wrap=False, overflow="fold") if title else None,  # centred where the console wraps no text (a pipe)
        box=ASCII_SIMPLE_HEAD if ascii else box.SIMPLE_HEAD,
        header_style="bold",
        title_style="bold",
        pad_edge=False,
        padding=(0, 1) if not compact else (0, 0, 0, 1),
    )
    offset = gutter_width(cells) + 1 if cells else 0
    for name in columns:
        position = COLUMNS.index(name)
        lines = [line for entry in found for line in entry.cells[position].splitlines()]
        widest = max(map(len, lines + ([entry.name for entry in found] if name == "Layer" else [])), default=0)
        table.add_column(
            name,
            justify="right" if name in ("#", "Params", "MACs") else "left",
            no_wrap=name != "Layer",
            overflow="fold",
            min_width=offset + min(widest, LAYER_MIN_WIDTH) if name == "Layer" else max(widest, len(name)),
        )
    for previous, entry, gutter in zip([None, *found], found, gutters):
        figures = {name: entry.cells[COLUMNS.index(name)] for name in columns if name != "Layer"}
        height = max(len(cell.splitlines()) for cell in figures.values())
        layer = LayerCell(layer_lines(entry, previous, convention, graph=graph, ascii=ascii, compact=compact), gutter, height=height)
        table.add_row(*(layer if name == "Layer" else figures[name] for name in columns), style=row_style(entry))
    return table


class SummaryTable:
    """The summary table fitted to the console it is drawn on: compact below WIDE_TABLE columns, no receptive
    fields below NARROW_TABLE, then fewer columns (LEFT_OUT_FIRST) until every number shows whole; an ASCII gutter
    and rule where the console has no Unicode or is a dumb terminal."""

    def __init__(
        self, stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None, rows: Sequence[TableRow] | None = None
    ) -> None:
        self.stack_info = stack_info
        self.convention = convention
        self.title = title
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for columns in column_choices(options.max_width):
            table = summary_table(
                self.stack_info,
                self.convention,
                title=self.title,
                compact=options.max_width < WIDE_TABLE,
                rows=self.rows,
                ascii=options.ascii_only or console.is_dumb_terminal,
                columns=columns,
            )
            if table_fits(table, console, options):
                break
        yield table


def column_choices(width: int) -> list[tuple[str, ...]]:
    """The columns to try, most first: all of COLUMNS (receptive fields from NARROW_TABLE), then one fewer at a time."""
    shown = [name for name in COLUMNS if name != "RF" or width >= NARROW_TABLE]
    choices = [tuple(shown)]
    for name in (name for name in LEFT_OUT_FIRST if name in shown):
        shown.remove(name)
        choices.append(tuple(shown))
    return choices


def table_fits(table: Table, console: Console, options: ConsoleOptions) -> bool:
    """Whether every column gets the width of its widest cell (the Layer column its narrowest) within the console's."""
    return Measurement.get(console, options.update_width(UNBOUNDED), table).minimum <= options.max_width


def summary_renderable(
    stack_info: StackInfo,
    convention: Convention = "keras",
    *,
    title: str | None = None,
    with_formulas: bool = False,
    rows: Sequence[TableRow] | None = None,
) -> RenderableType:
    """The table (default: every layer; `rows` from `convtui.model.blocks` folds blocks), its totals and notes;
    with the worked formulas of every layer when asked."""
    parts: list[RenderableType] = [SummaryTable(stack_info, convention, title=title, rows=rows)]
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column()
    for label, value in totals_lines(stack_info, convention):
        totals.add_row(label + ":", value)
    parts.append(totals)
    parts += [Note(note, "red" if note.startswith("layer") else "dim") for note in notes(stack_info, convention)]
    if with_formulas:
        parts += [formulas_renderable(stack_info, index, convention) for index in range(len(stack_info.layers))]
    return Group(*parts)


def formulas_renderable(stack_info: StackInfo, index: int, convention: Convention) -> RenderableType:
    """The layer's formulas, each quantity's name then its formula; a formula that wraps goes on under its own text (a
    hanging indent), not at the left edge, so each quantity's name still stands out (`--formulas` and the Explain view)."""
    from convtui.model.explain import explain  # only with --formulas: the app's rows need none of it

    lines: list[RenderableType] = [Text(f"\n{index} {stack_info.layers[index].layer.label}", style="bold")]
    for formula in explain(stack_info, index, convention):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        text = Text(formula.formula)
        if formula.reason:
            text.append(f"  ({formula.reason})", style="dim")
        grid.add_row(Text(f"  {formula.quantity}:", style="bold cyan"), text)
        lines.append(grid)
    return Group(*lines, Text(""))


# --- text formats ---------------------------------------------------------------------------


def text_row(entry: Entry) -> list[str]:
    """An entry in TEXT_COLUMNS: the table's cells with its name, inputs (one a line) and block."""
    number, label, *figures = entry.cells
    return [number, entry.name, label, "\n".join(entry.inputs), entry.block or "", *figures]


def summary_markdown(stack_info: StackInfo, convention: Convention = "keras", rows: Sequence[TableRow] | None = None) -> str:
    """A Markdown table (default: every layer; `rows` folds blocks), then the totals and notes as a list."""

    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("\n", "<br>").replace("|", "\\|") for cell in row) + " |"

    numeric = ("#", "Params", "MACs")
    lines = [cells(TEXT_COLUMNS), "|" + "|".join("---:" if name in numeric else "---" for name in TEXT_COLUMNS) + "|"]
    lines += [cells(text_row(entry)) for entry in entries(stack_info, convention, rows)]
    lines.append("")
    lines += [f"- **{label}:** {value}" for label, value in totals_lines(stack_info, convention)]
    lines += [f"- {note}" for note in notes(stack_info, convention)]
    return "\n".join(lines) + "\n"


def summary_csv(stack_info: StackInfo, convention: Convention = "keras") -> str:
    """Every layer, one a row, under its JSON record's keys (LAYER_KEYS), each value as one cell (`csv_cell`): a script
    reads `params` or `unused` in either format. As in JSON, the input is no row: it is the first layer's input."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LAYER_KEYS, lineterminator="\n")
    writer.writeheader()
    for record in layer_records(stack_info, convention):
        writer.writerow({key: csv_cell(value) for key, value in record.items()})
    return buffer.getvalue()


def csv_cell(value: Any) -> str:
    """A JSON value as a cell: null empty, true and false as JSON writes them, a list of numbers as a shape "(16, 12, 8)",
    other lists and mappings item by item, separated by "; " ("kernel (3, 3, 1, 8); bias (8,)")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return "; ".join(f"{key} {csv_cell(item)}" for key, item in value.items())
    if isinstance(value, list) and value and all(isinstance(item, (int, float)) or item is None for item in value):
        return shape_text(tuple(value))
    if isinstance(value, list):
        return "; ".join(csv_cell(item) for item in value)
    return str(value)


def json_number(value: float) -> float | int | None:
    """Whole numbers as ints; JSON has no Infinity or NaN, so a field that overflowed a float (absurdly deep stacks) is null,
    as are a receptive field's jump and start after Flatten or Reshape, where positions no longer stand for pixels."""
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else value


def receptive_field_dict(field: ReceptiveField | None) -> Any:
    if field is None:
        return None
    if field.is_global:
        return "global"
    return {key: [json_number(side) for side in getattr(field, key)] for key in ("size", "jump", "start")}


LAYER_KEYS = (
    "index", "name", "type", "label", "inputs", "input_shapes", "block", "output_shape", "weights", "params", "trainable_params",
    "non_trainable_params", "macs", "receptive_field", "activation_bytes", "unused", "error",
)  # fmt: skip
"""A layer's record in JSON and CSV (csv.DictWriter refuses a record with a key not here)."""


def layer_dict(info: LayerInfo, convention: Convention, *, unused: bool) -> dict[str, Any]:
    """A layer's LAYER_KEYS; `unused` marks a layer Keras would leave out, which the totals do not count."""
    return {
        "index": info.index,
        "name": info.name,
        "type": info.layer.type_name,
        "label": info.layer.label,
        "inputs": list(info.inputs),
        "input_shapes": [list(display_shape(shape, convention)) for shape in info.input_shapes],
        "block": info.block,
        "output_shape": list(display_shape(info.output_shape, convention)) if info.output_shape else None,
        "weights": {name: list(shape) for name, shape in (display_weight(weight, convention) for weight in info.weights)},
        "params": info.params,
        "trainable_params": info.trainable_params,
        "non_trainable_params": info.non_trainable_params,
        "macs": info.macs,
        "receptive_field": receptive_field_dict(info.receptive_field),
        "activation_bytes": info.activation_bytes,
        "unused": unused,
        "error": info.error,
    }


def layer_records(stack_info: StackInfo, convention: Convention) -> list[dict[str, Any]]:
    return [layer_dict(info, convention, unused=info.index in stack_info.unused) for info in stack_info.layers]


def block_dict(stack_info: StackInfo, row: TableRow, convention: Convention) -> dict[str, Any]:
    """A block's figures folded: what enters and leaves it (shapes null where a layer is invalid) and its totals."""
    block = folded_block(stack_info, row)

    def shapes(found: Sequence[Shape | None]) -> list[Any]:
        return [list(display_shape(shape, convention)) if shape else None for shape in found]

    return {
        "name": block.name,
        "layers": [info.index for info in block.layers],
        "inputs": list(block.inputs),
        "input_shapes": shapes(block.input_shapes),
        "outputs": list(block.outputs),
        "output_shapes": shapes(block.output_shapes),
        "params": block.params,
        "trainable_params": block.trainable_params,
        "non_trainable_params": block.non_trainable_params,
        "macs": block.macs,
    }


def summary_dict(stack_info: StackInfo, convention: Convention = "keras") -> dict[str, Any]:
    return {
        "convention": convention,
        "input_shape": list(display_shape(stack_info.input_shape, convention)),
        "layers": layer_records(stack_info, convention),
        "outputs": list(output_names(stack_info)),
        "unused": list(stack_info.unused),
        "blocks": [block_dict(stack_info, row, convention) for row in table_rows(stack_info, EVERY_BLOCK) if row.is_folded],
        "total_params": stack_info.total_params,
        "trainable_params": stack_info.trainable_params,
        "non_trainable_params": stack_info.non_trainable_params,
        "total_macs": stack_info.total_macs,
        "activation_bytes": stack_info.activation_bytes,
        "forward_backward_bytes": stack_info.forward_backward_bytes,
        "valid": stack_info.valid,
    }


def summary_json(stack_info: StackInfo, convention: Convention = "keras") -> str:
    return json.dumps(summary_dict(stack_info, convention), indent=2, allow_nan=False) + "\n"
