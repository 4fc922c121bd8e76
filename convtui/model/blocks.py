"""The rows of a stack's table, and the arithmetic of a folded block.

A layer may carry `block = "conv2_block1"`. Folded, a run of consecutive layers of one block is
one row: what enters it (the names its layers take from outside it, with their shapes), what
leaves it (its layers that something after it uses, or the network's outputs) and its
parameters and MACs summed. The summary (`convtui summary --depth 1`) and the app's stack table
both fold through `table_rows`; the graph gutter draws a folded row as one node.
A block named again after other layers is two runs, folded as two rows: rows keep file order
(`block_runs` lists them, for a warning that the block is split).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from convtui.model.graph import INPUT_NAME
from convtui.model.info import LayerInfo, ReceptiveField, StackInfo, Status
from convtui.model.layers import Shape

EVERY_BLOCK = None
"""`table_rows(..., folded=EVERY_BLOCK)` folds every block."""


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of a stack's table: a layer (`block` None), or a run of one block's layers folded."""

    layers: tuple[int, ...]
    block: str | None = None

    @property
    def is_folded(self) -> bool:
        return self.block is not None


def block_names(stack_info: StackInfo) -> tuple[str, ...]:
    """The blocks in file order, each once."""
    return tuple(dict.fromkeys(info.block for info in stack_info.layers if info.block is not None))


def table_rows(stack_info: StackInfo, folded: Collection[str] | None = ()) -> list[TableRow]:
    """The table's rows below the input: every layer, except the blocks in `folded` (None: every block), one row per run."""
    rows: list[TableRow] = []
    for info in stack_info.layers:
        folds = info.block is not None and (folded is EVERY_BLOCK or info.block in folded)
        if folds and rows and rows[-1].block == info.block:
            rows[-1] = TableRow((*rows[-1].layers, info.index), info.block)
        else:
            rows.append(TableRow((info.index,), info.block if folds else None))
    return rows


def folded_row_of(stack_info: StackInfo, folded: Collection[str], layer: int) -> TableRow | None:
    """The folded row that holds `layer`, if it is folded: the views then speak of the block, not of its last layer."""
    return next((row for row in table_rows(stack_info, folded) if row.is_folded and layer in row.layers), None)


def layer_range(first: int, last: int) -> str:
    """A run of layers' indices: one index for one layer, else "first-last" (a folded block's "#", a split block's runs)."""
    return str(first) if first == last else f"{first}-{last}"


def block_runs(stack_info: StackInfo) -> dict[str, list[tuple[int, ...]]]:
    """Each block's runs of consecutive layers, in file order: a block with more than one is split, folded as several rows."""
    runs: dict[str, list[tuple[int, ...]]] = {}
    for row in table_rows(stack_info, EVERY_BLOCK):
        if row.block is not None:
            runs.setdefault(row.block, []).append(row.layers)
    return runs


def depth_rows(stack_info: StackInfo, depth: int | None) -> list[TableRow]:
    """torchinfo's depth: 1 shows blocks folded; None or 2 and more every layer (blocks nest one level)."""
    return table_rows(stack_info, EVERY_BLOCK if depth == 1 else ())


def shape_of(stack_info: StackInfo, name: str) -> Shape | None:
    """The output shape of a node by name ("input": the network's input); None for an invalid one."""
    if name == INPUT_NAME:
        return stack_info.input_shape
    info = stack_info.named(name)
    return info.output_shape if info is not None else None


def output_names(stack_info: StackInfo) -> tuple[str, ...]:
    """The network's outputs by name: the `outputs` given, else the last layer."""
    return stack_info.outputs or tuple(info.name for info in stack_info.layers[-1:])


def row_inputs(stack_info: StackInfo, layers: Sequence[int]) -> tuple[str, ...]:
    """The names the row's layers take from outside the row, in order, each once."""
    inside = {stack_info.layers[index].name for index in layers}
    taken = (name for index in layers for name in stack_info.layers[index].inputs)
    return tuple(dict.fromkeys(name for name in taken if name not in inside))


def row_outputs(stack_info: StackInfo, layers: Sequence[int]) -> tuple[str, ...]:
    """The row's layers that a later layer takes or that are network outputs, in file order."""
    members = [stack_info.layers[index].name for index in layers]
    last = max(layers, default=-1)
    used = {name for info in stack_info.layers[last + 1:] for name in info.inputs} | set(output_names(stack_info))
    return tuple(name for name in members if name in used)


@dataclass(frozen=True, slots=True)
class FoldedBlock:
    """A folded row's figures: its inputs and outputs with their shapes, and its layers' totals."""

    name: str
    layers: tuple[LayerInfo, ...]
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape | None, ...]
    outputs: tuple[str, ...]
    output_shapes: tuple[Shape | None, ...]

    @property
    def params(self) -> int:
        return sum(info.params for info in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def macs(self) -> int:
        return sum(info.macs for info in self.layers)

    @property
    def status(self) -> Status:
        """Its worst layer's: invalid, else after_invalid, else ok."""
        statuses = {info.status for info in self.layers}
        for status in ("invalid", "after_invalid"):
            if status in statuses:
                return status  # type: ignore[return-value]
        return "ok"

    @property
    def receptive_field(self) -> ReceptiveField | None:
        """The field of what leaves the block (its last output)."""
        last = next((info for info in reversed(self.layers) if info.name in self.outputs), self.layers[-1])
        return last.receptive_field


def folded_block(stack_info: StackInfo, row: TableRow) -> FoldedBlock:
    """The figures of a folded row (its block name, what enters and leaves it, its totals)."""
    inputs = row_inputs(stack_info, row.layers)
    outputs = row_outputs(stack_info, row.layers) or (stack_info.layers[row.layers[-1]].name,)
    return FoldedBlock(
        name=row.block or stack_info.layers[row.layers[0]].name,
        layers=tuple(stack_info.layers[index] for index in row.layers),
        inputs=inputs,
        input_shapes=tuple(shape_of(stack_info, name) for name in inputs),
        outputs=outputs,
        output_shapes=tuple(shape_of(stack_info, name) for name in outputs),
    )
