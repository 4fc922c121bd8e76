"""Writing an imported model: NAME.npz (its weights), then NAME.toml naming it with `weights = "NAME.npz"`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from convtui.engine.weights import StackWeights, save_arrays, weights_to_arrays
from convtui.errors import ConvtuiError
from convtui.interop.keras_import import ImportedModel
from convtui.model.preset import save_preset


def weights_path_for(preset_path: Path) -> Path:
    """The weights beside the preset, with its stem: models/net.toml -> models/net.npz."""
    return preset_path.with_suffix(".npz")


def save_weights(weights: StackWeights, preset_path: Path) -> Path | None:
    """NAME.npz beside the preset with the arrays, or None when there are none."""
    return save_arrays(weights_to_arrays(weights), weights_path_for(preset_path)) if weights else None


def check_folder(preset: Path) -> None:
    """The .npz is written first, beside the preset: a missing folder is reported on the path the caller gave."""
    if not preset.parent.is_dir():
        raise ConvtuiError(f"the folder {preset.parent} does not exist; create it first or choose another path", file=str(preset))


def save_imported(imported: ImportedModel, preset_path: str | Path) -> tuple[Path, Path | None]:
    """Each file is written atomically, the preset last, so a preset never names a weights file that is not there."""
    preset = Path(preset_path)
    check_folder(preset)
    weights = save_weights(imported.weights, preset)
    save_preset(replace(imported.stack, weights_file=weights.name if weights else None), preset)
    return preset, weights
