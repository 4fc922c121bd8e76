"""The drill-down as a Rich renderable: per input channel, the patch, the filter slice and the
product summed; then the sum, the bias, the activation, and the value the engine computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convtui.model.convention import Convention, display_shape

if TYPE_CHECKING:
    import numpy as np

    from convtui.engine.contributions import Drilldown

DETAILED_CHANNELS = 4
"""Channels shown with their numbers; the others only with their contribution."""
LARGEST_PRINTED_KERNEL = 5
CONTRIBUTION_GAP = 2
UNLIMITED_WIDTH = 10_000


def number(value: float) -> str:
    return f"{value:+.3f}" if abs(value) < 1000 else f"{value:+.3g}"


def matrix_text(values: np.ndarray) -> Text:
    """Rows of two-decimal numbers, each as wide as the widest in the matrix, so a 3x3 row takes 14 to 17 cells."""
    if max(values.shape) > LARGEST_PRINTED_KERNEL:
        return Text(f"{values.shape[0]}x{values.shape[1]} values", style="dim")
    cells = [[f"{value:.2f}" for value in row] for row in values.tolist()]
    width = max(len(cell) for row in cells for cell in row)
    return Text("\n".join(" ".join(cell.rjust(width) for cell in row) for row in cells), no_wrap=True)


def channel_table(drilldown: Drilldown) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    table.add_column("channel", justify="right")
    table.add_column("input patch", no_wrap=True)
    table.add_column(f"filter {drilldown.filter_index}, slice", no_wrap=True)
    table.add_column("sum of products", justify="right")
    for channel in drilldown.channels[:DETAILED_CHANNELS]:
        table.add_row(f"c{channel.channel}", matrix_text(channel.patch), matrix_text(channel.weights), number(channel.contribution))
    return table


def stacked_channels(drilldown: Drilldown, *, side_by_side: bool) -> Table:
    """Each channel's patch and slice under its sum, side by side or one above the other: for views too narrow for `channel_table`."""
    grid = Table.grid(padding=(0, 3))
    for channel in drilldown.channels[:DETAILED_CHANNELS]:
        grid.add_row(Text.assemble((f"c{channel.channel}", "bold"), f"  sum of products {number(channel.contribution)}"))
        matrices = [
            (Text("  input patch\n", style="dim") + indented(matrix_text(channel.patch))),
            (Text(f"  filter {drilldown.filter_index}, slice\n", style="dim") + indented(matrix_text(channel.weights))),
        ]
        if side_by_side:
            grid.add_row(*matrices)
        else:
            for matrix in matrices:
                grid.add_row(matrix)
    return grid


def indented(text: Text) -> Text:
    return Text("\n").join(Text("  ") + line for line in text.split("\n"))


def other_channels(drilldown: Drilldown, width: int) -> Text | None:
    """The channels shown only by their contribution, as many to a line as fit in `width`."""
    rest = drilldown.channels[DETAILED_CHANNELS:]
    if not rest:
        return None
    items = [f"c{channel.channel} {number(channel.contribution)}" for channel in rest]
    item_width = max(map(len, items))
    items = [item.ljust(item_width) for item in items]
    per_line = max(1, (width + CONTRIBUTION_GAP) // (item_width + CONTRIBUTION_GAP))
    lines = [(" " * CONTRIBUTION_GAP).join(items[start : start + per_line]).rstrip() for start in range(0, len(items), per_line)]
    return Text(f"the other {len(rest)} channels contribute:\n", style="dim") + Text("\n".join(lines))


class ChannelContributions:
    """Per input channel, what it adds: a table where it fits the width, each channel stacked where it does not."""

    def __init__(self, drilldown: Drilldown) -> None:
        self.drilldown = drilldown

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        layouts = (channel_table(self.drilldown), *(stacked_channels(self.drilldown, side_by_side=side) for side in (True, False)))
        unlimited = options.update_width(UNLIMITED_WIDTH)  # Measurement.get clamps to the width it is given
        yield next((layout for layout in layouts if Measurement.get(console, unlimited, layout).maximum <= options.max_width), layouts[-1])
        rest = other_channels(self.drilldown, options.max_width)
        if rest is not None:
            yield rest


def drilldown_renderable(drilldown: Drilldown, activation: str | None, engine_value: float, convention: Convention = "keras") -> RenderableType:
    """Everything that makes output (i, j, k), ending with our sum beside the engine's value."""
    import numpy as np

    from convtui.engine.runners import activate

    pre_activation = drilldown.total
    computed = float(activate(np.array([pre_activation], dtype=np.float64), activation)[0])
    channel_count = len(drilldown.channels)
    sums = Table.grid(padding=(0, 2))
    sums.add_column(justify="right")
    sums.add_column(justify="right")
    sums.add_row(f"sum over the {channel_count} channel{'s' if channel_count != 1 else ''}", number(drilldown.channel_sum))
    if drilldown.bias is not None:
        sums.add_row(f"+ bias[{drilldown.filter_index}]", number(drilldown.bias))
    sums.add_row("= before the activation", number(pre_activation))
    if activation not in (None, "linear"):
        sums.add_row(f"{activation}(...)", number(computed))
    agrees = bool(np.isclose(computed, engine_value, rtol=1e-4, atol=1e-5))
    verdict = Text("  equal" if agrees else "  differs!", style="bold green" if agrees else "bold red")
    sums.add_row(
        Text(f"engine's output at {display_shape((drilldown.row, drilldown.column, drilldown.filter_index), convention)}", style="bold"),
        Text(number(engine_value), style="bold") + verdict,
    )
    return Group(ChannelContributions(drilldown), sums)
