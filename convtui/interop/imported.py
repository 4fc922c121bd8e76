"""ImportedModel, apart from the importer: the CLI wraps a preset in one too, and must not pay for numpy to do so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convtui.model.stack import Stack

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights


@dataclass(frozen=True)
class ImportedModel:
    """The stack, its weights (layer index -> Keras name -> array) if the file had them, and what changed on the way."""

    stack: Stack
    weights: StackWeights | None
    notes: tuple[str, ...] = ()
    seed: int | None = None
    """The seed a preset file names (`seed = N`); None for model files and presets without one."""
