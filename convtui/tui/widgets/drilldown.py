"""The drill-down as a Rich renderable: per input channel, the patch, the filter slice and the
product summed; then the sum, the bias, the activation, and the value the engine computed.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convtui.engine.contributions import Drilldown
from convtui.engine.runners import activate
from convtui.model.convention import Convention, display_shape

DETAILED_CHANNELS = 4
"""Channels shown with their numbers; the others only with their contribution."""
LARGEST_PRINTED_KERNEL = 5
CONTRIBUTIONS_PER_LINE = 6


def number(value: float) -> str:
    return f"{value:+.3f}" if abs(value) < 1000 else f"{value:+.3g}"


def matrix_text(values: np.ndarray) -> Text:
    if max(values.shape) > LARGEST_PRINTED_KERNEL:
        return Text(f"{values.shape[0]}x{values.shape[1]} values", style="dim")
    return Text("\n".join(" ".join(f"{value:6.2f}" for value in row) for row in values))


def channel_table(drilldown: Drilldown) -> Table:
    table = Table(box=None, padding=(0, 2), header_style="bold", show_edge=False)
    table.add_column("channel", justify="right")
    table.add_column("input patch")
    table.add_column(f"filter {drilldown.filter_index}, slice")
    table.add_column("sum of products", justify="right")
    for channel in drilldown.channels[:DETAILED_CHANNELS]:
        table.add_row(f"c{channel.channel}", matrix_text(channel.patch), matrix_text(channel.weights), number(channel.contribution))
    return table


def other_channels(drilldown: Drilldown) -> Text | None:
    rest = drilldown.channels[DETAILED_CHANNELS:]
    if not rest:
        return None
    text = Text(f"the other {len(rest)} channels contribute:\n", style="dim")
    for position, channel in enumerate(rest):
        separator = "\n" if position and position % CONTRIBUTIONS_PER_LINE == 0 else ("  " if position else "")
        text.append(f"{separator}c{channel.channel} {number(channel.contribution)}")
    return text


def drilldown_renderable(drilldown: Drilldown, activation: str | None, engine_value: float, convention: Convention = "keras") -> RenderableType:
    """Everything that makes output (i, j, k), ending with our sum beside the engine's value."""
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
    parts: list[RenderableType] = [channel_table(drilldown)]
    rest = other_channels(drilldown)
    if rest is not None:
        parts.append(rest)
    parts.append(sums)
    return Group(*parts)
