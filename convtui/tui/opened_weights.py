"""The trained weights a stack came with (a Keras model's, or the .npz its preset names), carried
over to the edited stack layer by layer, so an edit elsewhere keeps them and only the layers it
reshaped start from the seed.

Layers are matched as `convtui diff` aligns them (an inserted layer does not shift the others'
weights); a layer keeps its arrays while it is the same type and every array still has its shape.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.model.preset import preset_weights_path
from convtui.model.stack import Stack, StackInfo

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights

LAYERS_LISTED = 6
"""A longer list of seeded layers ends with "and N more", so the note stays one line."""


@dataclass(frozen=True)
class CarriedWeights:
    """The arrays that still fit the edited stack (by its layer indices), and the layers that do not get theirs."""

    weights: StackWeights
    reshaped: tuple[int, ...] = ()
    """Layers whose weight shapes changed since the weights were loaded."""
    new: tuple[int, ...] = ()
    """Layers with weights that are not in the stack as opened (added, or another type now)."""
    missing: tuple[int, ...] = ()
    """Layers whose weights the file lacks (some or all of them)."""

    @property
    def complete(self) -> bool:
        return not (self.reshaped or self.new or self.missing)

    def note(self, seed: int, label: str) -> str:
        """One line for the app saying which layers start from the seed, and why; empty when none do."""
        parts = [
            f"{layers_text(indices)} ({reason})"
            for indices, reason in ((self.reshaped, "weight shapes changed"), (self.new, "new"), (self.missing, f"not in {label}"))
            if indices
        ]
        if not parts:
            return ""
        return f"Seeded weights (seed {seed}) for {'; '.join(parts)}; the other layers use the weights from {label}."


def layers_text(indices: tuple[int, ...]) -> str:
    shown = ", ".join(map(str, indices[:LAYERS_LISTED]))
    more = f" and {len(indices) - LAYERS_LISTED} more" if len(indices) > LAYERS_LISTED else ""
    return f"layer{'s' if len(indices) > 1 else ''} {shown}{more}"


@dataclass(eq=False)
class OpenedWeights:
    """Weights for the stack as opened (`stack_info`): given in memory, or read once from `path` (in the worker).

    Thread-safe: the forward worker reads the file while the App may save or export.
    """

    stack_info: StackInfo
    label: str
    """How the view names their origin: "model.keras", "net.npz"."""
    weights: StackWeights | None = None
    path: Path | None = None
    """The .npz they come from or were saved to; None for a model file's weights not yet saved."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last: tuple[StackInfo, CarriedWeights] | None = field(default=None, repr=False)

    def load(self) -> StackWeights:
        """The arrays by layer index; a file that cannot be read, or does not fit the stack as opened, raises EngineError."""
        with self._lock:
            if self.weights is None:
                assert self.path is not None, "OpenedWeights needs weights or a path"
                self.weights = read_weights(self.path, self.stack_info)
            return self.weights

    def saved_as(self, path: Path) -> None:
        """After a save, the header and the seeded-layers note name the .npz written, not the model file it replaced.

        The arrays in memory stay those of the stack as opened, so undoing past the save still finds them.
        """
        with self._lock:
            self.label = path.name
            self.path = path

    def carry(self, stack_info: StackInfo) -> CarriedWeights:
        """The loaded weights that still fit `stack_info`, and which of its layers start from the seed."""
        last = self._last
        if last is not None and last[0] is stack_info:
            return last[1]
        carried = carry_weights(self.load(), self.stack_info, stack_info)
        self._last = (stack_info, carried)
        return carried


def read_weights(path: Path, stack_info: StackInfo) -> StackWeights:
    """Only the arrays the file holds (no seeded ones: those follow the seed the user picks later)."""
    from convtui.engine.weights import IGNORED_KEYS, checked_weight, parse_weight_key, read_npz

    weights: StackWeights = {}
    for key, array in read_npz(path).items():
        if IGNORED_KEYS.match(key):
            continue
        index, name = parse_weight_key(key, path)
        weights.setdefault(index, {})[name] = checked_weight(array, key, index, name, stack_info, path)
    return weights


def carry_weights(weights: StackWeights, opened: StackInfo, current: StackInfo) -> CarriedWeights:
    """Align the stacks as `convtui diff` does; a layer keeps its arrays if it is the same type with the same shapes."""
    import numpy as np

    from convtui.model.diff import diff_stacks

    rows = diff_stacks(opened, current).rows
    carried: StackWeights = {}
    reshaped, new, missing = [], [], []
    for row in rows:
        after = row.after
        if after is None or not after.is_valid or not after.weights:
            continue
        same_layer = row.before is not None and row.kind in ("unchanged", "edited")
        if not same_layer or not row.before.weights:  # type: ignore[union-attr]
            new.append(after.index)
            continue
        arrays = weights.get(row.before.index, {})  # type: ignore[union-attr]
        shapes = {weight.name: weight.shape for weight in after.weights}
        if any(shapes.get(name) != tuple(np.shape(array)) for name, array in arrays.items()):
            reshaped.append(after.index)
            continue
        if arrays:
            carried[after.index] = arrays
        if len(arrays) < len(shapes):
            missing.append(after.index)
    return CarriedWeights(carried, tuple(reshaped), tuple(new), tuple(missing))


def opened_weights(stack: Stack, source: str | None, weights: StackWeights | None) -> OpenedWeights | None:
    """A model file's weights (given), else the .npz the preset names (relative to the preset's folder), else None."""
    if weights:
        return OpenedWeights(stack.infer(), Path(source).name if source else "the model", weights=weights)
    path = preset_weights_path(stack, source)
    if path is None:
        return None
    return OpenedWeights(stack.infer(), path.name, path=path)
