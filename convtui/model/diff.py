"""Two stacks compared layer by layer: what "what if I use 5x5 kernels here" changes.

Layers are paired by name, as Keras identifies them (explicit or automatic), so inserting a
layer into a graph shows one added layer; those left without a namesake are aligned with
difflib, first on the layers themselves, then on their types, so a renamed layer faces its old
self. Two files that leave names to Keras number them by position (an inserted Conv2D renumbers
every later one), so the alignment on layers alone is tried too, and the one that explains the
change with fewer changed rows is kept (the names' on a tie). A pair whose inputs or given name
differ is edited: "inputs: [a] -> [a, b]".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from convtui.model.graph import INPUT_NAME, snake_case
from convtui.model.stack import LayerInfo, StackInfo

RowKind = Literal["unchanged", "edited", "replaced", "added", "removed"]
Pairs = dict[int, int]
"""Index in the first stack -> index of the layer it faces in the second."""
InputKey = tuple[str, str]
"""An input as both stacks can compare it: ("", name in the first stack), or ("+", name) for a layer only the second has."""


@dataclass(frozen=True, slots=True)
class LayerDiff:
    """One row: a layer of the first stack (`before`), of the second (`after`), or both."""

    kind: RowKind
    before: LayerInfo | None
    after: LayerInfo | None
    changes: tuple[str, ...] = ()
    """What changed besides the arguments, as shown: "name: a -> b", "inputs: [a] -> [a, b]"."""

    @property
    def output_changed(self) -> bool:
        return self.before is not None and self.after is not None and self.before.output_shape != self.after.output_shape

    @property
    def params_change(self) -> int:
        return params(self.after) - params(self.before)

    @property
    def macs_change(self) -> int:
        return macs(self.after) - macs(self.before)

    @property
    def changed(self) -> bool:
        """Anything differs: the layer itself, or what reaches it (its shape, weights or cost)."""
        return self.kind != "unchanged" or self.output_changed or bool(self.params_change or self.macs_change)


def params(info: LayerInfo | None) -> int:
    return info.params if info is not None else 0


def macs(info: LayerInfo | None) -> int:
    return info.macs if info is not None else 0


@dataclass(frozen=True, slots=True)
class StackDiff:
    """The aligned rows and the change of the totals, `after` minus `before`."""

    before: StackInfo
    after: StackInfo
    rows: tuple[LayerDiff, ...]
    outputs_changed: bool = False
    """The network's outputs are other layers (beyond one appended after the old output)."""

    @property
    def input_changed(self) -> bool:
        return self.before.input_shape != self.after.input_shape

    @property
    def output_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return output_names(self.before), output_names(self.after)

    @property
    def params_change(self) -> int:
        return self.after.total_params - self.before.total_params

    @property
    def trainable_params_change(self) -> int:
        return self.after.trainable_params - self.before.trainable_params

    @property
    def macs_change(self) -> int:
        return self.after.total_macs - self.before.total_macs

    def count(self, kind: RowKind) -> int:
        return sum(row.kind == kind for row in self.rows)

    @property
    def identical(self) -> bool:
        return not self.input_changed and not self.outputs_changed and not any(row.changed for row in self.rows)


def output_names(stack_info: StackInfo) -> tuple[str, ...]:
    return tuple(info.name for info in stack_info.output_layers)


def diff_stacks(before: StackInfo, after: StackInfo) -> StackDiff:
    """Pair the layers of two stacks (by name, or by position where that explains more) and compare each pair."""
    candidates = [
        Comparison(before, after, pairs) for pairs in (named_pairs(before.layers, after.layers), aligned_pairs(before.layers, after.layers))
    ]
    best = min(candidates, key=lambda comparison: sum(row.kind != "unchanged" for row in comparison.rows))
    return StackDiff(before, after, best.rows, best.inputs_differ(output_names(before), output_names(after)))


# --- pairing ----------------------------------------------------------------------------------


def named_pairs(before: Sequence[LayerInfo], after: Sequence[LayerInfo]) -> Pairs:
    """Layers with the same name face each other; the rest are aligned as `aligned_pairs` does."""
    after_by_name = {info.name: info.index for info in after}
    pairs = {info.index: after_by_name[info.name] for info in before if info.name in after_by_name}
    taken = set(pairs.values())
    rest = ([info for info in before if info.index not in pairs], [info for info in after if info.index not in taken])
    return pairs | aligned_pairs(*rest)


def aligned_pairs(before: Sequence[LayerInfo], after: Sequence[LayerInfo]) -> Pairs:
    """Equal layers anchor the alignment; in the stretches between them, layers face each other by type."""
    pairs: Pairs = {}
    for first, last, other_first, other_last in stretches([info.layer for info in before], [info.layer for info in after]):
        pairs |= pairs_by_type(before[first:last], after[other_first:other_last])
    return pairs


def pairs_by_type(before: Sequence[LayerInfo], after: Sequence[LayerInfo]) -> Pairs:
    """Layers of one type face each other; between them, those of other types in order; the rest stay unpaired."""
    pairs: Pairs = {}
    for first, last, other_first, other_last in stretches([info.layer.type_name for info in before], [info.layer.type_name for info in after]):
        pairs |= dict(zip((info.index for info in before[first:last]), (info.index for info in after[other_first:other_last])))
    return pairs


def stretches(before: Sequence[object], after: Sequence[object]) -> Iterator[tuple[int, int, int, int]]:
    """difflib's stretches, equal or not, without its junk heuristic: repeated layers must anchor too."""
    for _, first, last, other_first, other_last in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        yield first, last, other_first, other_last


# --- rows -------------------------------------------------------------------------------------


class Comparison:
    """The rows one pairing gives: each pair compared (arguments, name, inputs), the unpaired added or removed."""

    def __init__(self, before: StackInfo, after: StackInfo, pairs: Pairs) -> None:
        self.before, self.after = before, after
        self.names_back = {after.layers[new].name: before.layers[old].name for old, new in pairs.items()}
        self.paired_before = set(self.names_back.values())
        self.rows = tuple(self.row(old, new) for old, new in ordered(len(before.layers), len(after.layers), pairs))

    def row(self, old: int | None, new: int | None) -> LayerDiff:
        before = self.before.layers[old] if old is not None else None
        after = self.after.layers[new] if new is not None else None
        if before is None or after is None:
            return LayerDiff("added" if before is None else "removed", before, after)
        changes = tuple(change for change in (name_change(before, after), self.inputs_change(before, after)) if change)
        if before.layer.type_name != after.layer.type_name:
            return LayerDiff("replaced", before, after, changes)
        return LayerDiff("edited" if changes or before.layer != after.layer else "unchanged", before, after, changes)

    def inputs_change(self, before: LayerInfo, after: LayerInfo) -> str | None:
        if not self.inputs_differ(before.inputs, after.inputs):
            return None
        return f"inputs: {names_text(before.inputs)} -> {names_text(after.inputs)}"

    def inputs_differ(self, before_names: Iterable[str], after_names: Iterable[str]) -> bool:
        """Inputs differ unless they are the same layers, seen through layers only one stack has on a
        single wire: a layer inserted into (or deleted from) a chain leaves its neighbours unchanged."""
        old = [("", through(self.before, name, self.paired_before)) for name in before_names]
        new = [self.key_back(through(self.after, name, self.names_back.keys())) for name in after_names]
        return old != new

    def key_back(self, name: str) -> InputKey:
        if name == INPUT_NAME:
            return ("", INPUT_NAME)
        return ("", self.names_back[name]) if name in self.names_back else ("+", name)


def through(stack_info: StackInfo, name: str, paired: Collection[str]) -> str:
    """The first layer up the wire from `name` that both stacks have (or a merge, or the input)."""
    info = stack_info.named(name)
    while info is not None and info.name not in paired and len(info.inputs) == 1:
        name = info.inputs[0]
        info = stack_info.named(name)
    return name


def ordered(before_count: int, after_count: int, pairs: Pairs) -> list[tuple[int | None, int | None]]:
    """Rows in the second stack's order; a removed layer after the row of the layer above it in the first (before added ones)."""
    back = {new: old for old, new in pairs.items()}
    rows: list[tuple[tuple[int, int, int], int | None, int | None]] = [((new, 0, 0), back.get(new), new) for new in range(after_count)]
    anchor = -1
    for old in range(before_count):
        if old in pairs:
            anchor = pairs[old]
        else:
            rows.append(((anchor, 1, old), old, None))
    return [(old, new) for _, old, new in sorted(rows, key=lambda row: row[0])]


AUTOMATIC_SUFFIX = r"(_\d+)?"


def name_change(before: LayerInfo, after: LayerInfo) -> str | None:
    """A given name that changed; two automatic names (conv2d_1 -> conv2d_2) only say where the layer is."""
    if before.name == after.name or (is_automatic(before) and is_automatic(after)):
        return None
    return f"name: {before.name} -> {after.name}"


def is_automatic(info: LayerInfo) -> bool:
    """A name Keras gives a layer of this type by itself: conv2d, conv2d_1, ..."""
    return re.fullmatch(re.escape(snake_case(info.layer.type_name)) + AUTOMATIC_SUFFIX, info.name) is not None


def names_text(names: Sequence[str]) -> str:
    return "[" + ", ".join(names) + "]"
