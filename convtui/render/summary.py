"""The summary of a stack, in the spirit of Keras's model.summary() and torchinfo, with more in it.

One set of rows feeds every format: a Rich table (terminal and app), Markdown, CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from convtui.model.convention import Convention, display_shape, display_weight, shape_text
from convtui.model.explain import explain
from convtui.model.stack import LayerInfo, ReceptiveField, StackInfo
from convtui.model.units import readable_count, readable_size

COLUMNS = ("#", "Layer", "Output shape", "Weights", "Params", "MACs", "RF")


def receptive_field_text(field: ReceptiveField | None) -> str:
    if field is None:
        return "-"
    if field.is_global:
        return "global"
    return "x".join(f"{side:g}" for side in field.size)


def weights_text(info: LayerInfo, convention: Convention, *, compact: bool = False) -> str:
    """One weight a line: "kernel (3, 3, 32, 64)", or only the shapes when space is short."""
    named = (display_weight(weight, convention) for weight in info.weights)
    return "\n".join(shape_text(shape) if compact else f"{name} {shape_text(shape)}" for name, shape in named)


def layer_row(info: LayerInfo, convention: Convention, *, compact: bool = False) -> list[str]:
    if info.status != "ok":
        output = "invalid" if info.status == "invalid" else "-"
        return [str(info.index), info.layer.label, output, "", "", "", ""]
    output_shape = display_shape(info.output_shape, convention) if info.output_shape else None
    return [
        str(info.index),
        info.layer.label,
        shape_text(output_shape),
        weights_text(info, convention, compact=compact),
        f"{info.params:,}",
        readable_count(info.macs) if compact else f"{info.macs:,}",
        receptive_field_text(info.receptive_field),
    ]


def input_row(stack_info: StackInfo, convention: Convention) -> list[str]:
    return ["", "Input", shape_text(display_shape(stack_info.input_shape, convention)), "", "0", "0", "1x1"]


def summary_rows(stack_info: StackInfo, convention: Convention, *, compact: bool = False) -> list[list[str]]:
    return [input_row(stack_info, convention), *(layer_row(info, convention, compact=compact) for info in stack_info.layers)]


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


def notes(stack_info: StackInfo, convention: Convention) -> list[str]:
    """Sentences that explain what the figures hide: invalid layers, non-trainable parameters."""
    found = []
    invalid = stack_info.first_invalid
    if invalid is not None:
        found.append(f"layer {invalid.index} ({invalid.layer.type_name}): {invalid.error}")
    if stack_info.non_trainable_params:
        indices = [str(info.index) for info in stack_info.layers if info.non_trainable_params]
        where = ("layer " if len(indices) == 1 else "layers ") + ", ".join(indices)
        if convention == "torch":
            found.append(f"BatchNormalization running_mean and running_var ({where}) are buffers in PyTorch, not parameters; Keras counts them as non-trainable params.")
        else:
            found.append(f"Non-trainable params are BatchNormalization's moving_mean and moving_variance ({where}): updated while training, not by gradients. PyTorch counts them as buffers, not parameters.")
    return found


WIDE_TABLE = 110
"""Below this many columns the table drops weight names and abbreviates MACs, so shapes never split."""
LAYER_MIN_WIDTH = 12
"""The Layer column wraps at spaces, then folds long names ("MaxPooling2D" fits); every other column keeps its width."""


def summary_table(stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None, compact: bool = False) -> Table:
    """The table; only the Layer column wraps; shapes and numbers keep their full width."""
    rows = summary_rows(stack_info, convention, compact=compact)
    table = Table(
        title=Text(title) if title else None,
        box=box.SIMPLE_HEAD,
        header_style="bold",
        title_style="bold",
        pad_edge=False,
        padding=(0, 1) if not compact else (0, 0, 0, 1),
    )
    for position, name in enumerate(COLUMNS):
        widest = max((len(line) for row in rows for line in row[position].splitlines()), default=0)
        table.add_column(
            name,
            justify="right" if name in ("#", "Params", "MACs") else "left",
            no_wrap=name != "Layer",
            overflow="fold",
            min_width=min(widest, LAYER_MIN_WIDTH) if name == "Layer" else max(widest, len(name)),
        )
    for info, row in zip((None, *stack_info.layers), rows):
        style = "" if info is None or info.status == "ok" else ("bold red" if info.status == "invalid" else "dim")
        table.add_row(*row, style=style)
    return table


class SummaryTable:
    """The summary table fitted to the width it is given: compact below WIDE_TABLE columns."""

    def __init__(self, stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None) -> None:
        self.stack_info = stack_info
        self.convention = convention
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield summary_table(self.stack_info, self.convention, title=self.title, compact=options.max_width < WIDE_TABLE)


def summary_renderable(
    stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None, with_formulas: bool = False
) -> RenderableType:
    """The table, its totals and notes; with the worked formulas of every layer when asked."""
    parts: list[RenderableType] = [SummaryTable(stack_info, convention, title=title)]
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column()
    for label, value in totals_lines(stack_info, convention):
        totals.add_row(label + ":", value)
    parts.append(totals)
    parts += [Text(note, style="red" if note.startswith("layer") else "dim") for note in notes(stack_info, convention)]
    if with_formulas:
        parts += [formulas_renderable(stack_info, index, convention) for index in range(len(stack_info.layers))]
    return Group(*parts)


def formulas_renderable(stack_info: StackInfo, index: int, convention: Convention) -> RenderableType:
    info = stack_info.layers[index]
    text = Text()
    text.append(f"\n{index} {info.layer.label}\n", style="bold")
    for formula in explain(stack_info, index, convention):
        text.append(f"  {formula.quantity}: ", style="bold cyan")
        text.append(formula.formula)
        if formula.reason:
            text.append(f"  ({formula.reason})", style="dim")
        text.append("\n")
    return text


# --- text formats ---------------------------------------------------------------------------


def summary_markdown(stack_info: StackInfo, convention: Convention = "keras") -> str:
    def cells(row: list[str]) -> str:
        return "| " + " | ".join(cell.replace("\n", "<br>").replace("|", "\\|") for cell in row) + " |"

    lines = [cells(list(COLUMNS)), "|" + "|".join("---:" if name in ("#", "Params", "MACs") else "---" for name in COLUMNS) + "|"]
    lines += [cells(row) for row in summary_rows(stack_info, convention)]
    lines.append("")
    lines += [f"- **{label}:** {value}" for label, value in totals_lines(stack_info, convention)]
    lines += [f"- {note}" for note in notes(stack_info, convention)]
    return "\n".join(lines) + "\n"


def summary_csv(stack_info: StackInfo, convention: Convention = "keras") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, "Error"])
    writer.writerow([*input_row(stack_info, convention), ""])
    for info in stack_info.layers:
        row = layer_row(info, convention)
        row[3] = row[3].replace("\n", "; ")
        row[4:6] = [cell.replace(",", "") for cell in row[4:6]]
        writer.writerow([*row, info.error or ""])
    return buffer.getvalue()


def json_number(value: float) -> float | int | None:
    """Whole numbers as ints; JSON has no Infinity, so a field that overflowed a float (absurdly deep stacks) is null."""
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else value


def receptive_field_dict(field: ReceptiveField | None) -> Any:
    if field is None:
        return None
    if field.is_global:
        return "global"
    return {key: [json_number(side) for side in getattr(field, key)] for key in ("size", "jump", "start")}


def layer_dict(info: LayerInfo, convention: Convention) -> dict[str, Any]:
    return {
        "index": info.index,
        "type": info.layer.type_name,
        "label": info.layer.label,
        "output_shape": list(display_shape(info.output_shape, convention)) if info.output_shape else None,
        "params": info.params,
        "trainable_params": info.trainable_params,
        "non_trainable_params": info.non_trainable_params,
        "weights": {name: list(shape) for name, shape in (display_weight(weight, convention) for weight in info.weights)},
        "macs": info.macs,
        "receptive_field": receptive_field_dict(info.receptive_field),
        "activation_bytes": info.activation_bytes,
        "error": info.error,
    }


def summary_dict(stack_info: StackInfo, convention: Convention = "keras") -> dict[str, Any]:
    return {
        "convention": convention,
        "input_shape": list(display_shape(stack_info.input_shape, convention)),
        "layers": [layer_dict(info, convention) for info in stack_info.layers],
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
