"""Helpers of the interop tests: generated code imported as a module, float32 comparison, PyTorch's counts as Keras's, the CLI runner's type."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from convtui.model.layers import Layer

RunInterop = Callable[..., tuple[int, str, str]]
"""`run(*arguments, cwd=None) -> (exit code, stdout, stderr)` of the `run_interop` fixture."""


def load_generated(source: str, path: Path) -> ModuleType:
    """Write generated code to `path` and import it as a module, as a user would run it."""
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 1e-4) -> None:
    """Equal up to float32 rounding: `tolerance` relative to each value and to the output's largest value."""
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance * scale)


def torch_counts(model: Any) -> tuple[int, int]:
    """Keras's trainable and non-trainable counts of a PyTorch model: the parameters that learn, then the buffers
    kept in the state dict (batch-norm and normalisation statistics) but batch norm's step counter.
    """
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    state = model.state_dict()
    kept = [buffer for name, buffer in model.named_buffers() if name in state and not name.endswith("num_batches_tracked")]
    return trainable, sum(buffer.numel() for buffer in kept)


def keras_spelling(layer: Layer) -> Layer:
    """Keras writes the activation "swish" under its other name, "silu"."""
    return replace(layer, activation="silu") if getattr(layer, "activation", None) == "swish" else layer
