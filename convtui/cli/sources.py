"""What the commands open: a preset or a Keras model file, and the weights a run or a training starts from."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights
    from convtui.interop import ImportedModel
    from convtui.model.info import StackInfo

def load_source(source: str, input_shape: Sequence[int] | None = None) -> ImportedModel:
    """A preset (built-in name or .toml), or a Keras model file with its trained weights and import notes.

    `input_shape` (--input-shape) replaces the preset's or the model's; a model saved with an
    unknown size is otherwise imported at 224x224, with a note. A preset comes without weights
    here; its own `weights = "..."` file is resolved by whoever reads it.
    """
    from convtui.interop import ImportedModel, is_model_file
    from convtui.model.preset import read_preset

    if is_model_file(source):
        from convtui.interop import load_model_file  # numpy comes with it: only for model files

        return load_model_file(source, input_shape=input_shape)
    preset = read_preset(source)
    stack = preset.stack.with_input_shape(tuple(input_shape)) if input_shape is not None else preset.stack
    return ImportedModel(stack, None, seed=preset.seed)


def chosen_seed(given: int | None, opened: ImportedModel) -> int:
    """`--seed` when given, else the seed the preset names, else the default one (as the API's, in model.preset)."""
    from convtui.model.preset import seed_to_use

    return seed_to_use(given, opened.stack.seed)


def stack_weights(opened: ImportedModel, stack_info: StackInfo, source: str, weights_path: str | None, seed: int) -> StackWeights:
    """A Keras model's trained weights unless --weights is given, else what the API's `forward` takes too
    (engine.weights.chosen_weights): --weights, the preset's own `weights = "..."` (relative to `source`'s
    folder), else the seed.

    Weights a file lacks come from the seed, and a note on stderr lists them: whoever meant to load
    trained weights must not be shown seeded ones in silence.
    """
    from convtui.engine.weights import chosen_weights

    if weights_path is None and opened.weights is not None:
        return opened.weights
    chosen = chosen_weights(opened.stack, stack_info, path=weights_path, seed=seed, source=source)
    if chosen.note is not None:
        print(f"convtui: note: {chosen.note}", file=sys.stderr)
    return chosen.weights
