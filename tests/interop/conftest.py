"""Shared by the interop tests: Keras (torch backend) and PyTorch once per session, generated code as modules, the CLI."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from convtui import cli
from convtui.commands.interop import add_diff_command, add_export_command, add_import_command

RunInterop = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="session")
def keras() -> ModuleType:
    """Keras 3 on its torch backend (the variable must be set before the first import)."""
    os.environ["KERAS_BACKEND"] = "torch"
    module = pytest.importorskip("keras")
    assert module.backend.backend() == "torch"
    return module


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def h5py() -> ModuleType:
    return pytest.importorskip("h5py")


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


@pytest.fixture
def run_interop(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunInterop:
    """`convtui ARGUMENTS` through cli.main, with the import / export / diff commands registered if cli.py does not yet."""
    mine = [add_import_command, add_export_command, add_diff_command]
    monkeypatch.setattr(cli, "COMMAND_BUILDERS", [*cli.COMMAND_BUILDERS, *(builder for builder in mine if builder not in cli.COMMAND_BUILDERS)])

    def run(*arguments: str | Path, cwd: Path | None = None) -> tuple[int, str, str]:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        try:
            code = cli.main([str(argument) for argument in arguments])
        except SystemExit as exit:
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
