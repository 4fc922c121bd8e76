"""A stack diff as a Rich table: both stacks side by side, what changed highlighted, then the totals' change.

Where the side-by-side table does not fit the width (an 80-column terminal), the same diff is drawn
unified, as `git diff` does: one column set, a changed layer as a "-" line and a "+" line.
Shared by `convtui diff` and the app's compare view; it renders a `StackDiff` and computes nothing.
When either stack is a graph, each layer shows its name, and a pair whose name or inputs changed
says how ("inputs: [a] -> [a, b]").
"""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convtui.model.convention import Convention, display_shape, shape_text
from convtui.model.diff import LayerDiff, RowKind, StackDiff
from convtui.model.layers import Shape
from convtui.model.stack import LayerInfo, StackInfo
from convtui.model.units import readable_count
from convtui.render.summary import unused_count_text

KIND_MARKS: dict[RowKind, tuple[str, str]] = {
    "unchanged": (" ", ""),
    "edited": ("~", "yellow"),
    "replaced": ("*", "yellow"),
    "added": ("+", "green"),
    "removed": ("-", "red"),
}
CHANGED = "bold"
CHANGES_WIDTH = 36
"""The side-by-side table's changes column wraps at this width, so an edit of inputs does not force the unified view."""
MARK_MEANINGS: dict[RowKind, str] = {"edited": "edited", "replaced": "replaced by another type", "added": "added", "removed": "removed"}


def signed(number: int, *, readable: bool = False) -> str:
    text = readable_count(abs(number)) if readable else f"{abs(number):,}"
    return f"+{text}" if number > 0 else f"-{text}" if number < 0 else "0"


def change_text(before: int, after: int, *, readable: bool = False) -> str:
    """For the totals: "1,200 -> 2,400 (+1,200, +100.0%)", or the one value when equal."""
    def show(number: int) -> str:
        return readable_count(number) if readable else f"{number:,}"

    if before == after:
        return show(after)
    percent = f", {(after - before) / before:+.1%}" if before else ""
    return f"{show(before)} -> {show(after)} ({signed(after - before, readable=readable)}{percent})"


def output_text(info: LayerInfo | None, convention: Convention) -> str:
    if info is None:
        return ""
    if info.status != "ok":
        return "invalid" if info.status == "invalid" else "-"
    return shape_text(display_shape(info.output_shape, convention) if info.output_shape else None)


def layer_text(info: LayerInfo, named: bool) -> str:
    """The layer's label; in a graph, after its name, which is what inputs refer to."""
    return f"{info.name}: {info.layer.label}" if named else info.layer.label


def side_cells(info: LayerInfo | None, convention: Convention, changed: bool, named: bool) -> list[Text]:
    if info is None:
        return [Text(""), Text(""), Text("")]
    style = "red" if info.status == "invalid" else CHANGED if changed else ""
    return [Text(str(info.index), style="dim"), Text(layer_text(info, named)), Text(output_text(info, convention), style=style)]


def figure_cell(before: int, after: int, *, readable: bool = False) -> Text:
    """The second stack's figure and, when it differs, the change: "832 (+512)"."""
    value = readable_count(after) if readable else f"{after:,}"
    if before == after:
        return Text(value, style="dim")
    return Text(f"{value} ({signed(after - before, readable=readable)})", style=CHANGED)


def row_cells(row: LayerDiff, convention: Convention, named: bool) -> list[Text]:
    mark, style = KIND_MARKS[row.kind]
    params = (row.before.params if row.before else 0, row.after.params if row.after else 0)
    macs = (row.before.macs if row.before else 0, row.after.macs if row.after else 0)
    return [
        Text(mark, style=style),
        *side_cells(row.before, convention, row.output_changed, named),
        *side_cells(row.after, convention, row.output_changed, named),
        figure_cell(*params),
        figure_cell(*macs, readable=True),
    ]


def is_graph_diff(diff: StackDiff) -> bool:
    """Names and inputs matter once either stack is a graph; a chain's are implied by its order."""
    return not (diff.before.is_chain and diff.after.is_chain)


def changes_text(row: LayerDiff) -> Text:
    return Text("; ".join(row.changes), style=KIND_MARKS["edited"][1])


def diff_table(diff: StackDiff, convention: Convention = "keras", *, titles: tuple[str, str] = ("A", "B")) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    table.add_column("", no_wrap=True)
    for title in titles:
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column(title, overflow="ellipsis")
        table.add_column("Output", no_wrap=True)
    table.add_column(f"Params ({titles[1]})", justify="right")
    table.add_column(f"MACs ({titles[1]})", justify="right")
    changes = any(row.changes for row in diff.rows)
    if changes:
        table.add_column("Changes", max_width=CHANGES_WIDTH)
    input_style = CHANGED if diff.input_changed else ""
    table.add_row(
        "", "", "Input", Text(stack_shape_text(diff.before.input_shape, convention), style=input_style),
        "", "Input", Text(stack_shape_text(diff.after.input_shape, convention), style=input_style), "", "",
    )
    named = is_graph_diff(diff)
    for row in diff.rows:
        cells = row_cells(row, convention, named) + ([changes_text(row)] if changes else [])
        table.add_row(*cells, style=KIND_MARKS[row.kind][1] if row.kind in ("added", "removed") else "")
    return table


def totals_table(diff: StackDiff, convention: Convention, titles: tuple[str, str] = ("A", "B")) -> Table:
    before, after = diff.before, diff.after
    counts = ", ".join(f"{diff.count(kind)} {kind}" for kind in ("added", "removed", "edited", "replaced") if diff.count(kind))
    outputs = [outputs_text(stack, convention) for stack in (before, after)]
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column()
    if diff.input_changed:
        totals.add_row("Input:", " -> ".join(stack_shape_text(stack.input_shape, convention) for stack in (before, after)))
    totals.add_row("Layers:", change_text(len(before.layers), len(after.layers)) + (f"; {counts}" if counts else ""))
    if diff.outputs_changed:
        totals.add_row("Outputs:", Text(" -> ".join("[" + ", ".join(names) + "]" for names in diff.output_names)))
    totals.add_row("Output:", outputs[0] if outputs[0] == outputs[1] else f"{outputs[0]} -> {outputs[1]}")
    for title, stack in zip(titles, (before, after)):
        if stack.first_invalid is not None:  # the table marks the layer; this says why, as summary does
            invalid = stack.first_invalid
            totals.add_row("Invalid:", Text(f"{title}: layer {invalid.index} ({invalid.name}): {invalid.error or 'cannot apply'}", style="red"))
    if before.unused or after.unused:  # so the rows' params need not add up to the totals
        totals.add_row("Left out:", left_out_text(before) + " -> " + left_out_text(after))
    totals.add_row("Total params:", change_text(before.total_params, after.total_params))
    totals.add_row("Trainable params:", change_text(before.trainable_params, after.trainable_params))
    totals.add_row("Total MACs:", change_text(before.total_macs, after.total_macs, readable=True))
    return totals


def outputs_text(stack_info: StackInfo, convention: Convention) -> str:
    """Every output's shape, " | " between them (a graph may have several); "invalid" where a layer on the way is."""
    if stack_info.output_shape is None:
        return stack_shape_text(None, convention)
    return " | ".join(stack_shape_text(info.output_shape, convention) for info in stack_info.output_layers)


def stack_shape_text(shape: Shape | None, convention: Convention) -> str:
    """A stack's input or output shape; None is the output of a stack with an invalid layer."""
    return shape_text(display_shape(shape, convention)) if shape is not None else "invalid"


NATURAL_WIDTH = 10_000
"""Room to measure a table's natural width in (Rich clamps a measurement to the width it is given)."""


def unified_table(diff: StackDiff, convention: Convention = "keras") -> Table:
    """The diff in one column set: an unchanged layer on one line, a changed one (arguments or figures) as a - and a + line."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer", ratio=1, overflow="fold")
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    inputs = [Text(stack_shape_text(stack.input_shape, convention)) for stack in (diff.before, diff.after)]
    if diff.input_changed:
        for (mark, style), shape in zip((KIND_MARKS["removed"], KIND_MARKS["added"]), inputs):
            table.add_row(mark, "", "Input", shape, "", "", style=style)
    else:
        table.add_row("", "", "Input", inputs[1], "", "")
    named = is_graph_diff(diff)
    for row in diff.rows:
        for mark, info, style in unified_lines(row):
            layer = Text(layer_text(info, named))
            if row.changes and info is row.after:  # the "+" line says what changed in the wiring
                layer.append("\n").append_text(changes_text(row))
            table.add_row(
                mark, Text(str(info.index), style="dim" if not style else ""), layer, output_text(info, convention),
                f"{info.params:,}", readable_count(info.macs), style=style,
            )
    return table


def left_out_text(stack_info: StackInfo) -> str:
    """The layers nothing uses on the way to the output, which the totals leave out as Keras's model does."""
    return f"{unused_count_text(stack_info)} ({stack_info.unused_params:,} params)" if stack_info.unused else "none"


def unified_lines(row: LayerDiff) -> list[tuple[str, LayerInfo, str]]:
    """(mark, layer, style) per line: one line when nothing about the layer changed, else the old as "-" and the new as "+"."""
    if not row.changed and row.after is not None:
        return [(" ", row.after, "")]
    sides = ((KIND_MARKS["removed"], row.before), (KIND_MARKS["added"], row.after))
    return [(mark, info, style) for (mark, style), info in sides if info is not None]


def marks_legend(diff: StackDiff) -> Text:
    """What the side-by-side table's marks mean, for the kinds of row it has; bold figures changed."""
    legend = Text()
    for kind, meaning in MARK_MEANINGS.items():
        if diff.count(kind):
            mark, style = KIND_MARKS[kind]
            legend.append(f"{mark}", style=f"bold {style}").append(f" {meaning}   ", style="dim")
    return legend.append("bold: a figure that differs\n", style="dim") if legend else legend


class StackDiffView:
    """The diff as wide as the space allows: side by side where that fits without wrapping, unified otherwise."""

    def __init__(self, diff: StackDiff, convention: Convention = "keras", *, titles: tuple[str, str] = ("A", "B")) -> None:
        self.diff, self.convention, self.titles = diff, convention, titles

    def table(self, console: Console, options: ConsoleOptions) -> tuple[Table, bool]:
        """The side-by-side table when it fits unwrapped, else the unified one; and whether it is unified."""
        side_by_side = diff_table(self.diff, self.convention, titles=self.titles)
        natural = Measurement.get(console, options.update_width(NATURAL_WIDTH), side_by_side).maximum
        if natural <= options.max_width:
            return side_by_side, False
        return unified_table(self.diff, self.convention), True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table, unified = self.table(console, options)
        if unified:  # say which side is which, as git diff's header does
            yield Text.assemble(("- ", "red"), (self.titles[0], "bold"), ("   + ", "green"), (self.titles[1], "bold"))
            yield table
        else:
            yield table
            yield marks_legend(self.diff)
        yield totals_table(self.diff, self.convention, self.titles)
        if self.diff.identical:
            yield Text("The two stacks are identical.", style="dim")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, diff_table(self.diff, self.convention, titles=self.titles))


def diff_renderable(diff: StackDiff, convention: Convention = "keras", *, titles: tuple[str, str] = ("A", "B")) -> RenderableType:
    """The diff table (side by side or unified, whichever fits), the totals' change, and a line saying so when nothing changed."""
    return StackDiffView(diff, convention, titles=titles)
