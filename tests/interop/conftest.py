"""Fixtures of the interop tests: Keras (torch backend), PyTorch and h5py once per session, and the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest
from interop_helpers import RunInterop

from convtui import cli
from convtui.commands.interop import add_diff_command, add_export_command, add_import_command


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
