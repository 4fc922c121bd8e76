"""Reading Keras model files: the model's config and, where the file has them, its weight arrays.

Three containers: a Keras 3 `.keras` zip (config.json + model.weights.h5), the JSON written by
`model.to_json()`, and a legacy `.h5` (a `model_config` attribute beside `model_weights/`).
h5py (a dependency) is imported only for the HDF5 parts, so opening a .json model stays quick.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from convtui.interop.errors import ModelImportError

KERAS_CONFIG_MEMBER = "config.json"
KERAS_WEIGHTS_MEMBER = "model.weights.h5"
H5PY_MISSING = "needs h5py to read HDF5 data, and it is not installed; run `pip install h5py`"

LayerArrays = dict[str, list[np.ndarray]]
"""A layer's key in the file -> its weight arrays, in the order Keras created them."""


@dataclass(frozen=True)
class KerasModelFile:
    """What a model file holds: the serialised model and, maybe, its weights.

    `weights_by` says how the weights are keyed: "saving_path" (Keras 3's `layers/<snake_case
    class name, numbered>`, nested for sub-models) or "layer_name" (legacy .h5's `<layer name>`,
    `<sub-model>/<layer name>` for a sub-model's layer).
    """

    model: Mapping[str, Any]
    weights: LayerArrays | None
    weights_by: Literal["saving_path", "layer_name"]


def read_model_file(path: Path) -> KerasModelFile:
    if not path.is_file():
        raise ModelImportError("no such file; give a .keras, .h5 or model.to_json() .json file", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return read_keras_zip(path)
    if suffix == ".json":
        return KerasModelFile(model_config(parse_json(path.read_bytes(), path), path), None, "saving_path")
    if suffix in (".h5", ".hdf5"):
        return read_legacy_h5(path)
    raise ModelImportError(f'suffix "{suffix}" is not a Keras model file; give a .keras, .h5 or .json file', file=str(path))


def parse_json(data: bytes | str, path: Path) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelImportError(f"holds no valid JSON ({error}); give the text of model.to_json()", file=str(path)) from None


def model_config(document: Any, path: Path) -> Mapping[str, Any]:
    """The serialised model: {"class_name": "Sequential" | "Functional" | ..., "config": {...}}."""
    if not (isinstance(document, dict) and isinstance(document.get("config"), dict) and "class_name" in document):
        raise ModelImportError(
            "is not a serialised Keras model (no class_name and config); give the output of model.to_json()", file=str(path)
        )
    return document


# --- .keras ---------------------------------------------------------------------------------


def read_keras_zip(path: Path) -> KerasModelFile:
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if KERAS_CONFIG_MEMBER not in members:
                raise ModelImportError("is not a Keras 3 .keras file (no config.json inside); save it with model.save(...)", file=str(path))
            config = model_config(parse_json(archive.read(KERAS_CONFIG_MEMBER), path), path)
            weights_data = archive.read(KERAS_WEIGHTS_MEMBER) if KERAS_WEIGHTS_MEMBER in members else None
    except zipfile.BadZipFile:
        raise ModelImportError("is not a .keras file (not a zip archive); give a file written by model.save(\"....keras\")", file=str(path)) from None
    weights = saving_path_weights(weights_data, path) if weights_data is not None else None
    return KerasModelFile(config, weights, "saving_path")


def saving_path_weights(data: bytes, path: Path) -> LayerArrays:
    """Keras 3's weights store: `<path>/vars/<0..n>` per layer, a sub-model's layers under its own
    path (layers/sequential/layers/conv2d), keyed by that path."""
    h5py = import_h5py(path)
    arrays: LayerArrays = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Group) and name.endswith("/vars"):
            arrays[name.removesuffix("/vars")] = numbered_arrays(item)

    with h5py.File(io.BytesIO(data), "r") as store:
        store.visititems(visit)
    return arrays


def numbered_arrays(group: Any) -> list[np.ndarray]:
    if group is None:
        return []
    return [np.asarray(group[name]) for name in sorted(group, key=int)]


# --- legacy .h5 -----------------------------------------------------------------------------


def read_legacy_h5(path: Path) -> KerasModelFile:
    h5py = import_h5py(path)
    try:
        store = h5py.File(path, "r")
    except OSError:
        raise ModelImportError("is not an HDF5 file; give a file written by model.save(\"....h5\")", file=str(path)) from None
    with store:
        raw_config = store.attrs.get("model_config")
        if raw_config is None:
            raise ModelImportError(
                "has no model_config: it holds only weights (save_weights); give the file written by model.save(...)", file=str(path)
            )
        config = model_config(parse_json(text(raw_config), path), path)
        weights = layer_name_weights(store["model_weights"]) if "model_weights" in store else None
    return KerasModelFile(config, weights, "layer_name")


def layer_name_weights(group: Any) -> LayerArrays:
    """Legacy layout: `model_weights/<layer name>` lists its datasets in attrs["weight_names"]; a
    sub-model's group lists all its layers' (sub/conv2d/kernel), keyed here "sub/conv2d"."""
    arrays: LayerArrays = {}
    for group_name, layer_group in group.items():
        for weight_name in map(text, layer_group.attrs.get("weight_names", [])):
            owner = weight_name.split("/")[-2] if "/" in weight_name else group_name
            key = group_name if owner == group_name else f"{group_name}/{owner}"
            arrays.setdefault(key, []).append(np.asarray(layer_group[weight_name]))
    return arrays


def text(value: bytes | str | Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def import_h5py(path: Path) -> Any:
    try:
        import h5py
    except ImportError:
        raise ModelImportError(H5PY_MISSING, file=str(path)) from None
    return h5py
