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
from rich.console import Group, RenderableType
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


def weights_text(info: LayerInfo, convention: Convention) -> str:
    return "\n".join(
        f"{name} {shape_text(shape)}" for name, shape in (display_weight(weight, convention) for weight in info.weights)
    )


def layer_row(info: LayerInfo, convention: Convention) -> list[str]:
    if info.status != "ok":
        output = "invalid" if info.status == "invalid" else "-"
        return [str(info.index), info.layer.label, output, "", "", "", ""]
    output_shape = display_shape(info.output_shape, convention) if info.output_shape else None
    return [
        str(info.index),
        info.layer.label,
        shape_text(output_shape),
        weights_text(info, convention),
        f"{info.params:,}",
        f"{info.macs:,}",
        receptive_field_text(info.receptive_field),
    ]


def input_row(stack_info: StackInfo, convention: Convention) -> list[str]:
    return ["", "Input", shape_text(display_shape(stack_info.input_shape, convention)), "", "0", "0", "1x1"]


def summary_rows(stack_info: StackInfo, convention: Convention) -> list[list[str]]:
    return [input_row(stack_info, convention), *(layer_row(info, convention) for info in stack_info.layers)]


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
        where = ", ".join(str(info.index) for info in stack_info.layers if info.non_trainable_params)
        if convention == "torch":
            found.append(f"BatchNormalization running_mean and running_var (layers {where}) are buffers in PyTorch, not parameters; Keras counts them as non-trainable params.")
        else:
            found.append(f"Non-trainable params are BatchNormalization's moving_mean and moving_variance (layers {where}): updated while training, not by gradients. PyTorch counts them as buffers, not parameters.")
    return found


def summary_table(stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None) -> Table:
    table = Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, header_style="bold", title_style="bold", pad_edge=False)
    for name in COLUMNS:
        wraps = name in ("Layer", "Weights")
        table.add_column(name, justify="right" if name in ("#", "Params", "MACs") else "left", no_wrap=not wraps, overflow="fold")
    for info, row in zip((None, *stack_info.layers), summary_rows(stack_info, convention)):
        style = "" if info is None or info.status == "ok" else ("bold red" if info.status == "invalid" else "dim")
        table.add_row(*row, style=style)
    return table


def summary_renderable(
    stack_info: StackInfo, convention: Convention = "keras", *, title: str | None = None, with_formulas: bool = False
) -> RenderableType:
    """The table, its totals and notes; with the worked formulas of every layer when asked."""
    parts: list[RenderableType] = [summary_table(stack_info, convention, title=title)]
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


def finite_or_none(value: float) -> float | None:
    """JSON has no Infinity: a field that overflowed a float (absurdly deep stacks) becomes null."""
    return value if math.isfinite(value) else None


def receptive_field_dict(field: ReceptiveField | None) -> Any:
    if field is None:
        return None
    if field.is_global:
        return "global"
    return {key: [finite_or_none(side) for side in getattr(field, key)] for key in ("size", "jump", "start")}


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
