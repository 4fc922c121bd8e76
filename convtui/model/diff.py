"""Two stacks compared layer by layer: what "what if I use 5x5 kernels here" changes.

Layers are aligned with difflib, first on the layers themselves, then on their types within
the stretches that differ: an inserted layer shows as added instead of shifting every later
row, and a layer with new arguments shows as edited, beside the layer it replaces.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from convtui.model.layers import Shape
from convtui.model.stack import LayerInfo, StackInfo

RowKind = Literal["unchanged", "edited", "replaced", "added", "removed"]


@dataclass(frozen=True, slots=True)
class LayerDiff:
    """One row: a layer of the first stack (`before`), of the second (`after`), or both."""

    kind: RowKind
    before: LayerInfo | None
    after: LayerInfo | None

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

    @property
    def input_changed(self) -> bool:
        return self.before.input_shape != self.after.input_shape

    @property
    def output_shapes(self) -> tuple[Shape | None, Shape | None]:
        return self.before.output_shape, self.after.output_shape

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
        return not self.input_changed and not any(row.changed for row in self.rows)


def diff_stacks(before: StackInfo, after: StackInfo) -> StackDiff:
    """Align the layers of two stacks and compare each pair."""
    return StackDiff(before, after, tuple(aligned_rows(before.layers, after.layers)))


def aligned_rows(before: Sequence[LayerInfo], after: Sequence[LayerInfo]) -> Iterator[LayerDiff]:
    """Equal layers anchor the alignment; the stretches between them are aligned on layer types."""
    matcher = SequenceMatcher(None, [info.layer for info in before], [info.layer for info in after], autojunk=False)
    for tag, first, last, other_first, other_last in matcher.get_opcodes():
        if tag == "equal":
            yield from (LayerDiff("unchanged", old, new) for old, new in zip(before[first:last], after[other_first:other_last]))
        else:
            yield from rows_by_type(before[first:last], after[other_first:other_last])


def rows_by_type(before: Sequence[LayerInfo], after: Sequence[LayerInfo]) -> Iterator[LayerDiff]:
    """Layers of one type face each other as edited; different types side by side as replaced; the rest added or removed."""
    matcher = SequenceMatcher(None, [info.layer.type_name for info in before], [info.layer.type_name for info in after], autojunk=False)
    for tag, first, last, other_first, other_last in matcher.get_opcodes():
        old, new = before[first:last], after[other_first:other_last]
        paired_kind: RowKind = "edited" if tag == "equal" else "replaced"
        yield from (LayerDiff(paired_kind, left, right) for left, right in zip(old, new))
        yield from (LayerDiff("removed", left, None) for left in old[len(new):])
        yield from (LayerDiff("added", None, right) for right in new[len(old):])
